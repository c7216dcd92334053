/**
 * @module rules/schema
 * The WebsiteConfiguration element tree of spec §1.2 as ONE typed schema, and the generic walkers
 * that read it from parsed XML (PUT), write it back in canonical order (GET, §1.6) and narrow
 * stored JSON (fromStored). The model types in rules.ts are inferred from it, so a field cannot be
 * parsed, stored or echoed without being declared here (XML-02: this is the allow-list).
 */
import { S3Error } from '../errors.js';
import type { XmlNode } from '../codec/xml.js';

export type Scalar = 'string' | 'bool' | 'int';
export interface NodeSchema {
  readonly fields: Readonly<Record<string, Field>>;
}
export interface Field {
  readonly type: Scalar | NodeSchema;
  readonly repeated?: boolean;
  /** also part of AWS's S3 schema (§7.1); every other element makes a document OSS dialect (XML-05) */
  readonly s3?: boolean;
}

/** The model type a schema describes: every element optional, repeated ones as arrays. */
export type Infer<T> = T extends 'string'
  ? string
  : T extends 'bool'
    ? boolean
    : T extends 'int'
      ? number
      : T extends { readonly fields: infer Fs }
        ? { -readonly [K in keyof Fs]?: FieldValue<Fs[K]> }
        : never;
type FieldValue<F> = F extends { readonly type: infer T; readonly repeated: true }
  ? Infer<T>[]
  : F extends { readonly type: infer T }
    ? Infer<T>
    : never;

const str = { type: 'string' } as const;
const bool = { type: 'bool' } as const;
const int = { type: 'int' } as const;
const S3 = { s3: true } as const;
const node = <F extends Readonly<Record<string, Field>>>(fields: F) => ({ type: { fields } }) as const;
const list = <F extends Field>(f: F) => ({ ...f, repeated: true }) as const;
const keyValue = { Key: str, Value: str } as const;

export const CONDITION = node({
  KeyPrefixEquals: { ...str, ...S3 },
  KeySuffixEquals: str,
  HttpErrorCodeReturnedEquals: { ...int, ...S3 },
  IncludeHeader: list(node({ Key: str, Equals: str, StartsWith: str, EndsWith: str })),
});

// Order = GET output order (§1.6): the OSS PutBucketWebsite table (S3) — RedirectType, the mirror
// fields, then Protocol, HostName, ReplaceKeyPrefixWith, EnableReplacePrefix, ReplaceKeyWith,
// HttpRedirectCode, whose S3 subset is also AWS's order — with the v2 SDK fields (S14) in between.
export const REDIRECT = node({
  RedirectType: str,
  PassQueryString: bool,
  MirrorURL: str,
  MirrorURLSlave: str,
  MirrorURLProbe: str,
  MirrorMultiAlternates: node({
    MirrorMultiAlternate: list(
      node({
        MirrorMultiAlternateNumber: int,
        MirrorMultiAlternateURL: str,
        MirrorMultiAlternateVpcId: str,
        MirrorMultiAlternateDstRegion: str,
      }),
    ),
  }),
  MirrorPassQueryString: bool,
  MirrorFollowRedirect: bool,
  MirrorCheckMd5: bool,
  MirrorPassOriginalSlashes: bool,
  MirrorHeaders: node({ PassAll: bool, Pass: list(str), Remove: list(str), Set: list(node(keyValue)) }),
  MirrorSNI: bool,
  MirrorSwitchAllErrors: bool,
  MirrorAsyncStatus: int,
  MirrorProxyPass: bool,
  MirrorSaveOssMeta: bool,
  MirrorUserLastModified: bool,
  MirrorAllowHeadObject: bool,
  MirrorAllowGetImageInfo: bool,
  MirrorAllowVideoSnapshot: bool,
  MirrorReturnHeaders: node({ ReturnHeader: list(node(keyValue)) }),
  MirrorTaggings: node({ Taggings: list(node(keyValue)) }),
  MirrorAuth: node({ AccessKeyId: str, AccessKeySecret: str, AuthType: str, Region: str }),
  MirrorUsingRole: bool,
  MirrorRole: str,
  MirrorDstRegion: str,
  MirrorDstVpcId: str,
  MirrorDstSlaveVpcId: str,
  MirrorTunnelId: str,
  MirrorIsExpressTunnel: bool,
  TransparentMirrorResponseCodes: str,
  Protocol: { ...str, ...S3 },
  HostName: { ...str, ...S3 },
  ReplaceKeyPrefixWith: { ...str, ...S3 },
  EnableReplacePrefix: bool,
  ReplaceKeyWith: { ...str, ...S3 },
  HttpRedirectCode: { ...int, ...S3 },
});

export const ROUTING_RULE = list(
  node({
    RuleNumber: int,
    Condition: { ...CONDITION, ...S3 },
    Redirect: { ...REDIRECT, ...S3 },
    LuaConfig: node({ Script: str }),
  }),
);

export const WEBSITE = node({
  IndexDocument: { ...node({ Suffix: { ...str, ...S3 }, SupportSubDir: bool, Type: int }), ...S3 },
  ErrorDocument: { ...node({ Key: { ...str, ...S3 }, HttpStatus: int }), ...S3 },
  RoutingRules: { ...node({ RoutingRule: { ...ROUTING_RULE, ...S3 } }), ...S3 },
  // S3's, and also in the OSS Go SDK v1 (WebsiteAllRequestTo)
  RedirectAllRequestsTo: { ...node({ HostName: { ...str, ...S3 }, Protocol: { ...str, ...S3 } }), ...S3 },
});

export type RawWebsite = Infer<typeof WEBSITE.type>;

/** VAL-05: the four redirect types (S15 comment, S16 constants). */
export type RedirectType = 'Mirror' | 'External' | 'Internal' | 'AliCDN';
export const REDIRECT_TYPES: readonly RedirectType[] = ['Mirror', 'External', 'Internal', 'AliCDN'];

export function isRedirectType(v: unknown): v is RedirectType {
  return typeof v === 'string' && (REDIRECT_TYPES as readonly string[]).includes(v);
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedXML', { message });
}

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', { message });
}

function scalarFromText(type: Scalar, raw: string, where: string): string | boolean | number {
  if (type === 'string') return raw;
  const t = raw.trim();
  if (type === 'bool') {
    // ali-oss sends the strings 'true'/'false'; Java's Boolean.valueOf accepts any case
    if (/^true$/i.test(t)) return true;
    if (/^false$/i.test(t)) return false;
    throw invalid(`${where} must be true or false, not '${raw}'.`);
  }
  const v = Number(t);
  if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(v)) throw invalid(`${where} must be a whole number, not '${raw}'.`);
  return v;
}

/**
 * Parsed XML (codec/xml parseXml) -> plain values per `schema`. Unknown elements, stray text and
 * repeated singletons are MalformedXML (XML-02); bad booleans/integers are InvalidArgument.
 */
export function readXml<S extends NodeSchema>(xml: XmlNode | undefined, schema: S, where: string): Infer<S> {
  return readXmlNode(xml, schema, where) as Infer<S>;
}

function readXmlNode(xml: XmlNode | undefined, schema: NodeSchema, where: string): Record<string, unknown> {
  // <Condition/> and <Condition></Condition> parse as '' (Go SDK v1 always sends empty containers)
  if (xml === undefined || (typeof xml === 'string' && xml.trim() === '')) return {};
  if (typeof xml === 'string') throw malformed(`<${leaf(where)}> must contain elements, not the text '${xml.trim().slice(0, 40)}'.`);
  if (Array.isArray(xml)) throw malformed(`<${leaf(where)}> may appear only once.`);
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(xml)) {
    if (name === '#text') {
      // whitespace between the elements of a pretty-printed document is fine, other text is not
      if (typeof raw === 'string' && raw.trim() === '') continue;
      throw malformed(`Unexpected text in <${leaf(where)}>.`);
    }
    const field = schema.fields[name];
    if (!field) throw malformed(`Unknown element <${name}> in ${where}.`);
    const items = Array.isArray(raw) ? raw : [raw];
    if (field.repeated !== true && items.length > 1) throw malformed(`<${name}> may appear only once in ${where}.`);
    const values = items.map((item, i) => {
      const at = field.repeated === true ? `${where}/${name}[${i + 1}]` : `${where}/${name}`;
      if (typeof field.type !== 'string') return readXmlNode(item, field.type, at);
      if (typeof item !== 'string') throw malformed(`<${name}> in ${where} must be text, not elements.`);
      return scalarFromText(field.type, item, at);
    });
    out[name] = field.repeated === true ? values : values[0];
  }
  return out;
}

function leaf(where: string): string {
  return (where.split('/').pop() ?? where).replace(/\[\d+\]$/, '');
}

/** Model value -> an object for codec/xml buildXml, elements in schema order (GET canonical form). */
export function writeXml(value: unknown, schema: NodeSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value === null || typeof value !== 'object') return out;
  const obj = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(schema.fields)) {
    const v = obj[name];
    if (v === undefined) continue;
    const one = (x: unknown): unknown => (typeof field.type === 'string' ? String(x) : writeXml(x, field.type));
    out[name] = Array.isArray(v) ? v.map(one) : one(v);
  }
  return out;
}

/** Stored JSON -> values, checked against the schema (a corrupt store fails loudly, never half-typed). */
export function readJson<S extends NodeSchema>(value: unknown, schema: S, where: string): Infer<S> {
  return readJsonNode(value, schema, where) as Infer<S>;
}

function readJsonNode(value: unknown, schema: NodeSchema, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`stored website configuration: ${where} is not an object`);
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const field = schema.fields[name];
    if (!field) throw new Error(`stored website configuration: unknown field ${where}/${name}`);
    if (v === undefined) continue;
    const one = (x: unknown, at: string): unknown => {
      if (typeof field.type !== 'string') return readJsonNode(x, field.type, at);
      const want = field.type === 'string' ? 'string' : field.type === 'bool' ? 'boolean' : 'number';
      if (typeof x !== want || (want === 'number' && !Number.isSafeInteger(x)))
        throw new Error(`stored website configuration: ${at} is not a ${field.type}`);
      return x;
    };
    if (field.repeated === true) {
      if (!Array.isArray(v)) throw new Error(`stored website configuration: ${where}/${name} is not a list`);
      out[name] = v.map((x, i) => one(x, `${where}/${name}[${i + 1}]`));
    } else {
      out[name] = one(v, `${where}/${name}`);
    }
  }
  return out;
}

/** XML-05: the first element present that AWS's schema does not have (it makes the document OSS dialect). */
export function firstOssOnlyElement(value: unknown, schema: NodeSchema, where: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [name, v] of Object.entries(value)) {
    const field = schema.fields[name];
    if (!field || v === undefined) continue;
    if (field.s3 !== true) return `${where}/${name}`;
    if (typeof field.type === 'string') continue;
    for (const item of Array.isArray(v) ? v : [v]) {
      const found = firstOssOnlyElement(item, field.type, `${where}/${name}`);
      if (found) return found;
    }
  }
  return undefined;
}
