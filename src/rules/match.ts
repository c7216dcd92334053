/**
 * @module rules/match
 * Ordered first-match of routing rules (spec §2), pure. One call walks the rules in ascending
 * RuleNumber (MAT-01) for one phase (MAT-07): 'pre' considers only rules without
 * HttpErrorCodeReturnedEquals, before the object lookup; an error phase considers only rules whose
 * HttpErrorCodeReturnedEquals equals the status the request would otherwise end with (MAT-06).
 * The trace says why each rule did or did not fire: it is what the rule simulator prints.
 */
import type { RoutingRule } from './model.js';

export interface MatchRequest {
  /** decoded object key, no leading '/' ('' addresses the bucket: never matched, MAT-09) */
  key: string;
  method: string;
  /** request headers, lower-case names (node's IncomingHttpHeaders shape) */
  headers: Record<string, string | string[] | undefined>;
  /** the status the request would otherwise get (e.g. 404); selects the error phase when no phase is given */
  status?: number;
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

/** MAT-05: names compare case-insensitively; a repeated header is its values joined as RFC 9110 combines them. */
export function headerValue(headers: MatchRequest['headers'], name: string): string | undefined {
  const lower = name.toLowerCase();
  let v = headers[lower];
  if (v === undefined) {
    // tolerate callers that kept the original casing
    for (const [k, val] of Object.entries(headers)) if (k.toLowerCase() === lower) v = val;
  }
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Rules with HttpErrorCodeReturnedEquals are error-routing; the others pre-routing (MAT-07). */
export function isErrorRouting(rule: RoutingRule): boolean {
  return rule.Condition?.HttpErrorCodeReturnedEquals !== undefined;
}

/** Why `rule` does not hold for `req` in `phase` (with the statement it follows), or undefined when it holds. */
export function whyNot(rule: RoutingRule, req: MatchRequest, phase: Phase): string | undefined {
  const c = rule.Condition ?? {};
  const r = rule.Redirect;
  const code = c.HttpErrorCodeReturnedEquals;
  const method = req.method.toUpperCase();
  // MAT-08: GET and HEAD only; HEAD mirrors only with MirrorAllowHeadObject (MIR-45)
  if (method !== 'GET' && method !== 'HEAD') return `${method} requests are never routed (MAT-08)`;
  if (method === 'HEAD' && r.RedirectType === 'Mirror' && r.MirrorAllowHeadObject !== true)
    return 'HEAD does not mirror: MirrorAllowHeadObject is not true (MAT-08)';
  // MAT-09
  if (req.key === '') return 'the bucket itself is never routed (MAT-09)';
  // MAT-07
  if (phase.kind === 'pre' && code !== undefined)
    return `waits for status ${code}: an error-routing rule, tried only after the lookup fails (MAT-07)`;
  if (phase.kind === 'error') {
    if (code === undefined) return 'a pre-routing rule (no HttpErrorCodeReturnedEquals): already tried before the lookup (MAT-07)';
    if (code !== phase.status) return `HttpErrorCodeReturnedEquals ${code} != status ${phase.status} (MAT-06)`;
  }
  // MAT-04
  if (c.KeyPrefixEquals !== undefined && !req.key.startsWith(c.KeyPrefixEquals))
    return `key does not start with '${c.KeyPrefixEquals}' (MAT-04)`;
  if (c.KeySuffixEquals !== undefined && !req.key.endsWith(c.KeySuffixEquals))
    return `key does not end with '${c.KeySuffixEquals}' (MAT-04)`;
  // MAT-05
  for (const h of c.IncludeHeader ?? []) {
    const name = h.Key ?? '';
    const v = headerValue(req.headers, name);
    if (v === undefined) return `header ${name} is missing (MAT-05)`;
    if (h.Equals !== undefined && v !== h.Equals) return `header ${name} is '${v}', not '${h.Equals}' (MAT-05)`;
    if (h.StartsWith !== undefined && !v.startsWith(h.StartsWith))
      return `header ${name} '${v}' does not start with '${h.StartsWith}' (MAT-05)`;
    if (h.EndsWith !== undefined && !v.endsWith(h.EndsWith)) return `header ${name} '${v}' does not end with '${h.EndsWith}' (MAT-05)`;
  }
  return undefined;
}

/** The conditions that held, for the trace of the rule that fires (MAT-02). */
export function describeMatch(rule: RoutingRule, phase: Phase): string {
  const c = rule.Condition ?? {};
  const parts: string[] = [];
  if (c.KeyPrefixEquals !== undefined) parts.push(`prefix '${c.KeyPrefixEquals}'`);
  if (c.KeySuffixEquals !== undefined) parts.push(`suffix '${c.KeySuffixEquals}'`);
  if (phase.kind === 'error') parts.push(`status ${phase.status}`);
  for (const h of c.IncludeHeader ?? []) {
    const test =
      h.Equals !== undefined
        ? `= '${h.Equals}'`
        : h.StartsWith !== undefined
          ? `starts with '${h.StartsWith}'`
          : `ends with '${h.EndsWith ?? ''}'`;
    parts.push(`header ${h.Key ?? ''} ${test}`);
  }
  return parts.length > 0
    ? `matches (${parts.join(', ')}): ${rule.Redirect.RedirectType}`
    : `matches (no conditions): ${rule.Redirect.RedirectType}`;
}

/**
 * MAT-01…MAT-09: the first rule, by RuleNumber, that holds in `phase` (default: the error phase
 * for `req.status` when it is set, else pre-routing). Later rules are not looked at (MAT-01).
 */
export function matchRules(rules: readonly RoutingRule[], req: MatchRequest, phase?: Phase): MatchResult {
  const p: Phase = phase ?? (req.status === undefined ? { kind: 'pre' } : { kind: 'error', status: req.status });
  const trace: TraceEntry[] = [];
  const ordered = [...rules].sort((a, b) => a.RuleNumber - b.RuleNumber);
  for (const rule of ordered) {
    const reason = whyNot(rule, req, p);
    if (reason === undefined) {
      trace.push({ ruleNumber: rule.RuleNumber, matched: true, reason: describeMatch(rule, p) });
      return { rule, trace };
    }
    trace.push({ ruleNumber: rule.RuleNumber, matched: false, reason });
  }
  return { trace };
}
