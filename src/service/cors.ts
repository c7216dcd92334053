/**
 * @module service/cors
 * A bucket's CORS configuration (PutBucketCors in S3's and OSS's dialects) and what it means for
 * a request: the rule that matches an Origin, method and requested headers, and the
 * Access-Control-* headers that go with it. Parsing, validation and matching are pure functions;
 * `CorsService` stores the configuration with the bucket through the driver (both drivers), as
 * the website configuration is, and parses it again only when its stored text changed.
 *
 * Matching follows S3 ("How does Amazon S3 evaluate the CORS configuration on a bucket?") and OSS
 * (PutBucketCors, "CORS rule matching"): rules are tried in order and the first whose AllowedOrigin,
 * AllowedMethod and (for a preflight) AllowedHeader all match wins; `*` in AllowedOrigin and
 * AllowedHeader stands for any run of characters (at most one per value).
 */
import { S3Error } from '../errors.js';
import type { XmlNode, XmlObject } from '../codec/xml.js';
import { children, parseXml, text } from '../codec/xml.js';
import type { StorageDriver } from '../storage/driver.js';
import { ConfigCache } from './config-cache.js';

const NAME = 'cors';
/** S3: "The CORS configuration … can have up to 100 rules" and a 64 KB document. */
export const MAX_CORS_XML = 64 * 1024;
/** Rules per configuration: S3 documents 100, OSS 10. */
export const MAX_CORS_RULES = { s3: 100, oss: 10 } as const;
/** The methods S3 and OSS accept in AllowedMethod (case-sensitive, as S3 has them). */
export const CORS_METHODS: readonly string[] = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];
const MAX_ID = 255;
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface CorsConfig {
  /** the dialect it was given in; GET ?cors answers in it */
  dialect: 's3' | 'oss';
  rules: CorsRule[];
  /** OSS ResponseVary: `Vary: Origin` on every answer of the bucket, cross-origin or not */
  responseVary: boolean;
}

const RULE_FIELDS = new Set(['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds']);

const ROOT_FIELDS = new Set(['CORSRule', 'ResponseVary']);

/** Only the schema's elements; text between them may only be white space (the parser keeps it as '#text'). */
function checkElements(node: XmlObject, allowed: ReadonlySet<string>, where: string): void {
  for (const [name, value] of Object.entries(node)) {
    if (name === '#text') {
      if (children(value).every((t) => typeof t === 'string' && t.trim() === '')) continue;
      throw malformed(`unexpected text in ${where}.`);
    }
    if (!allowed.has(name)) throw malformed(`unexpected element <${name}> in ${where}.`);
  }
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedXML', { message: `The CORS configuration is not valid: ${message}` });
}

function texts(node: XmlNode | undefined, name: string): string[] {
  return children(node).map((n) => {
    const t = text(n);
    if (t === undefined) throw malformed(`<${name}> must hold text.`);
    return t.trim();
  });
}

/** Origins and header names go back out in response headers: printable ASCII only. */
function headerSafe(value: string, what: string): void {
  if (!/^[\x21-\x7e]+$/.test(value))
    throw new S3Error('InvalidRequest', { message: `${what} "${value.slice(0, 64)}" must be printable ASCII without spaces.` });
}

function oneWildcard(value: string, what: string): void {
  if (value.indexOf('*') !== value.lastIndexOf('*')) {
    throw new S3Error('InvalidRequest', { message: `${what} "${value}" can not have more than one wildcard.` });
  }
}

/**
 * Parse and validate a PutBucketCors body. `dialect` is the request's (an OSS-signed request, or a
 * body with ResponseVary, is OSS's). Errors: MalformedXML for what the schema forbids (no rule, a
 * rule without AllowedOrigin/AllowedMethod, unknown elements, a bad MaxAgeSeconds), InvalidRequest
 * for values S3 refuses (an unsupported method, two wildcards, a wildcard in ExposeHeader),
 * InvalidArgument for too many rules or a long ID.
 */
export function parseCorsXml(xml: string, dialect: 's3' | 'oss'): CorsConfig {
  const doc = parseXml(xml, ['CORSConfiguration.CORSRule']);
  const rootNames = Object.keys(doc);
  const root = doc.CORSConfiguration;
  if (rootNames.length !== 1 || root === undefined || typeof root !== 'object' || Array.isArray(root)) {
    throw malformed('the root element must be <CORSConfiguration>.');
  }
  const rootObj = root as XmlObject;
  checkElements(rootObj, ROOT_FIELDS, '<CORSConfiguration>');
  let responseVary = false;
  if (rootObj.ResponseVary !== undefined) {
    dialect = 'oss';
    const v = text(rootObj.ResponseVary)?.trim();
    if (v !== 'true' && v !== 'false')
      throw new S3Error('InvalidArgument', { message: `ResponseVary must be true or false, not '${String(v).slice(0, 32)}'.` });
    responseVary = v === 'true';
  }
  const ruleNodes = children(rootObj.CORSRule);
  if (ruleNodes.length === 0) throw malformed('<CORSConfiguration> must hold at least one <CORSRule>.');
  const max = MAX_CORS_RULES[dialect];
  if (ruleNodes.length > max) {
    throw new S3Error('InvalidArgument', {
      message: `A CORS configuration can have at most ${max} rules; this one has ${ruleNodes.length}.`,
    });
  }
  const rules = ruleNodes.map((node, i) => parseRule(node, i + 1));
  return { dialect, rules, responseVary };
}

function parseRule(node: XmlNode, n: number): CorsRule {
  if (typeof node !== 'object' || Array.isArray(node)) throw malformed(`<CORSRule> ${n} must hold elements.`);
  checkElements(node, RULE_FIELDS, `<CORSRule> ${n}`);
  const allowedOrigins = texts(node.AllowedOrigin, 'AllowedOrigin');
  const allowedMethods = texts(node.AllowedMethod, 'AllowedMethod');
  const allowedHeaders = texts(node.AllowedHeader, 'AllowedHeader');
  const exposeHeaders = texts(node.ExposeHeader, 'ExposeHeader');
  if (allowedOrigins.length === 0) throw malformed(`<CORSRule> ${n} needs at least one <AllowedOrigin>.`);
  if (allowedMethods.length === 0) throw malformed(`<CORSRule> ${n} needs at least one <AllowedMethod>.`);
  for (const m of allowedMethods) {
    if (!CORS_METHODS.includes(m))
      throw new S3Error('InvalidRequest', { message: `Found unsupported HTTP method in CORS config. Unsupported method is ${m}` });
  }
  for (const o of allowedOrigins) {
    if (o === '') throw malformed(`<CORSRule> ${n} has an empty <AllowedOrigin>.`);
    headerSafe(o, 'AllowedOrigin');
    oneWildcard(o, 'AllowedOrigin');
  }
  for (const h of allowedHeaders) {
    headerSafe(h, 'AllowedHeader');
    oneWildcard(h, 'AllowedHeader');
  }
  for (const h of exposeHeaders) {
    headerSafe(h, 'ExposeHeader');
    if (h.includes('*'))
      throw new S3Error('InvalidRequest', {
        message: `ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.`,
      });
  }
  const rule: CorsRule = { allowedOrigins, allowedMethods, allowedHeaders, exposeHeaders };
  const id = node.ID === undefined ? undefined : texts(node.ID, 'ID');
  if (id !== undefined) {
    if (id.length !== 1) throw malformed(`<CORSRule> ${n} has more than one <ID>.`);
    const v = id[0] ?? '';
    if (v.length > MAX_ID)
      throw new S3Error('InvalidArgument', { message: `The ID of CORS rule ${n} is longer than ${MAX_ID} characters.` });
    rule.id = v;
  }
  if (node.MaxAgeSeconds !== undefined) {
    const v = texts(node.MaxAgeSeconds, 'MaxAgeSeconds');
    if (v.length !== 1 || !/^\d{1,10}$/.test(v[0] ?? '') || Number(v[0]) > 2 ** 31 - 1) {
      throw malformed(`<MaxAgeSeconds> of <CORSRule> ${n} must be one non-negative integer.`);
    }
    rule.maxAgeSeconds = Number(v[0]);
  }
  return rule;
}

/** GetBucketCors body, in the dialect the configuration was given in (S3's element order). */
export function corsDocument(cfg: CorsConfig): Record<string, unknown> {
  const rules = cfg.rules.map((r) => ({
    ...(cfg.dialect === 's3' && r.id !== undefined && { ID: r.id }),
    ...(cfg.dialect === 's3' && r.allowedHeaders.length > 0 && { AllowedHeader: r.allowedHeaders }),
    AllowedMethod: r.allowedMethods,
    AllowedOrigin: r.allowedOrigins,
    ...(cfg.dialect === 'oss' && r.allowedHeaders.length > 0 && { AllowedHeader: r.allowedHeaders }),
    ...(r.exposeHeaders.length > 0 && { ExposeHeader: r.exposeHeaders }),
    ...(r.maxAgeSeconds !== undefined && { MaxAgeSeconds: String(r.maxAgeSeconds) }),
    ...(cfg.dialect === 'oss' && r.id !== undefined && { ID: r.id }),
  }));
  return { CORSConfiguration: { CORSRule: rules, ...(cfg.dialect === 'oss' && { ResponseVary: String(cfg.responseVary) }) } };
}

/** `*` stands for any run of characters (at most one `*`, checked at PUT). */
export function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const pre = pattern.slice(0, star);
  const post = pattern.slice(star + 1);
  return value.length >= pre.length + post.length && value.startsWith(pre) && value.endsWith(post);
}

export interface CorsRequest {
  origin: string;
  /** the method to allow: the request's own, or Access-Control-Request-Method */
  method: string;
  /** lower-cased names from Access-Control-Request-Headers (preflight only) */
  headers: readonly string[];
}

/** The first rule that allows the request, and the AllowedOrigin that matched it. */
export function matchCors(cfg: CorsConfig, req: CorsRequest): { rule: CorsRule; allowedOrigin: string } | undefined {
  for (const rule of cfg.rules) {
    const allowedOrigin = rule.allowedOrigins.find((o) => wildcardMatch(o, req.origin));
    if (allowedOrigin === undefined) continue;
    if (!rule.allowedMethods.includes(req.method)) continue;
    const allowed = rule.allowedHeaders.map((h) => h.toLowerCase());
    if (!req.headers.every((h) => allowed.some((a) => wildcardMatch(a, h)))) continue;
    return { rule, allowedOrigin };
  }
  return undefined;
}

/** `Access-Control-Request-Headers: a, B` -> ['a', 'b'] */
export function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

/**
 * The Access-Control-* headers for a request that a rule allowed. As S3: `*` as the matching
 * AllowedOrigin answers `*` (and no credentials); any other pattern echoes the Origin with
 * `Access-Control-Allow-Credentials: true`. A preflight also gets Allow-Headers (the requested
 * ones) and Max-Age.
 */
export function allowHeaders(
  m: { rule: CorsRule; allowedOrigin: string },
  origin: string,
  preflight?: { headers: readonly string[] },
): Record<string, string> {
  const { rule } = m;
  const h: Record<string, string> = {};
  if (m.allowedOrigin === '*') h['Access-Control-Allow-Origin'] = '*';
  else {
    h['Access-Control-Allow-Origin'] = origin;
    h['Access-Control-Allow-Credentials'] = 'true';
  }
  h['Access-Control-Allow-Methods'] = rule.allowedMethods.join(', ');
  if (preflight && preflight.headers.length > 0) h['Access-Control-Allow-Headers'] = preflight.headers.join(', ');
  if (rule.exposeHeaders.length > 0) h['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  return h;
}

/**
 * `Vary` for an answer of a bucket with this configuration: OSS's ResponseVary=true sends
 * `Vary: Origin` on every answer, false none; an S3-dialect configuration sends it on every answer
 * Osprey looked the configuration up for (requests with an Origin, and every GET/HEAD, so a shared
 * cache never hands an answer made without an Origin to a cross-origin fetch); a preflight also
 * names its two request headers, as S3 does.
 */
export function varyOf(cfg: CorsConfig, preflight: boolean): string | undefined {
  if (cfg.dialect === 'oss') return cfg.responseVary ? 'Origin' : undefined;
  return preflight ? 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method' : 'Origin';
}

/**
 * The CORS headers of an answer (not a preflight) of a bucket with configuration `cfg` (undefined:
 * none, and then the answer's own headers stay as they are): the matching rule's Access-Control-*
 * headers for a request with an Origin, and `Vary` (varyOf).
 */
export function responseHeadersOf(
  cfg: CorsConfig | undefined,
  origin: string | undefined,
  method: string,
): Record<string, string> | undefined {
  if (!cfg) return undefined;
  const h: Record<string, string> = {};
  if (origin !== undefined) {
    const m = matchCors(cfg, { origin, method, headers: [] });
    if (m) Object.assign(h, allowHeaders(m, origin));
  }
  const vary = varyOf(cfg, false);
  if (vary !== undefined) h.Vary = vary;
  return h;
}

export interface Stored {
  v: 1;
  cfg: CorsConfig;
}

function fromStored(text: string): CorsConfig {
  const s = JSON.parse(text) as Partial<Stored>;
  if (s.v !== 1 || !s.cfg || !Array.isArray(s.cfg.rules)) throw new Error('stored CORS configuration is not readable');
  return s.cfg;
}

export class CorsService {
  private readonly configs: ConfigCache<CorsConfig>;

  constructor(private readonly driver: StorageDriver) {
    this.configs = new ConfigCache(driver, NAME, fromStored);
  }

  /** undefined when the bucket has none. Throws NoSuchBucket. */
  get(bucket: string): Promise<CorsConfig | undefined> {
    return this.configs.get(bucket);
  }

  async require(bucket: string): Promise<CorsConfig> {
    const cfg = await this.get(bucket);
    if (!cfg) throw new S3Error('NoSuchCORSConfiguration', { bucket });
    return cfg;
  }

  /** Validates and stores, replacing the whole configuration. */
  async put(bucket: string, xml: string, dialect: 's3' | 'oss'): Promise<CorsConfig> {
    if (!(await this.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
    const cfg = parseCorsXml(xml, dialect);
    const stored: Stored = { v: 1, cfg };
    await this.driver.putBucketConfig(bucket, NAME, JSON.stringify(stored));
    return cfg;
  }

  /**
   * The CORS headers of an answer (not a preflight) of this bucket; undefined when the bucket has
   * no CORS configuration or does not exist (then the answer's own headers stay as they are). The
   * method to allow is Access-Control-Request-Method when the request has one (what RGW does, and
   * what the s3-tests CORS cases expect; browsers never send it on an actual request), else the
   * request's own.
   */
  async responseHeaders(bucket: string, origin: string | undefined, method: string): Promise<Record<string, string> | undefined> {
    let cfg: CorsConfig | undefined;
    try {
      cfg = await this.get(bucket);
    } catch (err) {
      if (err instanceof S3Error && err.code === 'NoSuchBucket') return undefined;
      throw err;
    }
    return responseHeadersOf(cfg, origin, method);
  }

  /**
   * A preflight (OPTIONS): the headers of its 200, or an error: 400 BadRequest without an Origin or
   * an Access-Control-Request-Method, 403 AccessForbidden when the bucket has no configuration or no
   * rule allows the origin, method and requested headers. Answered before authentication: browsers
   * send no credentials with a preflight.
   */
  async preflight(
    bucket: string,
    origin: string | undefined,
    method: string | undefined,
    headers: string | undefined,
  ): Promise<Record<string, string>> {
    if (origin === undefined) throw new S3Error('BadRequest', { message: 'Insufficient information. Origin request header needed.' });
    if (method === undefined) throw new S3Error('BadRequest', { message: 'Invalid Access-Control-Request-Method header: none given.' });
    const cfg = await this.get(bucket);
    if (!cfg) throw new S3Error('AccessForbidden', { message: 'CORSResponse: CORS is not enabled for this bucket.' });
    const wanted = requestedHeaders(headers);
    const m = matchCors(cfg, { origin, method, headers: wanted });
    if (!m) throw new S3Error('AccessForbidden');
    const h = allowHeaders(m, origin, { headers: wanted });
    const vary = varyOf(cfg, true);
    if (vary !== undefined) h.Vary = vary;
    return h;
  }

  async delete(bucket: string): Promise<void> {
    await this.driver.putBucketConfig(bucket, NAME, undefined);
  }
}
