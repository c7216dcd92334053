/**
 * @module website/resolve
 * The one pure function that decides what happens to a GET/HEAD of an object key in a bucket
 * with a website configuration (spec §5 WEB-05, with §2 matching and §4 redirects). Object
 * lookups are I/O, so `decide` is a step function over facts: it answers either
 * `{ kind: 'lookup', key }` (the caller looks the key up, records whether it exists, and calls
 * again) or a final action that the HTTP layer carries out.
 */
import type { MatchRequest, TraceEntry } from '../origin/match.js';
import { matchRules } from '../origin/match.js';
import { buildRedirect, encodeKeyPath, newKey, redirectAll } from '../origin/redirect.js';
import type { RoutingRule, WebsiteConfig } from '../origin/rules.js';

export interface WebsiteRequest {
  method: string;
  /** decoded key; '' for the bucket root */
  key: string;
  headers: MatchRequest['headers'];
  /** raw query string without '?' */
  query: string;
  host: string;
  protocol: 'http' | 'https';
  /** index and error documents apply (anonymous request, or a bound website host: WEB-06) */
  websiteMode: boolean;
  /** how a URL path to a key of this bucket starts: '/' (virtual host, bound domain) or '/bucket/' */
  pathPrefix: string;
  /** a status the request already ended with elsewhere (e.g. 500 from storage): error routing only */
  status?: number;
  /** the Mirror rule's origin answered 404: continue with WEB-03/WEB-04 (MIR-16) */
  mirrorNotFound?: boolean;
}

export type Action =
  | { kind: 'lookup'; key: string }
  | { kind: 'serve'; key: string; status: number; why: string }
  | { kind: 'redirect'; status: number; location: string; ruleNumber?: number; why: string }
  | { kind: 'mirror'; rule: RoutingRule; key: string; why: string }
  | { kind: 'error'; status: number; code: 'NoSuchKey' | 'passthrough'; why: string };

export interface Decision {
  action: Action;
  /** rule-by-rule explanation of every rule pass that ran */
  trace: { phase: string; entries: TraceEntry[] }[];
}

/** Facts gathered so far: key -> exists. */
export type Facts = ReadonlyMap<string, boolean>;

export function decide(cfg: WebsiteConfig, req: WebsiteRequest, facts: Facts): Decision {
  const trace: Decision['trace'] = [];
  const done = (action: Action): Decision => ({ action, trace });
  const rules = cfg.RoutingRules;
  const match: MatchRequest = { key: req.key, method: req.method, headers: req.headers };
  const redirectReq = { key: req.key, host: req.host, protocol: req.protocol, query: req.query };

  /** Carry out a matched redirect-kind rule (External, AliCDN, Internal). */
  const applyRule = (rule: RoutingRule, phase: string): Decision | undefined => {
    const r = rule.Redirect;
    if (r.RedirectType === 'Internal') {
      // RED-08: serve another key of the same bucket, no 3xx, no second rule pass
      const target = newKey(rule, req.key);
      const exists = facts.get(target);
      if (exists === undefined) return done({ kind: 'lookup', key: target });
      if (exists) return done({ kind: 'serve', key: target, status: 200, why: `rule ${rule.RuleNumber} (${phase}, Internal) rewrites to '${target}'` });
      return notFound(`rule ${rule.RuleNumber} (Internal) rewrote to '${target}', which does not exist`);
    }
    if (r.RedirectType === 'Mirror') return undefined;
    const { status, location } = buildRedirect(rule, redirectReq);
    return done({ kind: 'redirect', status, location, ruleNumber: rule.RuleNumber, why: `rule ${rule.RuleNumber} (${phase}, ${r.RedirectType})` });
  };

  /** WEB-04: the error document, or plain NoSuchKey. */
  const notFound = (why: string): Decision => {
    const ed = cfg.ErrorDocument;
    if (req.websiteMode && ed) {
      const exists = facts.get(ed.Key);
      if (exists === undefined) return done({ kind: 'lookup', key: ed.Key });
      if (exists) return done({ kind: 'serve', key: ed.Key, status: ed.HttpStatus ?? 404, why: `${why}; error document '${ed.Key}'` });
      return done({ kind: 'error', status: 404, code: 'NoSuchKey', why: `${why}; the error document '${ed.Key}' does not exist either` });
    }
    return done({ kind: 'error', status: 404, code: 'NoSuchKey', why });
  };

  // A status produced elsewhere (RED-05): only error-routing rules for that status can change it.
  if (req.status !== undefined) {
    if (req.status === 304 || req.status === 412 || req.status < 400) return done({ kind: 'error', status: req.status, code: 'passthrough', why: `status ${req.status} is not an error (MAT-11)` });
    const m = matchRules(rules, match, { kind: 'error', status: req.status });
    trace.push({ phase: `error ${req.status}`, entries: m.trace });
    const applied = m.rule && applyRule(m.rule, `error ${req.status}`);
    return applied ?? done({ kind: 'error', status: req.status, code: 'passthrough', why: `no rule for status ${req.status}` });
  }

  if (cfg.RedirectAllRequestsTo) {
    const { status, location } = redirectAll(cfg.RedirectAllRequestsTo, redirectReq);
    return done({ kind: 'redirect', status, location, why: 'RedirectAllRequestsTo' });
  }

  const isDir = req.key === '' || req.key.endsWith('/');
  // 1. pre-routing rules (MAT-07); the bucket root is never matched (MAT-09)
  if (req.key !== '' && !req.mirrorNotFound) {
    const m = matchRules(rules, match, { kind: 'pre' });
    trace.push({ phase: 'pre-routing', entries: m.trace });
    if (m.rule) {
      const applied = applyRule(m.rule, 'pre-routing');
      if (applied) return applied;
    }
  }

  // 2. the lookup, with the index document for directory keys (WEB-02)
  const index = cfg.IndexDocument;
  let lookupKey = req.key;
  if (req.websiteMode && index && isDir) lookupKey = index.SupportSubDir ? req.key + index.Suffix : index.Suffix;
  if (lookupKey !== '') {
    const exists = facts.get(lookupKey);
    if (exists === undefined) return done({ kind: 'lookup', key: lookupKey });
    if (exists) return done({ kind: 'serve', key: lookupKey, status: 200, why: lookupKey === req.key ? 'the object exists (MAT-10)' : `index document '${lookupKey}'` });
  }

  // 3. error-routing rules for 404 (MAT-06): Mirror, External, Internal, AliCDN
  if (req.key !== '' && !req.mirrorNotFound) {
    const m = matchRules(rules, match, { kind: 'error', status: 404 });
    trace.push({ phase: 'error 404', entries: m.trace });
    if (m.rule) {
      if (m.rule.Redirect.RedirectType === 'Mirror') return done({ kind: 'mirror', rule: m.rule, key: req.key, why: `rule ${m.rule.RuleNumber} (error 404, Mirror)` });
      const applied = applyRule(m.rule, 'error 404');
      if (applied) return applied;
    }
  }

  // 4. sub-directory handling (WEB-03)
  if (req.websiteMode && index?.SupportSubDir && !isDir) {
    const type = index.Type ?? 0;
    const dirIndex = `${req.key}/${index.Suffix}`;
    if (type === 0 || type === 2) {
      const exists = facts.get(dirIndex);
      if (exists === undefined) return done({ kind: 'lookup', key: dirIndex });
      if (exists && type === 0) {
        return done({ kind: 'redirect', status: 302, location: `${req.pathPrefix}${encodeKeyPath(req.key)}/`, why: `'${dirIndex}' exists: redirect to the directory (Type 0)` });
      }
      if (exists) return done({ kind: 'serve', key: dirIndex, status: 200, why: `'${dirIndex}' exists (Type 2)` });
    }
  }

  // 5. the error document (WEB-04)
  return notFound(req.mirrorNotFound ? 'the origin answered 404' : `'${lookupKey || req.key}' does not exist`);
}

/** Run `decide` to its end, answering lookups with `exists`. */
export async function resolve(cfg: WebsiteConfig, req: WebsiteRequest, exists: (key: string) => Promise<boolean>): Promise<Decision> {
  const facts = new Map<string, boolean>();
  for (let i = 0; i < 8; i++) {
    const d = decide(cfg, req, facts);
    if (d.action.kind !== 'lookup') return d;
    facts.set(d.action.key, await exists(d.action.key));
  }
  throw new Error('website resolution did not settle');
}
