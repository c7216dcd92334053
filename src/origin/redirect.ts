/**
 * @module origin/redirect
 * Building the new key and the Location of a redirect rule (spec §4), pure.
 */
import type { RoutingRule } from './rules.js';

export interface RedirectRequest {
  key: string;
  /** Host header of the request (used by S3-dialect rules without HostName, RED-09) */
  host: string;
  protocol: 'http' | 'https';
  /** raw query string without '?' */
  query: string;
}

/** Percent-encode a key for a URL path, keeping '/' (RFC 3986 unreserved characters stay). */
export function encodeKeyPath(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** RED-01: ReplaceKeyWith (with ${key}), else ReplaceKeyPrefixWith, else the key unchanged. */
export function newKey(rule: RoutingRule, key: string): string {
  const r = rule.Redirect;
  if (r.ReplaceKeyWith !== undefined && r.ReplaceKeyWith !== '') return r.ReplaceKeyWith.split('${key}').join(key);
  if (r.ReplaceKeyPrefixWith !== undefined && r.EnableReplacePrefix !== false) {
    const prefix = rule.Condition?.KeyPrefixEquals;
    if (prefix !== undefined && key.startsWith(prefix)) return r.ReplaceKeyPrefixWith + key.slice(prefix.length);
    return r.ReplaceKeyPrefixWith + key;
  }
  return key;
}

export interface RedirectAnswer {
  status: number;
  location: string;
}

/** RED-02, RED-03, RED-07, RED-09: Location and status of an External/AliCDN (or S3) redirect. */
export function buildRedirect(rule: RoutingRule, req: RedirectRequest): RedirectAnswer {
  const r = rule.Redirect;
  const protocol = r.Protocol ?? req.protocol;
  const host = r.HostName ?? req.host;
  let location = `${protocol}://${host}/${encodeKeyPath(newKey(rule, req.key))}`;
  if (r.PassQueryString === true && req.query !== '') location += `?${req.query}`;
  return { status: r.HttpRedirectCode ?? 301, location };
}

/** S3 RedirectAllRequestsTo: every request goes to the same key on another host. */
export function redirectAll(target: { HostName: string; Protocol?: string }, req: RedirectRequest): RedirectAnswer {
  const q = req.query !== '' ? `?${req.query}` : '';
  return { status: 301, location: `${target.Protocol ?? req.protocol}://${target.HostName}/${encodeKeyPath(req.key)}${q}` };
}
