/**
 * @module rules/rules
 * The back-to-origin rule model in OSS vocabulary (spec §1): parse a PUT ?website body in either
 * dialect (XML-05), validate it exactly as §1.5 says, answer GET in canonical form (§1.6), and
 * store it as JSON. Both dialects map onto one model (XML-06); the dialect is remembered.
 */
import { S3Error } from '../errors.js';
import { buildXml, parseXml } from '../codec/xml.js';
import type { Infer } from './schema.js';
import { ROUTING_RULE, WEBSITE, firstOssOnlyElement, isRedirectType, readJson, readXml, writeXml } from './schema.js';
import { validateOssRule, validateS3Rule } from './validate.js';

export type { Condition, IncludeHeader, RedirectType, Redirect, MirrorHeaders, KeyValue, RoutingRule, WebsiteConfig } from './model.js';
export { REDIRECT_TYPES, isRedirectType } from './schema.js';
import type { RoutingRule, WebsiteConfig } from './model.js';

/** LIM-02: today's OSS allows 20 rules, S3 allows 50; the seed's (and Osprey's default) cap is 5. */
export const MAX_RULES_OSS = 20;
export const MAX_RULES_S3 = 50;
export const DEFAULT_MAX_RULES = 5;
/** API-08: AWS's cap on a website configuration body. */
export const MAX_WEBSITE_XML = 128 * 1024;
/** GET-03: what AccessKeySecret reads back as. */
export const MASKED_SECRET = '******';
const S3_NAMESPACE = /<(?:\w+:)?WebsiteConfiguration\b[^>]*\sxmlns(?::\w+)?\s*=\s*["']http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/?["']/;

export interface ParseOptions {
  /** the server's --max-routing-rules (default 5); clamped to the dialect's ceiling (LIM-02) */
  maxRules: number;
  /**
   * VAL-16: called with every origin URL of a Mirror rule; a returned string refuses the rule with
   * that reason. The server passes `originGuard(allowList)` from origin-guard.ts.
   */
  originGuard?: (url: URL) => string | undefined;
}

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', { message });
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedXML', { message });
}

/** PUT ?website body -> validated config. Throws MalformedXML / InvalidArgument naming the rule and field. */
export function parseWebsiteXml(text: string, opts: ParseOptions = { maxRules: DEFAULT_MAX_RULES }): WebsiteConfig {
  if (Buffer.byteLength(text) > MAX_WEBSITE_XML) throw malformed(`The website configuration must be at most ${MAX_WEBSITE_XML} bytes.`);
  const doc = parseXml(text);
  const names = Object.keys(doc);
  if (names.length !== 1 || names[0] !== 'WebsiteConfiguration') throw malformed('The root element must be <WebsiteConfiguration>.');
  const raw = readXml(doc.WebsiteConfiguration, WEBSITE.type, 'WebsiteConfiguration');
  // XML-03: the Go SDK v1 marshals IndexDocument/ErrorDocument even when unset, as empty elements
  if (raw.IndexDocument && raw.IndexDocument.Suffix === '' && Object.keys(raw.IndexDocument).length === 1) delete raw.IndexDocument;
  if (raw.ErrorDocument && raw.ErrorDocument.Key === '' && Object.keys(raw.ErrorDocument).length === 1) delete raw.ErrorDocument;
  const rawRules = raw.RoutingRules?.RoutingRule ?? [];
  // XML-01 (an empty <RoutingRules/>, which ali-oss sends for routingRules: [], configures nothing)
  if (!raw.IndexDocument && !raw.ErrorDocument && rawRules.length === 0 && !raw.RedirectAllRequestsTo) {
    throw malformed('A website configuration needs at least one of IndexDocument, ErrorDocument and RoutingRules.');
  }
  const dialect = detectDialect(raw, text);
  const cfg: WebsiteConfig = { dialect, RoutingRules: [] };
  if (raw.IndexDocument) cfg.IndexDocument = indexDocument(raw.IndexDocument);
  if (raw.ErrorDocument) cfg.ErrorDocument = errorDocument(raw.ErrorDocument);
  if (raw.RedirectAllRequestsTo) {
    if (raw.IndexDocument || raw.ErrorDocument || raw.RoutingRules)
      throw malformed('RedirectAllRequestsTo must be the only element of the configuration.');
    cfg.RedirectAllRequestsTo = redirectAll(raw.RedirectAllRequestsTo);
  }
  // VAL-13 / LIM-02: the operator's cap, never above the dialect's ceiling
  const configured = Number.isInteger(opts.maxRules) && opts.maxRules >= 1 ? opts.maxRules : DEFAULT_MAX_RULES;
  const cap = Math.min(configured, dialect === 'oss' ? MAX_RULES_OSS : MAX_RULES_S3);
  if (rawRules.length > cap) throw invalid(`At most ${cap} routing rules are allowed per bucket (got ${rawRules.length}).`);
  if (dialect === 'oss') {
    const seen = new Set<number>();
    cfg.RoutingRules = rawRules.map((r, i) => validateOssRule(r, i, seen, opts.originGuard));
    cfg.RoutingRules.sort((a, b) => a.RuleNumber - b.RuleNumber); // GET-02, MAT-01
  } else {
    cfg.RoutingRules = rawRules.map((r, i) => validateS3Rule(r, i));
  }
  return cfg;
}

/**
 * XML-05: any element AWS's schema lacks (RuleNumber, RedirectType, Mirror*, SupportSubDir, …) makes
 * the document OSS dialect; rules without any (or RedirectAllRequestsTo) make it S3. A document with
 * neither is the same in both dialects: it is S3 only when it carries AWS's namespace, as every AWS
 * SDK and the aws CLI send, and OSS otherwise (ali-oss, the OSS Go/Python SDKs) — the dialect decides
 * the index-document semantics for directories (§5 vs §7.1), so each client gets its provider's.
 */
function detectDialect(raw: Infer<typeof WEBSITE.type>, text: string): WebsiteConfig['dialect'] {
  if (firstOssOnlyElement(raw, WEBSITE.type, 'WebsiteConfiguration')) return 'oss';
  if ((raw.RoutingRules?.RoutingRule?.length ?? 0) > 0 || raw.RedirectAllRequestsTo) return 's3';
  return S3_NAMESPACE.test(text) ? 's3' : 'oss';
}

function indexDocument(ix: NonNullable<Infer<typeof WEBSITE.type>['IndexDocument']>): NonNullable<WebsiteConfig['IndexDocument']> {
  // VAL-14
  if (!ix.Suffix) throw invalid('IndexDocument needs a non-empty Suffix.');
  if (ix.Suffix.includes('/')) throw invalid(`IndexDocument/Suffix must be an object name without '/', not '${ix.Suffix}'.`);
  if (ix.Type !== undefined && ![0, 1, 2].includes(ix.Type)) throw invalid(`IndexDocument/Type must be 0, 1 or 2, not ${ix.Type}.`);
  return { ...ix, Suffix: ix.Suffix };
}

function errorDocument(ed: NonNullable<Infer<typeof WEBSITE.type>['ErrorDocument']>): NonNullable<WebsiteConfig['ErrorDocument']> {
  // VAL-14; HttpStatus: a status a page can be sent with (200 for single-page apps, 4xx/5xx)
  if (!ed.Key) throw invalid('ErrorDocument needs a non-empty Key.');
  const hs = ed.HttpStatus;
  if (hs !== undefined && (hs < 200 || hs > 599 || (hs >= 300 && hs < 400)))
    throw invalid(`ErrorDocument/HttpStatus must be a 2xx, 4xx or 5xx status code, not ${hs}.`);
  return { ...ed, Key: ed.Key };
}

function redirectAll(
  ra: NonNullable<Infer<typeof WEBSITE.type>['RedirectAllRequestsTo']>,
): NonNullable<WebsiteConfig['RedirectAllRequestsTo']> {
  if (!ra.HostName) throw invalid('RedirectAllRequestsTo needs a HostName.');
  if (ra.Protocol !== undefined && ra.Protocol !== 'http' && ra.Protocol !== 'https')
    throw invalid(`RedirectAllRequestsTo/Protocol must be http or https, not '${ra.Protocol}'.`);
  return { ...ra, HostName: ra.HostName };
}

// ---- GET (§1.6) ---------------------------------------------------------------------------------------

/** GET ?website body: canonical element order, ascending RuleNumber, secrets masked, in the stored dialect. */
export function serializeWebsiteXml(cfg: WebsiteConfig): string {
  const rules = [...cfg.RoutingRules]
    .sort((a, b) => a.RuleNumber - b.RuleNumber)
    .map((rule) => {
      const r: Record<string, unknown> = { ...rule.Redirect };
      // GET-03
      if (rule.Redirect.MirrorAuth?.AccessKeySecret !== undefined)
        r.MirrorAuth = { ...rule.Redirect.MirrorAuth, AccessKeySecret: MASKED_SECRET };
      // §7.1: the S3 dialect has no rule numbers and no redirect types
      if (cfg.dialect === 's3') delete r.RedirectType;
      const out: Record<string, unknown> = { ...rule, Redirect: r };
      if (cfg.dialect === 's3') delete out.RuleNumber;
      return out;
    });
  const body = writeXml({ ...cfg, RoutingRules: rules.length > 0 ? { RoutingRule: rules } : undefined }, WEBSITE.type);
  if (cfg.dialect === 's3') body['@_xmlns'] = 'http://s3.amazonaws.com/doc/2006-03-01/';
  return buildXml({ WebsiteConfiguration: body });
}

/**
 * GET-03 companion: a client that PUTs back what GET returned sends the mask; keep the stored secret
 * of the same rule (same RuleNumber and AccessKeyId) instead of storing the mask.
 */
export function keepMaskedSecrets(next: WebsiteConfig, previous: WebsiteConfig | undefined): WebsiteConfig {
  for (const rule of next.RoutingRules) {
    const auth = rule.Redirect.MirrorAuth;
    if (auth?.AccessKeySecret !== MASKED_SECRET) continue;
    const old = previous?.RoutingRules.find((r) => r.RuleNumber === rule.RuleNumber)?.Redirect.MirrorAuth;
    if (old?.AccessKeySecret !== undefined && old.AccessKeyId === auth.AccessKeyId) auth.AccessKeySecret = old.AccessKeySecret;
  }
  return next;
}

// ---- storage --------------------------------------------------------------------------------------------

export function toStored(cfg: WebsiteConfig): string {
  return JSON.stringify(cfg);
}

/** The stored JSON back to a config, every field checked against the schema (throws on corruption). */
export function fromStored(text: string): WebsiteConfig {
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('stored website configuration is not an object');
  const { dialect, RoutingRules, ...rest } = v as Record<string, unknown>;
  if (dialect !== 'oss' && dialect !== 's3') throw new Error('stored website configuration has no dialect');
  if (!Array.isArray(RoutingRules)) throw new Error('stored website configuration has no RoutingRules list');
  const top = readJson(rest, WEBSITE.type, 'WebsiteConfiguration');
  if (top.RoutingRules !== undefined) throw new Error('stored website configuration: unexpected RoutingRules container');
  const cfg: WebsiteConfig = { dialect, RoutingRules: RoutingRules.map((r, i) => storedRule(r, i)) };
  const { IndexDocument: ix, ErrorDocument: ed, RedirectAllRequestsTo: ra } = top;
  if (ix) cfg.IndexDocument = { ...ix, Suffix: required(ix.Suffix, 'IndexDocument/Suffix') };
  if (ed) cfg.ErrorDocument = { ...ed, Key: required(ed.Key, 'ErrorDocument/Key') };
  if (ra) cfg.RedirectAllRequestsTo = { ...ra, HostName: required(ra.HostName, 'RedirectAllRequestsTo/HostName') };
  return cfg;
}

function required(v: string | undefined, what: string): string {
  if (v === undefined) throw new Error(`stored website configuration: ${what} is missing`);
  return v;
}

function storedRule(value: unknown, i: number): RoutingRule {
  const r = readJson(value, ROUTING_RULE.type, `RoutingRules[${i + 1}]`);
  const type = r.Redirect?.RedirectType;
  if (r.RuleNumber === undefined || !r.Redirect || !isRedirectType(type))
    throw new Error(`stored website configuration: rule #${i + 1} is incomplete`);
  return { ...r, RuleNumber: r.RuleNumber, Redirect: { ...r.Redirect, RedirectType: type } };
}

/** Validate the --max-routing-rules setting (LIM-02): 1 up to the S3 ceiling. */
export function validateMaxRoutingRules(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_RULES_S3) {
    throw new RangeError(
      `invalid setting 'maxRoutingRules': ${n} (must be a whole number from 1 to ${MAX_RULES_S3}; OSS-dialect configurations are capped at ${MAX_RULES_OSS})`,
    );
  }
  return n;
}
