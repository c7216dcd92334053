/**
 * @module rules/resolve
 * The one pure function that decides what happens to a GET/HEAD of an object key (spec §5 WEB-05,
 * with §2 matching, §3 mirror plans and §4 redirects). Object lookups are I/O, so `decide` is a step
 * function over facts: it answers `{ kind: 'lookup', key }` (the caller looks the key up, records
 * whether it exists, and calls again) or a final action that the HTTP layer carries out.
 */
import type { MatchRequest, Phase, TraceEntry } from './match.js';
import { isErrorRouting, matchRules } from './match.js';
import type { MirrorPlan } from './mirror-plan.js';
import { mirrorPlan } from './mirror-plan.js';
import { buildRedirect, encodeKeyPath, newKey, redirectAll } from './redirect.js';
import type { RoutingRule, WebsiteConfig } from './model.js';

export interface WebsiteRequest {
  method: string;
  /** decoded key; '' for the bucket root */
  key: string;
  /** MIR-06: the key as written in the request path, leading/repeated slashes kept (optional) */
  rawKey?: string;
  /** lower-case names */
  headers: MatchRequest['headers'];
  /** raw query string without '?' */
  query: string;
  host: string;
  protocol: 'http' | 'https';
  /** index and error documents apply (anonymous request, or a bound website host: WEB-06) */
  websiteMode: boolean;
  /** how a URL path to a key of this bucket starts: '/' (virtual host, bound domain) or '/bucket/' */
  pathPrefix: string;
  /**
   * a status the request already ended with elsewhere (500 from storage, 403 from a policy, …):
   * only error-routing rules for it can change the answer (RED-05, MAT-11). 404 means "as if the
   * object were missing" and runs the whole missing-object path.
   */
  status?: number;
  /** the Mirror rule's origin answered 404: continue with WEB-03/WEB-04, no later rule (MAT-03) */
  mirrorNotFound?: boolean;
}

export type Action =
  | { kind: 'lookup'; key: string }
  /** send this stored object with this status (200, or the ErrorDocument's HttpStatus) */
  | { kind: 'serve'; key: string; status: number; why: string; errorDocument?: boolean }
  /** RED-04: empty body, no ErrorDocument */
  | {
      kind: 'redirect';
      status: number;
      location: string;
      ruleNumber?: number;
      why: string;
      /** for metrics: the rule's RedirectType, 'All' or 'Directory' */ redirectKind: string;
    }
  /** fetch per `plan` and store under `key`; on origin 404 call decide again with mirrorNotFound */
  | { kind: 'mirror'; rule: RoutingRule; key: string; plan: MirrorPlan; why: string }
  /** NoSuchKey XML 404; 'passthrough': answer with the status/error the request already had */
  | { kind: 'error'; status: number; code: 'NoSuchKey' | 'passthrough'; why: string };

export interface Decision {
  action: Action;
  /** rule-by-rule explanation of every rule pass that ran; `at` = how many steps came before it */
  trace: { phase: string; entries: TraceEntry[]; at?: number }[];
  /** every other step taken (lookups and their answers, index/error documents), in order */
  steps: string[];
}

/** Facts gathered so far: key -> exists. */
export type Facts = ReadonlyMap<string, boolean>;

/** MAT-09: sub-resource requests (?acl, ?tagging, …) are never website requests. */
const SUBRESOURCES = new Set([
  'acl',
  'tagging',
  'torrent',
  'restore',
  'select',
  'uploadId',
  'uploads',
  'versionId',
  'website',
  'cors',
  'policy',
  'lifecycle',
  'logging',
  'location',
  'versioning',
  'symlink',
  'objectMeta',
  'retention',
  'legal-hold',
  'attributes',
]);

function subresource(query: string): string | undefined {
  for (const pair of query.split('&')) {
    const name = pair.split('=')[0] ?? '';
    if (SUBRESOURCES.has(name)) return name;
  }
  return undefined;
}

export function decide(cfg: WebsiteConfig | undefined, req: WebsiteRequest, facts: Facts): Decision {
  const trace: Decision['trace'] = [];
  const steps: string[] = [];
  const done = (action: Action): Decision => ({ action, trace, steps });
  const method = req.method.toUpperCase();
  const readable = method === 'GET' || method === 'HEAD';
  const sub = subresource(req.query);
  if (sub) steps.push(`?${sub} is a sub-resource: no website treatment (MAT-09)`);
  // WEB-06: rules for every GET/HEAD of a key; index/error documents for website requests only
  const routable = cfg !== undefined && readable && sub === undefined && req.key !== '';
  const website = cfg !== undefined && req.websiteMode && readable && sub === undefined;
  const match: MatchRequest = { key: req.key, method, headers: req.headers };
  const redirectReq = { key: req.key, host: req.host, protocol: req.protocol, query: req.query, pathPrefix: req.pathPrefix };
  const rules = cfg?.RoutingRules ?? [];
  const known = (key: string, what: string): boolean | undefined => {
    const v = facts.get(key);
    if (v !== undefined) steps.push(`${what} '${key}': ${v ? 'exists' : 'missing'}`);
    return v;
  };
  const pass = (name: string, phase: Phase) => {
    const m = matchRules(rules, match, phase);
    trace.push({ phase: name, entries: m.trace, at: steps.length });
    return m.rule;
  };

  /** WEB-04: the error document with its HttpStatus, or plain NoSuchKey. */
  const notFound = (why: string): Decision => {
    const ed = cfg?.ErrorDocument;
    if (!website || !ed) return done({ kind: 'error', status: 404, code: 'NoSuchKey', why });
    const exists = known(ed.Key, 'error document');
    if (exists === undefined) return done({ kind: 'lookup', key: ed.Key });
    if (!exists)
      return done({
        kind: 'error',
        status: 404,
        code: 'NoSuchKey',
        why: `${why}; the error document '${ed.Key}' does not exist either (WEB-04)`,
      });
    return done({
      kind: 'serve',
      key: ed.Key,
      status: ed.HttpStatus ?? 404,
      errorDocument: true,
      why: `${why}; error document '${ed.Key}' (WEB-04)`,
    });
  };

  /** Carry out a matched External, AliCDN or Internal rule (Mirror is handled by the caller). */
  const applyRedirect = (rule: RoutingRule, phase: string): Decision => {
    const r = rule.Redirect;
    if (r.RedirectType === 'Internal') {
      // RED-08: serve another key of this bucket with 200, no 3xx and no second rule pass
      const target = newKey(rule, req.key);
      const exists = target === '' ? false : known(target, 'Internal target');
      if (exists === undefined) return done({ kind: 'lookup', key: target });
      if (exists)
        return done({
          kind: 'serve',
          key: target,
          status: 200,
          why: `rule ${rule.RuleNumber} (${phase}, Internal) rewrites to '${target}' (RED-08)`,
        });
      return notFound(`rule ${rule.RuleNumber} (Internal) rewrote to '${target}', which does not exist (RED-08)`);
    }
    const { status, location } = buildRedirect(rule, redirectReq);
    return done({
      kind: 'redirect',
      status,
      location,
      ruleNumber: rule.RuleNumber,
      redirectKind: r.RedirectType ?? 'External',
      why: `rule ${rule.RuleNumber} (${phase}, ${r.RedirectType}) (RED-02)`,
    });
  };

  const mirror = (rule: RoutingRule, key: string): Decision => {
    const plan = mirrorPlan(rule, {
      key,
      ...(key === req.key && req.rawKey !== undefined && { rawKey: req.rawKey }),
      method: method === 'HEAD' ? 'HEAD' : 'GET',
      query: req.query,
      headers: req.headers,
    });
    return done({
      kind: 'mirror',
      rule,
      key,
      plan,
      why: `rule ${rule.RuleNumber} (error 404, Mirror): '${key}' is not in the bucket (MIR-01)`,
    });
  };

  // A status produced elsewhere (RED-05, MAT-11): only error-routing rules for that status apply.
  if (req.status !== undefined && req.status !== 404) {
    const s = req.status;
    if (s < 400 || s === 412) return done({ kind: 'error', status: s, code: 'passthrough', why: `status ${s} is not an error (MAT-11)` });
    const rule = routable ? pass(`error ${s}`, { kind: 'error', status: s }) : undefined;
    if (rule && rule.Redirect.RedirectType !== 'Mirror') return applyRedirect(rule, `error ${s}`);
    return done({ kind: 'error', status: s, code: 'passthrough', why: `no rule for status ${s} (RED-05)` });
  }

  if (website && cfg?.RedirectAllRequestsTo) {
    const { status, location } = redirectAll(cfg.RedirectAllRequestsTo, redirectReq);
    return done({
      kind: 'redirect',
      status,
      location,
      redirectKind: 'All',
      why: 'RedirectAllRequestsTo sends every request to another host (§7.1)',
    });
  }

  // 1. pre-routing rules (MAT-07): before the lookup, so they apply even when the object exists
  if (routable && !req.mirrorNotFound) {
    const rule = pass('pre-routing', { kind: 'pre' });
    if (rule) return applyRedirect(rule, 'pre-routing');
  }

  // 2. the lookup, with the index document for directory keys (WEB-02). The S3 dialect always looks
  //    in the directory itself (S22), like OSS with SupportSubDir=true and Type 0 (§7.1).
  const index = website ? cfg?.IndexDocument : undefined;
  const subDir = cfg?.dialect === 's3' || index?.SupportSubDir === true;
  const type = cfg?.dialect === 's3' ? 0 : (index?.Type ?? 0);
  const isDir = req.key === '' || req.key.endsWith('/');
  const lookupKey = index && isDir ? (subDir ? req.key + index.Suffix : index.Suffix) : req.key;
  const mapped = lookupKey !== req.key ? ` (index document for '${req.key || '/'}', WEB-02)` : '';
  if (req.status === 404) steps.push(`status 404 given: '${lookupKey}' is taken as missing`);
  else if (lookupKey !== '') {
    const exists = known(lookupKey, `object${mapped}`);
    if (exists === undefined) return done({ kind: 'lookup', key: lookupKey });
    if (exists)
      return done({
        kind: 'serve',
        key: lookupKey,
        status: 200,
        why: mapped ? `index document '${lookupKey}' (WEB-02)` : 'the object exists and is served as-is (MAT-10)',
      });
  }

  // 3. error-routing rules for 404 (MAT-06): Mirror, External, Internal, AliCDN
  if (routable && !req.mirrorNotFound) {
    const rule = pass('error 404', { kind: 'error', status: 404 });
    // a Mirror fills the key that was looked up, so the next request finds it (MIR-02)
    if (rule?.Redirect.RedirectType === 'Mirror') return mirror(rule, lookupKey);
    if (rule) return applyRedirect(rule, 'error 404');
  }

  // 4. sub-directory handling for a missing key without a trailing slash (WEB-03)
  if (index && subDir && !isDir) {
    const dirIndex = `${req.key}/${index.Suffix}`;
    if (type === 1) steps.push('IndexDocument Type 1: no directory lookup (WEB-03)');
    else {
      const exists = known(dirIndex, `directory index (Type ${type}, WEB-03)`);
      if (exists === undefined) return done({ kind: 'lookup', key: dirIndex });
      if (exists && type === 0) {
        return done({
          kind: 'redirect',
          status: 302,
          location: `${req.pathPrefix}${encodeKeyPath(req.key)}/`,
          redirectKind: 'Directory',
          why: `'${dirIndex}' exists: 302 to the directory (Type 0, WEB-03)`,
        });
      }
      if (exists) return done({ kind: 'serve', key: dirIndex, status: 200, why: `'${dirIndex}' exists: served (Type 2, WEB-03)` });
    }
  }

  // 5. the error document (WEB-04), unless a transparent 404 was relayed (the mirror engine's job)
  return notFound(req.mirrorNotFound ? 'the origin answered 404 (MIR-16)' : `'${lookupKey || '/'}' does not exist`);
}

/** per configuration (parsed once per change and frozen, service/website): does it have pre-routing rules? */
const preRouting = new WeakMap<WebsiteConfig, boolean>();

/**
 * Issue 19: true when `decide` would serve `req.key` as it is, with 200, if that key exists: no
 * pre-routing rule (MAT-07: only rules without HttpErrorCodeReturnedEquals apply before the lookup;
 * error-routing rules, every Mirror rule among them (VAL-08), only change a request that would end
 * in an error), no RedirectAllRequestsTo and no index document for it (WEB-02, WEB-06). Then the
 * caller may look the key up first and serve it on that one lookup; when it is missing, `decide`
 * runs as usual. Computed once per configuration, not per request.
 */
export function hitIsFinal(cfg: WebsiteConfig, req: WebsiteRequest): boolean {
  if (req.key === '' || req.status !== undefined || req.mirrorNotFound || req.rawKey !== undefined) return false;
  if (req.websiteMode && (cfg.RedirectAllRequestsTo !== undefined || (cfg.IndexDocument !== undefined && req.key.endsWith('/'))))
    return false;
  let pre = preRouting.get(cfg);
  if (pre === undefined) {
    pre = (cfg.RoutingRules ?? []).some((r) => !isErrorRouting(r));
    preRouting.set(cfg, pre);
  }
  return !pre;
}

/** Run `decide` to its end, answering lookups with `exists` (at most a handful of lookups). */
export async function resolve(
  cfg: WebsiteConfig | undefined,
  req: WebsiteRequest,
  exists: (key: string) => boolean | Promise<boolean>,
): Promise<Decision> {
  const facts = new Map<string, boolean>();
  for (let i = 0; i < 8; i++) {
    const d = decide(cfg, req, facts);
    if (d.action.kind !== 'lookup') return d;
    facts.set(d.action.key, await exists(d.action.key));
  }
  throw new Error('website resolution did not settle');
}
