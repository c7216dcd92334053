/**
 * @module rules/redirect
 * The new key and the Location of a redirect rule (spec §4), and S3's RedirectAllRequestsTo; pure.
 */
import type { RoutingRule, WebsiteConfig } from './model.js';
import { encodeKeyPath, stripAuthParams, withQuery } from '../codec/uri.js';

export { encodeKeyPath } from '../codec/uri.js';

export interface RedirectRequest {
  /** decoded object key, no leading '/' */
  key: string;
  /** the request's Host header (S3-dialect rules without HostName use it, RED-09) */
  host: string;
  protocol: 'http' | 'https';
  /** raw query string without '?' */
  query: string;
  /**
   * how a URL path to a key of this bucket starts on the request's host: '/bucket/' for a
   * path-style request, '/' (the default) for virtual-hosted and bound-domain ones
   */
  pathPrefix?: string;
}

/** OSS allows 301, 302, 307 (RED-03); S3-dialect rules may also use 303 and 308. */
export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

export interface RedirectAnswer {
  status: RedirectStatus;
  location: string;
}

/** RED-03, S29: the code when HttpRedirectCode is absent. */
export const DEFAULT_REDIRECT_STATUS = 301;

/**
 * RED-01 (also the Internal target, RED-08): ReplaceKeyWith with every `${key}` replaced by the
 * requested key; else ReplaceKeyPrefixWith in place of the KeyPrefixEquals part (prepended when the
 * rule has no prefix) unless EnableReplacePrefix is explicitly false; else the key unchanged.
 */
export function newKey(rule: RoutingRule, key: string): string {
  const r = rule.Redirect;
  // an empty ReplaceKeyWith counts as unset (VAL-09 compares non-empty values; SDKs send empty elements)
  if (r.ReplaceKeyWith) return r.ReplaceKeyWith.split('${key}').join(key);
  if (r.ReplaceKeyPrefixWith !== undefined && r.EnableReplacePrefix !== false) {
    const prefix = rule.Condition?.KeyPrefixEquals;
    if (prefix && key.startsWith(prefix)) return r.ReplaceKeyPrefixWith + key.slice(prefix.length);
    return r.ReplaceKeyPrefixWith + key;
  }
  return key;
}

function status(code: number | undefined): RedirectStatus {
  return code === 302 || code === 303 || code === 307 || code === 308 ? code : DEFAULT_REDIRECT_STATUS;
}

/**
 * RED-02, RED-03, RED-07, RED-09: Location and status of an External/AliCDN rule (or an S3 rule).
 * Location = Protocol://HostName/ + the encoded new key, plus the original query when
 * PassQueryString is true — with request credentials removed (MIR-08 applied to redirects too: a
 * presigned URL's signature must not be handed to another host).
 */
export function buildRedirect(rule: RoutingRule, req: RedirectRequest): RedirectAnswer {
  const r = rule.Redirect;
  // VAL-10 (amended), RED-09: no Protocol means the request's own, as in S3
  const protocol = r.Protocol || req.protocol;
  // without HostName the Location stays on the request's host, where a path-style request names the
  // bucket in the path: `/site/docs/new/a.html`, not `/docs/new/a.html` (a bucket called docs)
  const host = r.HostName ?? req.host;
  const base = r.HostName ? '/' : (req.pathPrefix ?? '/');
  const { path, query, fragment } = r.ReplaceKeyWith
    ? splitTarget(r.ReplaceKeyWith, req.key)
    : { path: encodeKeyPath(newKey(rule, req.key)), query: undefined, fragment: undefined };
  let location = `${protocol}://${host}${base}${path}${query === undefined ? '' : `?${query}`}`;
  if (r.PassQueryString === true) location = withQuery(location, stripAuthParams(req.query));
  return { status: status(r.HttpRedirectCode), location: fragment === undefined ? location : `${location}#${fragment}` };
}

/**
 * ReplaceKeyWith of a redirect as a URL: the rule's first literal `?` starts a query and its first
 * `#` a fragment (`login?next=${key}` is the page `login` with `next` set), so a rule can hand the
 * key to a login page. The path is the new key, encoded as always (RED-02); in the query and the
 * fragment `${key}` is encoded as a value (`&`, `=`, `+`, `#`, `?` and spaces escaped, `/` kept) and
 * the rule's own text is kept as written, escapes included, with only characters no URL may hold
 * escaped. A `?` or `#` that comes from the key is data and always encoded. Internal rewrites take
 * the whole of ReplaceKeyWith as a key (newKey).
 */
function splitTarget(template: string, key: string): { path: string; query?: string; fragment?: string } {
  const hash = template.indexOf('#');
  const beforeHash = hash < 0 ? template : template.slice(0, hash);
  const q = beforeHash.indexOf('?');
  const pathT = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const path = encodeKeyPath(pathT.split('${key}').join(key));
  const inUrl = (t: string) => t.split('${key}').map(urlText).join(keyValue(key));
  return {
    path,
    ...(q >= 0 && { query: inUrl(beforeHash.slice(q + 1)) }),
    ...(hash >= 0 && { fragment: inUrl(template.slice(hash + 1)) }),
  };
}

/** A key as a query or fragment value: encodeURIComponent (UTF-8), with '/' kept readable. */
function keyValue(key: string): string {
  return encodeURIComponent(key).replace(/%2F/gi, '/');
}

/** Rule text in a query or fragment: RFC 3986 query characters and existing %XX escapes kept, the rest encoded. */
function urlText(text: string): string {
  return text.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]+/gu, (c) => encodeURIComponent(c));
}

/**
 * S3 RedirectAllRequestsTo (§7.1): every request goes to the same key and query on another host,
 * with 301; Protocol defaults to the request's.
 */
export function redirectAll(target: NonNullable<WebsiteConfig['RedirectAllRequestsTo']>, req: RedirectRequest): RedirectAnswer {
  const location = `${target.Protocol ?? req.protocol}://${target.HostName}/${encodeKeyPath(req.key)}`;
  return { status: 301, location: withQuery(location, stripAuthParams(req.query)) };
}
