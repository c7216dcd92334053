/**
 * @module rules/mirror-plan
 * What a Mirror rule would fetch for a request (spec §3.2, §3.3), pure: the origin URLs (primary,
 * secondary, alternates), the query and the headers sent to the origin, and the rule's fetch and
 * store settings, computed once per request. `originRequest` is the one conversion of a plan into
 * what origin/walker asks (fills, the mirror's HEAD, `osprey import`); the rule simulator prints
 * the plan. No networking.
 */
import type { RoutingRule } from './model.js';
import type { OriginAuth } from './mirror-auth.js';
import { encodeKeyPath, stripAuthParams, withQuery } from '../codec/uri.js';
import { textHeaderValue } from '../codec/header-value.js';
import { AUTH_TYPES, authTypeOf, originAuthOf } from './mirror-auth.js';
import { mirrorTags, tagSystemMeta } from './tagging.js';

export const MIRROR_USER_AGENT = 'osprey-mirror/0.1.0';
/** LIM-03: origin redirects followed at most this many times (more is a failure). */
export const MAX_ORIGIN_REDIRECTS = 10;

/** MIR-11: never forwarded, even when named in Pass or Set. */
const RESERVED = /^(?:content-length|authorization|authorization2|range|date|oss-.*|x-oss-.*|x-drs-.*)$/i;
/** MIR-13: hop-by-hop headers are never copied; Host comes from the origin URL (or Set, MIR-13a). */
const HOP_BY_HOP = /^(?:connection|keep-alive|te|trailer|transfer-encoding|upgrade|proxy-.*)$/i;

export interface MirrorRequest {
  /** the decoded key the object is stored under */
  key: string;
  /**
   * MIR-06: the key as it appeared in the request path (after the one '/' that ends the bucket
   * part), leading and repeated slashes included; used with MirrorPassOriginalSlashes.
   */
  rawKey?: string;
  method?: 'GET' | 'HEAD';
  /** raw query string without '?' */
  query: string;
  /** client headers, lower-case names */
  headers: Record<string, string | string[] | undefined>;
  /** MIR-14: the User-Agent Osprey sends (the engine passes its version) */
  userAgent?: string;
}

export interface MirrorPlan {
  /** MIR-45: HEAD only when the rule allows it (MirrorAllowHeadObject) */
  method: 'GET' | 'HEAD';
  /** primary first, then MirrorURLSlave, then alternates by MirrorMultiAlternateNumber (MIR-37, MIR-39) */
  urls: string[];
  /** MIR-38: the URL whose health stands for the primary's */
  probeUrl?: string;
  /** the headers sent to every origin (MIR-10…MIR-14), lower-case names */
  headers: Record<string, string>;
  /** MIR-13a: a Set Host — sent as Host (and TLS name) while connecting to the MirrorURL's address */
  hostOverride?: string;
  /** client and configured headers left out, and why (for the simulator) */
  dropped: { name: string; reason: string }[];
  /** MIR-07: whether the client's query is forwarded (after MIR-08 stripping) */
  passQuery: boolean;
  /** the key the object is stored under: always the requested key (MIR-04, MIR-06) */
  storeKey: string;
  /** MIR-32: MirrorProxyPass=true serves without storing */
  store: boolean;
  /** MirrorFollowRedirect (default true): follow up to MAX_ORIGIN_REDIRECTS; false: hand the 3xx over as 302 (MIR-17) */
  followRedirects: boolean;
  maxRedirects: number;
  /** MIR-23 */
  checkMd5: boolean;
  /** MIR-37: what counts as a failure that moves on to the next origin */
  failover: 'any-unexpected-status' | '5xx-or-timeout';
  /** MIR-47 */
  asyncStatus?: number;
  /** TransparentMirrorResponseCodes: origin statuses relayed with their body (404 here disables the ErrorDocument) */
  transparentStatuses: number[];
  /** MIR-15: how to sign the origin request (the secret stays in the rule; `originRequest` joins it) */
  auth?: { type: string; region?: string; accessKeyId: string };
  /** MIR-27: the origin's user metadata is kept (MirrorSaveOssMeta) */
  saveMeta: boolean;
  /** MIR-28: the stored object keeps the origin's Last-Modified (MirrorUserLastModified) */
  originLastModified: boolean;
  /** MIR-31: MirrorReturnHeaders (lower-case names), stored with the object and returned */
  returnHeaders: Record<string, string>;
  /** MIR-30: the system metadata that tags the stored object (MirrorTaggings, rules/tagging) */
  tagging: Record<string, string>;
  /**
   * Why there is no origin to ask (then `urls` is empty): the origin key has a '.' or '..' segment
   * (a prefix replacement such as `img` -> '' turns the key `img../x` into `../x`), which every URL
   * parser resolves, so the fetch would leave MirrorURL's path (MIR-03).
   */
  refused?: string;
}

/**
 * MIR-04 and the origin key: ReplaceKeyWith with `${key}` when set (the OSS console's "add a prefix
 * or suffix" for mirroring), else with EnableReplacePrefix=true the KeyPrefixEquals part replaced by
 * ReplaceKeyPrefixWith (empty: dropped), else the key. MIR-06: with MirrorPassOriginalSlashes the
 * request's own leading and repeated slashes are kept (`rawKey`, the key as written; else the key);
 * without it leading slashes are dropped and repeated ones collapse to one (S11: `///folder/a`
 * reaches the origin as `/folder/a`).
 */
export function originKey(rule: RoutingRule, key: string, rawKey?: string): string {
  const r = rule.Redirect;
  const source = r.MirrorPassOriginalSlashes === true ? (rawKey ?? key) : key.replace(/^\/+/, '').replace(/\/{2,}/g, '/');
  const leading = /^\/*/.exec(source)?.[0] ?? '';
  const rest = source.slice(leading.length);
  if (r.ReplaceKeyWith) return leading + r.ReplaceKeyWith.split('${key}').join(rest);
  const prefix = rule.Condition?.KeyPrefixEquals;
  if (r.EnableReplacePrefix === true && prefix && rest.startsWith(prefix))
    return leading + (r.ReplaceKeyPrefixWith ?? '') + rest.slice(prefix.length);
  return leading + rest;
}

/** MIR-07: forwarded iff MirrorPassQueryString is true, or it is absent and PassQueryString is true. */
export function passesQuery(rule: RoutingRule): boolean {
  const r = rule.Redirect;
  return r.MirrorPassQueryString ?? r.PassQueryString ?? false;
}

/** MIR-07, MIR-08: the query for the origin, authentication parameters stripped, order kept. */
export function originQuery(rule: RoutingRule, query: string): string {
  return passesQuery(rule) ? stripAuthParams(query) : '';
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** MIR-10…MIR-14 with the reasons for what was left out. */
export function originHeaderPlan(
  rule: RoutingRule,
  client: MirrorRequest['headers'],
  userAgent = MIRROR_USER_AGENT,
): Pick<MirrorPlan, 'headers' | 'hostOverride' | 'dropped'> {
  const mh = rule.Redirect.MirrorHeaders ?? {};
  const out: Record<string, string> = {};
  const dropped = new Map<string, string>();
  const refusal = (name: string): string | undefined =>
    RESERVED.test(name)
      ? 'reserved, never forwarded (MIR-11)'
      : HOP_BY_HOP.test(name)
        ? 'hop-by-hop (MIR-13)'
        : name === 'host'
          ? 'Host comes from the origin URL (MIR-13)'
          : undefined;
  const pass = (header: string) => {
    const name = header.toLowerCase();
    const val = single(client[name]);
    if (val === undefined) return;
    const no = refusal(name);
    if (no) dropped.set(name, no);
    else out[name] = val;
  };
  // MIR-10 nothing by default; MIR-11 PassAll: everything allowed; MIR-12 Pass by name
  if (mh.PassAll === true) for (const name of Object.keys(client)) pass(name);
  for (const name of mh.Pass ?? []) pass(name);
  for (const header of mh.Remove ?? []) {
    const name = header.toLowerCase();
    if (out[name] !== undefined) dropped.set(name, 'listed in Remove (MIR-12)');
    delete out[name];
  }
  // MIR-12/13: Set wins; MIR-13a: Set may name Host
  let hostOverride: string | undefined;
  for (const kv of mh.Set ?? []) {
    if (!kv.Key || kv.Value === undefined) continue;
    const name = kv.Key.toLowerCase();
    if (name === 'host') {
      hostOverride = kv.Value;
      out.host = kv.Value;
      dropped.delete('host');
      continue;
    }
    const no = refusal(name);
    if (no) dropped.set(name, `Set ignored: ${no}`);
    // rule text: its UTF-8 octets, controls escaped (codec/header-value; undici refused '日' and the fill failed)
    else out[name] = textHeaderValue(kv.Value);
  }
  // MIR-14: Osprey identifies itself unless a passed/Set User-Agent says otherwise; identity encoding
  // unless the client's Accept-Encoding was passed, so stored bytes equal the origin's
  out['user-agent'] ??= userAgent;
  out['accept-encoding'] ??= 'identity';
  return {
    headers: out,
    ...(hostOverride !== undefined && { hostOverride }),
    dropped: [...dropped].map(([name, reason]) => ({ name, reason })),
  };
}

/** MIR-10…MIR-14: (PassAll ? allowed : {}) ∪ Pass, minus Remove, then Set (Set wins). */
export function originHeaders(rule: RoutingRule, client: MirrorRequest['headers'], userAgent?: string): Record<string, string> {
  return originHeaderPlan(rule, client, userAgent).headers;
}

/** MIR-37: does this origin answer (a status, or 'network' for a timeout/DNS/TLS/connect error) fail over? */
export function isOriginFailure(answer: number | 'network', switchAllErrors: boolean): boolean {
  if (answer === 'network') return true;
  if (switchAllErrors) return ![200, 206, 301, 302, 303, 307, 404].includes(answer);
  return answer >= 500;
}

/**
 * What the origin walker (origin/walker) is given: the origin part of a plan, with MirrorAuth's key
 * pair joined (it is kept out of MirrorPlan, which the rule simulator shows).
 */
export interface OriginRequest {
  method: 'GET' | 'HEAD';
  /** in the order to try them (MIR-37, MIR-39) */
  urls: string[];
  /** MIR-38 */
  probeUrl?: string;
  /** sent to every origin, Host included when Set names it (MIR-10…MIR-14, MIR-13a) */
  headers: Record<string, string>;
  /** MIR-16, MIR-17 */
  followRedirects: boolean;
  maxRedirects: number;
  /** MIR-37: MirrorSwitchAllErrors, any unexpected status fails over (not only 5xx and network errors) */
  switchAllErrors: boolean;
  /** MIR-15 */
  auth?: OriginAuth;
}

/**
 * The one conversion of a plan into the request the walker makes (fill, HEAD and `osprey import`),
 * or why there is none: an origin key with a dot segment (MIR-03), or a MirrorAuth whose AuthType
 * Osprey cannot sign with (PUT ?website refuses those; a configuration stored before may have one).
 */
export function originRequest(rule: RoutingRule, plan: MirrorPlan): OriginRequest | { refused: string } {
  if (plan.refused !== undefined) return { refused: plan.refused };
  const ma = rule.Redirect.MirrorAuth;
  if (ma?.AccessKeyId && ma.AccessKeySecret && authTypeOf(ma.AuthType) === undefined) {
    return {
      refused: `Mirroring failed, please check your mirror configuration: MirrorAuth AuthType '${ma.AuthType ?? ''}' is not supported (use ${AUTH_TYPES}).`,
    };
  }
  const auth = originAuthOf(rule);
  return {
    method: plan.method,
    urls: plan.urls,
    ...(plan.probeUrl !== undefined && { probeUrl: plan.probeUrl }),
    headers: plan.headers,
    followRedirects: plan.followRedirects,
    maxRedirects: MAX_ORIGIN_REDIRECTS,
    switchAllErrors: plan.failover === 'any-unexpected-status',
    ...(auth && { auth }),
  };
}

/** MIR-31: MirrorReturnHeaders as lower-case name → value. */
function returnHeadersOf(rule: RoutingRule): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of rule.Redirect.MirrorReturnHeaders?.ReturnHeader ?? [])
    if (h.Key && h.Value !== undefined) out[h.Key.toLowerCase()] = h.Value;
  return out;
}

export function mirrorPlan(rule: RoutingRule, req: MirrorRequest): MirrorPlan {
  const r = rule.Redirect;
  const key = originKey(rule, req.key, req.rawKey);
  const path = encodeKeyPath(key);
  // MIR-03: MirrorURL + key stays under MirrorURL; a dot segment (even escaped: %2e) would climb out of it
  const refused = key.split('/').some((s) => s === '.' || s === '..')
    ? `Mirroring failed, please check your mirror configuration: the origin key '${key}' has a '.' or '..' segment, which would leave MirrorURL.`
    : undefined;
  const query = originQuery(rule, req.query);
  const at = (base: string) => withQuery(base + path, query);
  const urls: string[] = [];
  if (refused === undefined) {
    if (r.MirrorURL) urls.push(at(r.MirrorURL));
    if (r.MirrorURLSlave) urls.push(at(r.MirrorURLSlave));
    const alternates = [...(r.MirrorMultiAlternates?.MirrorMultiAlternate ?? [])].sort(
      (a, b) => (a.MirrorMultiAlternateNumber ?? 0) - (b.MirrorMultiAlternateNumber ?? 0),
    );
    for (const alt of alternates) if (alt.MirrorMultiAlternateURL) urls.push(at(alt.MirrorMultiAlternateURL));
  }
  const follow = r.MirrorFollowRedirect !== false;
  const auth = r.MirrorAuth;
  return {
    method: req.method === 'HEAD' ? 'HEAD' : 'GET',
    urls,
    ...(r.MirrorURLProbe && { probeUrl: r.MirrorURLProbe }),
    ...originHeaderPlan(rule, req.headers, req.userAgent),
    passQuery: passesQuery(rule),
    storeKey: req.key.replace(/^\/+/, ''),
    store: r.MirrorProxyPass !== true && req.method !== 'HEAD',
    followRedirects: follow,
    maxRedirects: follow ? MAX_ORIGIN_REDIRECTS : 0,
    checkMd5: r.MirrorCheckMd5 === true,
    failover: r.MirrorSwitchAllErrors === true ? 'any-unexpected-status' : '5xx-or-timeout',
    ...(r.MirrorAsyncStatus !== undefined && { asyncStatus: r.MirrorAsyncStatus }),
    transparentStatuses: (r.TransparentMirrorResponseCodes ?? '')
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0),
    ...(auth?.AccessKeyId && {
      auth: { type: auth.AuthType ?? '', ...(auth.Region && { region: auth.Region }), accessKeyId: auth.AccessKeyId },
    }),
    saveMeta: r.MirrorSaveOssMeta === true,
    originLastModified: r.MirrorUserLastModified === true,
    returnHeaders: returnHeadersOf(rule),
    tagging: tagSystemMeta(mirrorTags(rule)),
    ...(refused !== undefined && { refused }),
  };
}
