/**
 * @module origin/rules
 * The back-to-origin rule model in OSS vocabulary (spec §1): the WebsiteConfiguration element tree
 * as one schema, a parser that accepts exactly that tree (XML-02's allow-list) from either dialect
 * (XML-05), the validation of §1.5, and the canonical GET form of §1.6. Both dialects map onto
 * one model (XML-06); the dialect is remembered so GET answers in it.
 */
import { S3Error } from '../errors.js';
import type { XmlNode, XmlObject } from '../http/xml.js';
import { buildXml, parseXml } from '../http/xml.js';

// ---- the schema: every element of spec §1.2, with its type ---------------------------------------

type Scalar = 'string' | 'bool' | 'int';
interface NodeSchema {
  kind: 'node';
  fields: Record<string, Field>;
}
type Field = { type: Scalar | NodeSchema; repeated?: boolean };

const s: Field = { type: 'string' };
const b: Field = { type: 'bool' };
const n: Field = { type: 'int' };
const node = (fields: Record<string, Field>, repeated = false): Field => ({ type: { kind: 'node', fields }, repeated });
const rep = (f: Field): Field => ({ ...f, repeated: true });
const keyValue = { Key: s, Value: s };

const CONDITION = node({ KeyPrefixEquals: s, KeySuffixEquals: s, HttpErrorCodeReturnedEquals: n, IncludeHeader: node({ Key: s, Equals: s, StartsWith: s, EndsWith: s }, true) });
const REDIRECT = node({
  RedirectType: s, PassQueryString: b, ReplaceKeyWith: s, ReplaceKeyPrefixWith: s, EnableReplacePrefix: b,
  Protocol: s, HostName: s, HttpRedirectCode: n,
  MirrorURL: s, MirrorURLSlave: s, MirrorURLProbe: s,
  MirrorMultiAlternates: node({ MirrorMultiAlternate: node({ MirrorMultiAlternateNumber: n, MirrorMultiAlternateURL: s, MirrorMultiAlternateVpcId: s, MirrorMultiAlternateDstRegion: s }, true) }),
  MirrorPassQueryString: b, MirrorFollowRedirect: b, MirrorCheckMd5: b, MirrorPassOriginalSlashes: b,
  MirrorHeaders: node({ PassAll: b, Pass: rep(s), Remove: rep(s), Set: node(keyValue, true) }),
  MirrorSNI: b, MirrorSwitchAllErrors: b, MirrorAsyncStatus: n, MirrorProxyPass: b, MirrorSaveOssMeta: b,
  MirrorUserLastModified: b, MirrorAllowHeadObject: b, MirrorAllowGetImageInfo: b, MirrorAllowVideoSnapshot: b,
  MirrorReturnHeaders: node({ ReturnHeader: node(keyValue, true) }),
  MirrorTaggings: node({ Taggings: node(keyValue, true) }),
  MirrorAuth: node({ AccessKeyId: s, AccessKeySecret: s, AuthType: s, Region: s }),
  MirrorUsingRole: b, MirrorRole: s, MirrorDstRegion: s, MirrorDstVpcId: s, MirrorDstSlaveVpcId: s, MirrorTunnelId: s,
  MirrorIsExpressTunnel: b, TransparentMirrorResponseCodes: s,
});
const ROUTING_RULE = node({ RuleNumber: n, Condition: CONDITION, Redirect: REDIRECT, LuaConfig: node({ Script: s }) }, true);
const WEBSITE = node({
  IndexDocument: node({ Suffix: s, SupportSubDir: b, Type: n }),
  ErrorDocument: node({ Key: s, HttpStatus: n }),
  RoutingRules: node({ RoutingRule: ROUTING_RULE }),
  RedirectAllRequestsTo: node({ HostName: s, Protocol: s }),
});

// ---- the typed model (OSS element names) -----------------------------------------------------------

export interface KeyValue { Key?: string; Value?: string }
export interface IncludeHeader { Key?: string; Equals?: string; StartsWith?: string; EndsWith?: string }
export interface Condition {
  KeyPrefixEquals?: string;
  KeySuffixEquals?: string;
  HttpErrorCodeReturnedEquals?: number;
  IncludeHeader?: IncludeHeader[];
}
export type RedirectType = 'Mirror' | 'External' | 'Internal' | 'AliCDN';
export interface MirrorHeaders { PassAll?: boolean; Pass?: string[]; Remove?: string[]; Set?: KeyValue[] }
export interface Redirect {
  RedirectType: RedirectType;
  PassQueryString?: boolean;
  ReplaceKeyWith?: string;
  ReplaceKeyPrefixWith?: string;
  EnableReplacePrefix?: boolean;
  Protocol?: string;
  HostName?: string;
  HttpRedirectCode?: number;
  MirrorURL?: string;
  MirrorURLSlave?: string;
  MirrorURLProbe?: string;
  MirrorMultiAlternates?: { MirrorMultiAlternate?: { MirrorMultiAlternateNumber?: number; MirrorMultiAlternateURL?: string }[] };
  MirrorPassQueryString?: boolean;
  MirrorFollowRedirect?: boolean;
  MirrorCheckMd5?: boolean;
  MirrorPassOriginalSlashes?: boolean;
  MirrorHeaders?: MirrorHeaders;
  MirrorSwitchAllErrors?: boolean;
  MirrorAsyncStatus?: number;
  MirrorProxyPass?: boolean;
  MirrorUserLastModified?: boolean;
  MirrorAllowHeadObject?: boolean;
  MirrorReturnHeaders?: { ReturnHeader?: KeyValue[] };
  MirrorTaggings?: { Taggings?: KeyValue[] };
  MirrorAuth?: { AccessKeyId?: string; AccessKeySecret?: string; AuthType?: string; Region?: string };
  TransparentMirrorResponseCodes?: string;
  [other: string]: unknown;
}
export interface RoutingRule {
  RuleNumber: number;
  Condition?: Condition;
  Redirect: Redirect;
  LuaConfig?: { Script?: string };
}
export interface WebsiteConfig {
  dialect: 'oss' | 's3';
  IndexDocument?: { Suffix: string; SupportSubDir?: boolean; Type?: number };
  ErrorDocument?: { Key: string; HttpStatus?: number };
  RoutingRules: RoutingRule[];
  RedirectAllRequestsTo?: { HostName: string; Protocol?: string };
}

/** Ceilings for the routing-rule cap (LIM-02): today's OSS allows 20, S3 allows 50. */
export const MAX_RULES_OSS = 20;
export const MAX_RULES_S3 = 50;
export const DEFAULT_MAX_RULES = 5;
/** AWS's cap on a website configuration body (API-08). */
export const MAX_WEBSITE_XML = 128 * 1024;

// ---- schema-driven parse / build -------------------------------------------------------------------

type Value = string | boolean | number | Record<string, unknown> | unknown[];

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', { message });
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedXML', { message });
}

function scalar(type: Scalar, raw: string, where: string): string | boolean | number {
  const t = raw.trim();
  if (type === 'string') return raw;
  if (type === 'bool') {
    if (/^true$/i.test(t)) return true;
    if (/^false$/i.test(t)) return false;
    throw invalid(`${where} must be true or false, not '${raw}'.`);
  }
  if (!/^-?\d+$/.test(t)) throw invalid(`${where} must be a whole number, not '${raw}'.`);
  return Number(t);
}

function readNode(xml: XmlNode | undefined, schema: NodeSchema, where: string): Record<string, Value> {
  if (xml === undefined || xml === '') return {};
  if (typeof xml === 'string' || Array.isArray(xml)) throw malformed(`${where} must contain elements, not text.`);
  const out: Record<string, Value> = {};
  for (const [name, raw] of Object.entries(xml)) {
    // whitespace between elements of a pretty-printed document
    if (name === '#text' && typeof raw === 'string' && raw.trim() === '') continue;
    const field = schema.fields[name];
    if (!field) throw malformed(`Unknown element <${name}> in ${where}.`);
    const items = Array.isArray(raw) ? raw : [raw];
    if (!field.repeated && items.length > 1) throw malformed(`<${name}> may appear only once in ${where}.`);
    const parsed = items.map((item, i) => {
      const at = field.repeated ? `${where}/${name}[${i + 1}]` : `${where}/${name}`;
      if (typeof field.type === 'string') {
        if (typeof item !== 'string') throw malformed(`${at} must be text.`);
        return scalar(field.type, item, at);
      }
      return readNode(item, field.type, at);
    });
    out[name] = field.repeated ? parsed : (parsed[0] as Value);
  }
  return out;
}

function writeNode(value: Record<string, unknown>, schema: NodeSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // schema order, so GET output is canonical whatever order the PUT used (API-06)
  for (const [name, field] of Object.entries(schema.fields)) {
    const v = value[name];
    if (v === undefined) continue;
    const one = (x: unknown): unknown => (typeof field.type === 'string' ? String(x) : writeNode(x as Record<string, unknown>, field.type));
    out[name] = Array.isArray(v) ? v.map(one) : one(v);
  }
  return out;
}

const WEBSITE_SCHEMA = WEBSITE.type as NodeSchema;
const RULE_SCHEMA = ROUTING_RULE.type as NodeSchema;
const OSS_ONLY = /<(RuleNumber|RedirectType|KeySuffixEquals|IncludeHeader|Mirror\w*|EnableReplacePrefix|PassQueryString|LuaConfig|SupportSubDir|Type|HttpStatus|TransparentMirrorResponseCodes)[\s>/]/;

export interface ParseOptions {
  /** the server's --max-routing-rules (default 5) */
  maxRules: number;
}

/** PUT ?website body -> validated config. Throws MalformedXML / InvalidArgument naming rule and field. */
export function parseWebsiteXml(text: string, opts: ParseOptions = { maxRules: DEFAULT_MAX_RULES }): WebsiteConfig {
  if (Buffer.byteLength(text) > MAX_WEBSITE_XML) throw malformed(`The website configuration must be at most ${MAX_WEBSITE_XML} bytes.`);
  const doc = parseXml(text, ['WebsiteConfiguration.RoutingRules.RoutingRule']);
  const names = Object.keys(doc);
  if (names.length !== 1 || names[0] !== 'WebsiteConfiguration') throw malformed('The root element must be <WebsiteConfiguration>.');
  const raw = readNode(doc.WebsiteConfiguration, WEBSITE_SCHEMA, 'WebsiteConfiguration');
  const dialect: WebsiteConfig['dialect'] = OSS_ONLY.test(text) ? 'oss' : 's3';
  const cfg = raw as unknown as Omit<WebsiteConfig, 'dialect' | 'RoutingRules'> & { RoutingRules?: { RoutingRule?: Record<string, Value>[] } };
  const rules = (cfg.RoutingRules?.RoutingRule ?? []) as unknown as RoutingRule[];
  const out: WebsiteConfig = {
    dialect,
    ...(cfg.IndexDocument && { IndexDocument: cfg.IndexDocument }),
    ...(cfg.ErrorDocument && { ErrorDocument: cfg.ErrorDocument }),
    ...(cfg.RedirectAllRequestsTo && { RedirectAllRequestsTo: cfg.RedirectAllRequestsTo }),
    RoutingRules: rules,
  };
  validate(out, raw, opts);
  return out;
}

// ---- validation (§1.5) ------------------------------------------------------------------------------

const HEADER_NAME = /^[A-Za-z0-9-]{1,1024}$/;

function validate(cfg: WebsiteConfig, raw: Record<string, Value>, opts: ParseOptions): void {
  // XML-01
  if (!('IndexDocument' in raw) && !('ErrorDocument' in raw) && !('RoutingRules' in raw) && !('RedirectAllRequestsTo' in raw)) {
    throw malformed('A website configuration needs at least one of IndexDocument, ErrorDocument and RoutingRules.');
  }
  if (cfg.RedirectAllRequestsTo) {
    if (cfg.dialect === 'oss' || cfg.IndexDocument || cfg.ErrorDocument || 'RoutingRules' in raw) {
      throw malformed('RedirectAllRequestsTo must be the only element of the configuration.');
    }
    if (!cfg.RedirectAllRequestsTo.HostName) throw invalid('RedirectAllRequestsTo needs a HostName.');
    checkProtocol(cfg.RedirectAllRequestsTo.Protocol, 'RedirectAllRequestsTo/Protocol');
  }
  // VAL-14
  if ('IndexDocument' in raw && !cfg.IndexDocument?.Suffix) throw invalid('IndexDocument needs a non-empty Suffix.');
  if (cfg.IndexDocument?.Suffix?.includes('/')) throw invalid('IndexDocument/Suffix must not contain a slash.');
  if (cfg.IndexDocument?.Type !== undefined && ![0, 1, 2].includes(cfg.IndexDocument.Type)) throw invalid('IndexDocument/Type must be 0, 1 or 2.');
  if ('ErrorDocument' in raw && !cfg.ErrorDocument?.Key) throw invalid('ErrorDocument needs a non-empty Key.');
  const hs = cfg.ErrorDocument?.HttpStatus;
  if (hs !== undefined && (hs < 200 || hs > 599)) throw invalid('ErrorDocument/HttpStatus must be an HTTP status code.');
  // VAL-13 / LIM-02
  const ceiling = cfg.dialect === 'oss' ? MAX_RULES_OSS : MAX_RULES_S3;
  const cap = Math.min(opts.maxRules, ceiling);
  if (cfg.RoutingRules.length > cap) {
    throw invalid(`At most ${cap} routing rules are allowed per bucket (got ${cfg.RoutingRules.length}).`);
  }
  if ('RoutingRules' in raw && cfg.RoutingRules.length === 0) throw malformed('RoutingRules must contain at least one RoutingRule.');
  if (cfg.dialect === 'oss') validateOssRules(cfg.RoutingRules);
  else validateS3Rules(cfg.RoutingRules);
}

function checkProtocol(p: string | undefined, where: string): void {
  if (p !== undefined && p !== 'http' && p !== 'https') throw invalid(`${where} must be http or https, not '${p}'.`);
}

function validateOssRules(rules: RoutingRule[]): void {
  const seen = new Set<number>();
  rules.forEach((rule, i) => {
    const at = rule.RuleNumber === undefined ? `RoutingRule #${i + 1}` : `RoutingRule ${rule.RuleNumber}`;
    // VAL-02, VAL-03
    if (rule.RuleNumber === undefined) throw invalid(`${at}: RuleNumber is required.`);
    if (rule.RuleNumber <= 0) throw invalid(`${at}: RuleNumber must be a positive whole number.`);
    if (seen.has(rule.RuleNumber)) throw invalid(`${at}: RuleNumber ${rule.RuleNumber} is used by two rules.`);
    seen.add(rule.RuleNumber);
    // VAL-04, VAL-05
    if (rule.Condition === undefined) throw invalid(`${at}: Condition is required.`);
    if (rule.Redirect === undefined) throw invalid(`${at}: Redirect is required.`);
    const r = rule.Redirect;
    if (!r.RedirectType) throw invalid(`${at}: Redirect/RedirectType is required.`);
    if (!['Mirror', 'External', 'Internal', 'AliCDN'].includes(r.RedirectType)) {
      throw invalid(`${at}: Redirect/RedirectType must be Mirror, External, Internal or AliCDN, not '${r.RedirectType}'.`);
    }
    validateCondition(rule.Condition, at, r.RedirectType);
    // VAL-09
    if (r.ReplaceKeyWith && r.ReplaceKeyPrefixWith) throw invalid(`${at}: ReplaceKeyWith and ReplaceKeyPrefixWith cannot both be set.`);
    if (r.EnableReplacePrefix === true && r.ReplaceKeyWith) throw invalid(`${at}: EnableReplacePrefix cannot be true when ReplaceKeyWith is set.`);
    if (r.RedirectType === 'Mirror') validateMirror(r, rule.Condition, at);
    else if (r.RedirectType === 'Internal') {
      // VAL-11
      for (const f of ['Protocol', 'HostName', 'HttpRedirectCode'] as const) if (r[f] !== undefined) throw invalid(`${at}: an Internal redirect must not set ${f}.`);
    } else {
      // VAL-10
      if (!r.Protocol) throw invalid(`${at}: an ${r.RedirectType} redirect needs Redirect/Protocol.`);
      if (!r.HostName) throw invalid(`${at}: an ${r.RedirectType} redirect needs Redirect/HostName.`);
      checkProtocol(r.Protocol, `${at}: Redirect/Protocol`);
      checkHost(r.HostName, at);
      if (r.HttpRedirectCode !== undefined && ![301, 302, 307].includes(r.HttpRedirectCode)) {
        throw invalid(`${at}: Redirect/HttpRedirectCode must be 301, 302 or 307, not ${r.HttpRedirectCode}.`);
      }
    }
  });
  // GET-02: ascending RuleNumber
  rules.sort((x, y) => x.RuleNumber - y.RuleNumber);
}

function checkHost(host: string, at: string): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/.test(host)) {
    throw invalid(`${at}: Redirect/HostName '${host}' is not a valid host name.`);
  }
}

function validateCondition(c: Condition, at: string, type: RedirectType): void {
  const code = c.HttpErrorCodeReturnedEquals;
  // VAL-08 and the console's 400-599 range for redirects (§1.3)
  if (type === 'Mirror' && code !== 404) throw invalid(`${at}: a Mirror rule needs Condition/HttpErrorCodeReturnedEquals 404.`);
  if (code !== undefined && (code < 400 || code > 599)) throw invalid(`${at}: Condition/HttpErrorCodeReturnedEquals must be from 400 to 599, not ${code}.`);
  const headers = c.IncludeHeader ?? [];
  if (headers.length > 10) throw invalid(`${at}: at most 10 IncludeHeader conditions are allowed.`);
  headers.forEach((h, i) => {
    if (!h.Key || !HEADER_NAME.test(h.Key)) throw invalid(`${at}: Condition/IncludeHeader[${i + 1}]/Key must be a header name of letters, digits and '-'.`);
    if (h.Equals === undefined && h.StartsWith === undefined && h.EndsWith === undefined) {
      throw invalid(`${at}: Condition/IncludeHeader[${i + 1}] needs Equals, StartsWith or EndsWith.`);
    }
  });
}

const MIRROR_URL = /^https?:\/\/[^/?#\s]+\/[^\s?#]*$/;

function validateMirror(r: Redirect, c: Condition, at: string): void {
  void c;
  // VAL-06, VAL-07
  if (!r.MirrorURL) throw invalid(`${at}: a Mirror rule needs Redirect/MirrorURL.`);
  for (const f of ['MirrorURL', 'MirrorURLSlave', 'MirrorURLProbe'] as const) {
    const v = r[f];
    if (v !== undefined && (!MIRROR_URL.test(v) || (f !== 'MirrorURLProbe' && !v.endsWith('/')))) {
      throw invalid(`${at}: Redirect/${f} must be an http:// or https:// URL${f === 'MirrorURLProbe' ? '' : ' ending in /'}, not '${v}'.`);
    }
  }
  if (r.MirrorURLSlave && !r.MirrorURLProbe) throw invalid(`${at}: Redirect/MirrorURLSlave needs Redirect/MirrorURLProbe.`);
  for (const alt of r.MirrorMultiAlternates?.MirrorMultiAlternate ?? []) {
    if (!alt.MirrorMultiAlternateURL || !MIRROR_URL.test(alt.MirrorMultiAlternateURL)) {
      throw invalid(`${at}: MirrorMultiAlternateURL must be an http:// or https:// URL ending in /.`);
    }
  }
  // VAL-12, LIM-03
  const h = r.MirrorHeaders;
  for (const list of ['Pass', 'Remove'] as const) {
    const items = h?.[list] ?? [];
    if (items.length > 10) throw invalid(`${at}: at most 10 MirrorHeaders/${list} entries are allowed.`);
    for (const name of items) if (!HEADER_NAME.test(name)) throw invalid(`${at}: MirrorHeaders/${list} '${name}' is not a valid header name.`);
  }
  const sets = h?.Set ?? [];
  if (sets.length > 10) throw invalid(`${at}: at most 10 MirrorHeaders/Set entries are allowed.`);
  for (const kv of sets) {
    if (!kv.Key || !HEADER_NAME.test(kv.Key)) throw invalid(`${at}: MirrorHeaders/Set/Key '${kv.Key ?? ''}' is not a valid header name.`);
    if (kv.Value === undefined || /[\r\n]/.test(kv.Value) || Buffer.byteLength(kv.Value) > 1024) {
      throw invalid(`${at}: MirrorHeaders/Set/Value for '${kv.Key}' must be at most 1024 bytes without CR or LF.`);
    }
  }
  if (r.TransparentMirrorResponseCodes !== undefined && !/^\s*\d{3}(\s*,\s*\d{3})*\s*$/.test(r.TransparentMirrorResponseCodes)) {
    throw invalid(`${at}: TransparentMirrorResponseCodes must be comma-separated status codes.`);
  }
  // GET-01: the defaults OSS fills in
  r.PassQueryString ??= false;
  r.MirrorPassQueryString ??= false;
  r.MirrorFollowRedirect ??= true;
  r.MirrorCheckMd5 ??= false;
  r.MirrorHeaders = { PassAll: false, ...(r.MirrorHeaders ?? {}) };
}

/** S3 dialect (§7.1): no RuleNumber; Condition optional; Redirect needs at least one field. */
function validateS3Rules(rules: RoutingRule[]): void {
  rules.forEach((rule, i) => {
    const at = `RoutingRule #${i + 1}`;
    if (rule.Redirect === undefined) throw invalid(`${at}: Redirect is required.`);
    const r = rule.Redirect;
    if (r.Protocol === undefined && r.HostName === undefined && r.ReplaceKeyPrefixWith === undefined && r.ReplaceKeyWith === undefined && r.HttpRedirectCode === undefined) {
      throw invalid(`${at}: Redirect needs at least one of Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith and HttpRedirectCode.`);
    }
    if (r.ReplaceKeyWith !== undefined && r.ReplaceKeyPrefixWith !== undefined) throw invalid(`${at}: ReplaceKeyWith and ReplaceKeyPrefixWith cannot both be set.`);
    checkProtocol(r.Protocol, `${at}: Redirect/Protocol`);
    if (r.HostName !== undefined) checkHost(r.HostName, at);
    if (r.HttpRedirectCode !== undefined && (r.HttpRedirectCode < 300 || r.HttpRedirectCode > 399)) throw invalid(`${at}: Redirect/HttpRedirectCode must be a 3xx code.`);
    const c = rule.Condition;
    if (c && c.HttpErrorCodeReturnedEquals !== undefined && (c.HttpErrorCodeReturnedEquals < 400 || c.HttpErrorCodeReturnedEquals > 599)) {
      throw invalid(`${at}: Condition/HttpErrorCodeReturnedEquals must be from 400 to 599.`);
    }
    // one model: S3 rules are External redirects numbered in document order (XML-05, XML-06)
    rule.RuleNumber = i + 1;
    r.RedirectType = 'External';
  });
}

// ---- output ------------------------------------------------------------------------------------------

/** GET ?website body (§1.6): canonical order, ascending RuleNumber, secrets masked, in the stored dialect. */
export function serializeWebsiteXml(cfg: WebsiteConfig): string {
  const rules = cfg.RoutingRules.map((rule) => {
    const r: Record<string, unknown> = { ...rule.Redirect };
    if (rule.Redirect.MirrorAuth?.AccessKeySecret !== undefined) r.MirrorAuth = { ...rule.Redirect.MirrorAuth, AccessKeySecret: '******' };
    if (cfg.dialect === 's3') delete r.RedirectType;
    const out: Record<string, unknown> = { ...rule, Redirect: r };
    if (cfg.dialect === 's3') delete out.RuleNumber;
    return writeNode(out, RULE_SCHEMA);
  });
  const body: Record<string, unknown> = writeNode({ ...cfg, RoutingRules: undefined }, WEBSITE_SCHEMA);
  if (rules.length > 0) {
    // keep the schema's element order: RoutingRules after IndexDocument/ErrorDocument
    delete body.RedirectAllRequestsTo;
    body.RoutingRules = { RoutingRule: rules };
    if (cfg.RedirectAllRequestsTo) body.RedirectAllRequestsTo = writeNode(cfg.RedirectAllRequestsTo, (WEBSITE_SCHEMA.fields.RedirectAllRequestsTo?.type as NodeSchema));
  }
  return buildXml({ WebsiteConfiguration: body });
}

export function toStored(cfg: WebsiteConfig): string {
  return JSON.stringify(cfg);
}

export function fromStored(text: string): WebsiteConfig {
  return JSON.parse(text) as WebsiteConfig;
}

/** Validate the --max-routing-rules setting. */
export function validateMaxRoutingRules(nRules: number): void {
  if (!Number.isInteger(nRules) || nRules < 1 || nRules > MAX_RULES_S3) throw new RangeError(`max routing rules must be from 1 to ${MAX_RULES_S3}`);
}

export type { XmlObject };
