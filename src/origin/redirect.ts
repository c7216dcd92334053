/**
 * @module origin/redirect
 * The new key and the Location of a redirect rule (spec §4), and S3's RedirectAllRequestsTo; pure.
 */
import type { RoutingRule, WebsiteConfig } from './rules.js';
import { encodeKeyPath, stripAuthParams, withQuery } from './uri.js';

export { encodeKeyPath } from './uri.js';

export interface RedirectRequest {
  /** decoded object key, no leading '/' */
  key: string;
  /** the request's Host header (S3-dialect rules without HostName use it, RED-09) */
  host: string;
  protocol: 'http' | 'https';
  /** raw query string without '?' */
  query: string;
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
  const protocol = r.Protocol ?? req.protocol;
  const host = r.HostName ?? req.host;
  const location = `${protocol}://${host}/${encodeKeyPath(newKey(rule, req.key))}`;
  return { status: status(r.HttpRedirectCode), location: r.PassQueryString === true ? withQuery(location, stripAuthParams(req.query)) : location };
}

/**
 * S3 RedirectAllRequestsTo (§7.1): every request goes to the same key and query on another host,
 * with 301; Protocol defaults to the request's.
 */
export function redirectAll(target: NonNullable<WebsiteConfig['RedirectAllRequestsTo']>, req: RedirectRequest): RedirectAnswer {
  const location = `${target.Protocol ?? req.protocol}://${target.HostName}/${encodeKeyPath(req.key)}`;
  return { status: 301, location: withQuery(location, stripAuthParams(req.query)) };
}
