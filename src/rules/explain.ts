/**
 * @module rules/explain
 * The rule simulator (no peer has one): for a bucket's configuration and a request, which rule
 * fires and why each earlier one did not, and what would happen — the redirect Location and code,
 * the origin URLs and headers a mirror would fetch with, or the index/error document served.
 * Nothing is fetched and nothing changes: object existence comes from the caller.
 */
import { locationValue } from '../codec/header-value.js';
import type { Decision, WebsiteRequest } from './resolve.js';
import { resolve } from './resolve.js';
import type { MirrorPlan } from './mirror-plan.js';
import type { WebsiteConfig } from './model.js';

/** A plain JSON-able answer (the /-/rules/explain body; `osprey rules explain --json` prints it). */
export interface Explanation {
  request: { method: string; key: string; status?: number; websiteMode: boolean };
  configured: boolean;
  dialect?: WebsiteConfig['dialect'];
  /** one entry per rule pass (pre-routing, error 404, …), each rule with why it did or did not fire */
  trace: Decision['trace'];
  /** lookups and document choices, in order */
  steps: string[];
  outcome:
    | { kind: 'serve'; key: string; status: number; why: string; errorDocument?: boolean }
    | { kind: 'redirect'; status: number; location: string; ruleNumber?: number; why: string }
    | { kind: 'mirror'; ruleNumber: number; key: string; why: string; plan: MirrorPlan }
    | { kind: 'error'; status: number; code: string; why: string };
}

/** Compose a finished decision into an Explanation (pure). */
export function explainDecision(cfg: WebsiteConfig | undefined, req: WebsiteRequest, d: Decision): Explanation {
  const request = {
    method: req.method.toUpperCase(),
    key: req.key,
    ...(req.status !== undefined && { status: req.status }),
    websiteMode: req.websiteMode,
  };
  const a = d.action;
  let outcome: Explanation['outcome'];
  switch (a.kind) {
    case 'mirror':
      outcome = { kind: 'mirror', ruleNumber: a.rule.RuleNumber, key: a.key, why: a.why, plan: a.plan };
      break;
    case 'error':
      outcome = { kind: 'error', status: a.status, code: a.code === 'passthrough' ? `status ${a.status}` : a.code, why: a.why };
      break;
    case 'lookup':
      throw new Error(`explainDecision: the decision still needs a lookup of '${a.key}'`);
    case 'redirect':
      // the Location exactly as the server writes it (codec/header-value)
      outcome = { ...a, location: locationValue(a.location) };
      break;
    default:
      outcome = a;
  }
  // the answer is for users: the specification's statement IDs that the decision cites are left out
  const trace = d.trace.map((p) => ({ ...p, entries: p.entries.map((t) => ({ ...t, reason: withoutSpecIds(t.reason) })) }));
  outcome = { ...outcome, why: withoutSpecIds(outcome.why) };
  if (outcome.kind === 'mirror')
    outcome.plan = { ...outcome.plan, dropped: outcome.plan.dropped.map((x) => ({ ...x, reason: withoutSpecIds(x.reason) })) };
  return {
    request,
    configured: cfg !== undefined,
    ...(cfg && { dialect: cfg.dialect }),
    trace,
    steps: d.steps.map(withoutSpecIds),
    outcome,
  };
}

/** A statement ID of the back-to-origin specification, such as MAT-07 or MIR-13a. */
const SPEC_ID = '[A-Z]{3}-\\d{2}[a-z]?';
const ONLY_IDS = new RegExp(`\\s*\\((?:${SPEC_ID}(?:,\\s*|\\s+and\\s+)?)+\\)`, 'g');
const TRAILING_ID = new RegExp(`,\\s*${SPEC_ID}(?=\\))`, 'g');

/**
 * Decision text without the specification's statement IDs, which a user cannot look up:
 * `… (MAT-07)` and `(Type 0, WEB-03)` become `…` and `(Type 0)`. Quoted parts (keys, values) are
 * left as they are.
 */
export function withoutSpecIds(text: string): string {
  return text
    .split(/('[^']*')/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(ONLY_IDS, '').replace(TRAILING_ID, '')))
    .join('');
}

/**
 * What `req` would do against `cfg`. `existing` answers "does this key exist?": a set of keys (pure
 * use, tests) or the store's lookup.
 */
export async function explain(
  cfg: WebsiteConfig | undefined,
  req: WebsiteRequest,
  existing: ReadonlySet<string> | ((key: string) => boolean | Promise<boolean>),
): Promise<Explanation> {
  const exists = typeof existing === 'function' ? existing : (k: string) => existing.has(k);
  return explainDecision(cfg, req, await resolve(cfg, req, exists));
}

/** Human-readable form, for `osprey rules explain`. */
export function formatExplanation(e: Explanation): string {
  const r = e.request;
  const lines: string[] = [
    `${r.method} ${r.key || '/'}${r.status ? ` (as status ${r.status})` : ''}${r.websiteMode ? ' [website request]' : ''}${e.dialect ? ` — ${e.dialect.toUpperCase()}-dialect configuration` : ''}`,
  ];
  if (!e.configured) lines.push('  no website configuration: no rule can fire');
  // rule passes and the other steps, in the order they happened (older servers sent no steps)
  const steps = e.steps ?? [];
  let next = 0;
  const stepsUpTo = (n: number) => {
    for (; next < Math.min(n, steps.length); next++) lines.push(`  - ${steps[next] ?? ''}`);
  };
  for (const pass of e.trace) {
    stepsUpTo(pass.at ?? 0);
    lines.push(`  ${pass.phase}:`);
    if (pass.entries.length === 0) lines.push('    (no rules)');
    for (const t of pass.entries) lines.push(`    rule ${t.ruleNumber}: ${t.matched ? 'FIRES' : 'skipped'}: ${t.reason}`);
  }
  stepsUpTo(steps.length);
  const o = e.outcome;
  switch (o.kind) {
    case 'serve':
      lines.push(`=> serve '${o.key}' with status ${o.status} (${o.why})`);
      break;
    case 'redirect':
      lines.push(`=> redirect ${o.status} Location: ${o.location} (${o.why})`);
      break;
    case 'mirror': {
      const p = o.plan;
      lines.push(`=> mirror by rule ${o.ruleNumber}: ${p.method} ${p.urls[0] ?? '?'}`);
      for (const u of p.urls.slice(1)) lines.push(`   then, on failure (${p.failover}): ${p.method} ${u}`);
      if (p.probeUrl) lines.push(`   primary health probe: ${p.probeUrl}`);
      if (p.hostOverride) lines.push(`   connecting to the MirrorURL address with Host: ${p.hostOverride}`);
      for (const [k, v] of Object.entries(p.headers)) lines.push(`   ${k}: ${v}`);
      for (const d of p.dropped) lines.push(`   (not sent: ${d.name}: ${d.reason})`);
      const store = p.store ? `stored as '${p.storeKey}'` : 'not stored';
      lines.push(
        `   ${store}; origin redirects ${p.followRedirects ? `followed up to ${p.maxRedirects}` : 'handed to the client as 302'}${p.checkMd5 ? '; Content-MD5 checked' : ''}`,
      );
      lines.push(`   (${o.why})`);
      break;
    }
    case 'error':
      lines.push(`=> ${o.code} (${o.status}): ${o.why}`);
      break;
  }
  // a key or header may hold control characters: shown escaped, never sent to the terminal as is
  return lines.map((l) => l.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('\n');
}
