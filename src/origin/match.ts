/**
 * @module origin/match
 * Ordered first-match of routing rules (spec §2), pure. Each call walks the rules in ascending
 * RuleNumber (MAT-01) for one phase (MAT-07): 'pre' considers only rules without
 * HttpErrorCodeReturnedEquals, evaluated before the object lookup; an error phase considers only
 * rules whose HttpErrorCodeReturnedEquals equals the status the request would otherwise get.
 * The trace says why each rule did or did not fire: it is what the rule simulator prints.
 */
import type { RoutingRule } from './rules.js';

export interface MatchRequest {
  /** decoded object key, no leading '/' */
  key: string;
  method: string;
  /** request headers, lower-case names */
  headers: Record<string, string | string[] | undefined>;
}

export type Phase = { kind: 'pre' } | { kind: 'error'; status: number };

export interface TraceEntry {
  ruleNumber: number;
  matched: boolean;
  reason: string;
}

export interface MatchResult {
  rule?: RoutingRule;
  trace: TraceEntry[];
}

function headerOf(req: MatchRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Why `rule` does not hold for `req` in `phase`, or undefined when it holds. */
export function whyNot(rule: RoutingRule, req: MatchRequest, phase: Phase): string | undefined {
  const c = rule.Condition ?? {};
  const r = rule.Redirect;
  const code = c.HttpErrorCodeReturnedEquals;
  // MAT-08: only GET and HEAD; HEAD mirrors only with MirrorAllowHeadObject
  if (req.method !== 'GET' && req.method !== 'HEAD') return `${req.method} requests are never routed`;
  if (req.method === 'HEAD' && r.RedirectType === 'Mirror' && r.MirrorAllowHeadObject !== true) return 'HEAD does not mirror (MirrorAllowHeadObject is not true)';
  // MAT-07
  if (phase.kind === 'pre' && code !== undefined) return `waits for status ${code} (error-routing rule; the object lookup has not failed)`;
  if (phase.kind === 'error') {
    if (code === undefined) return `is a pre-routing rule (no HttpErrorCodeReturnedEquals), already considered before the lookup`;
    if (code !== phase.status) return `HttpErrorCodeReturnedEquals ${code} != status ${phase.status}`;
  }
  // MAT-04
  if (c.KeyPrefixEquals !== undefined && !req.key.startsWith(c.KeyPrefixEquals)) return `key does not start with '${c.KeyPrefixEquals}'`;
  if (c.KeySuffixEquals !== undefined && !req.key.endsWith(c.KeySuffixEquals)) return `key does not end with '${c.KeySuffixEquals}'`;
  // MAT-05
  for (const h of c.IncludeHeader ?? []) {
    const name = h.Key ?? '';
    const v = headerOf(req, name);
    if (v === undefined) return `header ${name} is missing`;
    if (h.Equals !== undefined && v !== h.Equals) return `header ${name} is '${v}', not '${h.Equals}'`;
    if (h.StartsWith !== undefined && !v.startsWith(h.StartsWith)) return `header ${name} '${v}' does not start with '${h.StartsWith}'`;
    if (h.EndsWith !== undefined && !v.endsWith(h.EndsWith)) return `header ${name} '${v}' does not end with '${h.EndsWith}'`;
  }
  return undefined;
}

function describeMatch(rule: RoutingRule, phase: Phase): string {
  const c = rule.Condition ?? {};
  const parts: string[] = [];
  if (c.KeyPrefixEquals !== undefined) parts.push(`prefix '${c.KeyPrefixEquals}'`);
  if (c.KeySuffixEquals !== undefined) parts.push(`suffix '${c.KeySuffixEquals}'`);
  if (phase.kind === 'error') parts.push(`status ${phase.status}`);
  for (const h of c.IncludeHeader ?? []) parts.push(`header ${h.Key}`);
  return parts.length > 0 ? `matches (${parts.join(', ')})` : 'matches (no conditions)';
}

/** MAT-01..MAT-08: the first rule, by RuleNumber, that holds in `phase`. */
export function matchRules(rules: readonly RoutingRule[], req: MatchRequest, phase: Phase): MatchResult {
  const trace: TraceEntry[] = [];
  const ordered = [...rules].sort((a, b) => a.RuleNumber - b.RuleNumber);
  for (const rule of ordered) {
    const reason = whyNot(rule, req, phase);
    if (reason === undefined) {
      trace.push({ ruleNumber: rule.RuleNumber, matched: true, reason: describeMatch(rule, phase) });
      return { rule, trace };
    }
    trace.push({ ruleNumber: rule.RuleNumber, matched: false, reason });
  }
  return { trace };
}
