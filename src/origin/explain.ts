/**
 * @module origin/explain
 * The rule simulator (no peer has one): for a bucket's configuration and a request, which rule
 * fires and why each earlier one did not, and what would happen — the redirect Location and code,
 * the origin URL and headers a mirror would fetch with, or the index/error document served.
 * Nothing is fetched and nothing changes: object existence comes from the caller's lookup.
 */
import type { Decision, WebsiteRequest } from '../website/resolve.js';
import { resolve } from '../website/resolve.js';
import type { MirrorPlan } from './mirror-plan.js';
import { mirrorPlan } from './mirror-plan.js';
import type { WebsiteConfig } from './rules.js';

export interface Explanation {
  request: { method: string; key: string; status?: number; websiteMode: boolean };
  configured: boolean;
  trace: Decision['trace'];
  outcome:
    | { kind: 'serve'; key: string; status: number; why: string }
    | { kind: 'redirect'; status: number; location: string; ruleNumber?: number; why: string }
    | { kind: 'mirror'; ruleNumber: number; why: string; plan: MirrorPlan }
    | { kind: 'error'; status: number; code: string; why: string };
}

export async function explain(cfg: WebsiteConfig | undefined, req: WebsiteRequest, exists: (key: string) => Promise<boolean>): Promise<Explanation> {
  const request = { method: req.method, key: req.key, ...(req.status !== undefined && { status: req.status }), websiteMode: req.websiteMode };
  if (!cfg) {
    const found = await exists(req.key);
    return {
      request, configured: false, trace: [],
      outcome: found ? { kind: 'serve', key: req.key, status: 200, why: 'the object exists; the bucket has no website configuration' }
        : { kind: 'error', status: 404, code: 'NoSuchKey', why: 'the bucket has no website configuration' },
    };
  }
  const d = await resolve(cfg, req, exists);
  const a = d.action;
  let outcome: Explanation['outcome'];
  switch (a.kind) {
    case 'mirror':
      outcome = { kind: 'mirror', ruleNumber: a.rule.RuleNumber, why: a.why, plan: mirrorPlan(a.rule, { key: a.key, query: req.query, headers: req.headers }) };
      break;
    case 'error':
      outcome = { kind: 'error', status: a.status, code: a.code === 'passthrough' ? `status ${a.status}` : a.code, why: a.why };
      break;
    case 'lookup':
      throw new Error('unreachable: resolve() settles lookups');
    default:
      outcome = a;
  }
  return { request, configured: true, trace: d.trace, outcome };
}

/** Human-readable form, for `osprey rules explain`. */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [`${e.request.method} ${e.request.key || '/'}${e.request.status ? ` (as status ${e.request.status})` : ''}${e.request.websiteMode ? ' [website request]' : ''}`];
  if (!e.configured) lines.push('  no website configuration: no rule can fire');
  for (const pass of e.trace) {
    lines.push(`  ${pass.phase}:`);
    if (pass.entries.length === 0) lines.push('    (no rules)');
    for (const t of pass.entries) lines.push(`    rule ${t.ruleNumber}: ${t.matched ? 'FIRES' : 'skipped'}: ${t.reason}`);
  }
  const o = e.outcome;
  switch (o.kind) {
    case 'serve':
      lines.push(`=> serve '${o.key}' with status ${o.status} (${o.why})`);
      break;
    case 'redirect':
      lines.push(`=> redirect ${o.status} Location: ${o.location} (${o.why})`);
      break;
    case 'mirror':
      lines.push(`=> mirror by rule ${o.ruleNumber}: GET ${o.plan.urls[0] ?? '?'}`);
      for (const u of o.plan.urls.slice(1)) lines.push(`   then, on failure: GET ${u}`);
      if (o.plan.probeUrl) lines.push(`   primary health probe: ${o.plan.probeUrl}`);
      for (const [k, v] of Object.entries(o.plan.headers)) lines.push(`   ${k}: ${v}`);
      lines.push(`   stored as '${o.plan.storeKey}'`);
      break;
    case 'error':
      lines.push(`=> ${o.code} (${o.status}): ${o.why}`);
      break;
  }
  return lines.join('\n');
}
