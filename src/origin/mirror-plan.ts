/**
 * @module origin/mirror-plan
 * What a Mirror rule would fetch for a request (spec §3.2, §3.3), pure: the origin URLs (primary,
 * secondary, alternates), and the headers sent to the origin. The mirror engine carries the plan
 * out; the rule simulator prints it.
 */
import type { RoutingRule } from './rules.js';

export const MIRROR_USER_AGENT = 'osprey-mirror/0.1';

/** MIR-08: authentication parameters of every supported scheme never reach the origin. */
const AUTH_PARAMS = /^(x-amz-.*|awsaccesskeyid|signature|expires|ossaccesskeyid|x-oss-signature.*|x-oss-credential|x-oss-date|x-oss-expires|x-oss-signature-version|security-token|x-oss-security-token|x-oss-additional-headers)$/i;
/** MIR-11: never forwarded, even when named in Pass. */
const RESERVED = /^(content-length|authorization|authorization2|range|date|oss-.*|x-oss-.*|x-drs-.*)$/i;
/** MIR-13: hop-by-hop headers and Host are never copied. */
const HOP_BY_HOP = /^(connection|keep-alive|te|trailer|transfer-encoding|upgrade|proxy-.*|host)$/i;

export interface MirrorRequest {
  key: string;
  /** raw query string without '?' */
  query: string;
  /** client headers, lower-case names */
  headers: Record<string, string | string[] | undefined>;
}

export interface MirrorPlan {
  /** the primary origin URL first, then MirrorURLSlave, then alternates by number */
  urls: string[];
  probeUrl?: string;
  headers: Record<string, string>;
  /** the key the object is stored under (always the requested key, MIR-04) */
  storeKey: string;
}

/** MIR-05: each segment percent-encoded per RFC 3986, '/' kept. */
export function encodePath(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
}

/** MIR-04: with EnableReplacePrefix, the KeyPrefixEquals part becomes ReplaceKeyPrefixWith (empty: dropped). */
export function originKey(rule: RoutingRule, key: string): string {
  const r = rule.Redirect;
  const prefix = rule.Condition?.KeyPrefixEquals;
  if (r.EnableReplacePrefix === true && prefix !== undefined && key.startsWith(prefix)) return (r.ReplaceKeyPrefixWith ?? '') + key.slice(prefix.length);
  return key;
}

/** MIR-07, MIR-08: the query for the origin, auth parameters stripped, order kept. */
export function originQuery(rule: RoutingRule, query: string): string {
  const r = rule.Redirect;
  const pass = r.MirrorPassQueryString ?? r.PassQueryString ?? false;
  if (!pass || query === '') return '';
  return query
    .split('&')
    .filter((p) => p !== '' && !AUTH_PARAMS.test(decodeURIComponent(p.split('=')[0] ?? '')))
    .join('&');
}

/** MIR-10..MIR-14: (PassAll ? allowed : {}) ∪ Pass, minus Remove, then Set. */
export function originHeaders(rule: RoutingRule, client: MirrorRequest['headers']): Record<string, string> {
  const mh = rule.Redirect.MirrorHeaders ?? {};
  const out: Record<string, string> = {};
  const allowed = (name: string) => !RESERVED.test(name) && !HOP_BY_HOP.test(name);
  const value = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
  if (mh.PassAll === true) {
    for (const [name, v] of Object.entries(client)) {
      const val = value(v);
      if (val !== undefined && allowed(name)) out[name.toLowerCase()] = val;
    }
  }
  for (const name of mh.Pass ?? []) {
    const val = value(client[name.toLowerCase()]);
    if (val !== undefined && allowed(name)) out[name.toLowerCase()] = val;
  }
  for (const name of mh.Remove ?? []) delete out[name.toLowerCase()];
  for (const kv of mh.Set ?? []) if (kv.Key && kv.Value !== undefined && !RESERVED.test(kv.Key)) out[kv.Key.toLowerCase()] = kv.Value;
  out['user-agent'] ??= MIRROR_USER_AGENT;
  if (out['accept-encoding'] === undefined) out['accept-encoding'] = 'identity';
  return out;
}

export function mirrorPlan(rule: RoutingRule, req: MirrorRequest): MirrorPlan {
  const r = rule.Redirect;
  const path = encodePath(originKey(rule, req.key));
  const q = originQuery(rule, req.query);
  const withKey = (base: string) => base + path + (q ? `?${q}` : '');
  const urls: string[] = [];
  if (r.MirrorURL) urls.push(withKey(r.MirrorURL));
  if (r.MirrorURLSlave) urls.push(withKey(r.MirrorURLSlave));
  const alternates = [...(r.MirrorMultiAlternates?.MirrorMultiAlternate ?? [])].sort((a, b) => (a.MirrorMultiAlternateNumber ?? 0) - (b.MirrorMultiAlternateNumber ?? 0));
  for (const alt of alternates) if (alt.MirrorMultiAlternateURL) urls.push(withKey(alt.MirrorMultiAlternateURL));
  return { urls, ...(r.MirrorURLProbe && { probeUrl: r.MirrorURLProbe }), headers: originHeaders(rule, req.headers), storeKey: req.key };
}
