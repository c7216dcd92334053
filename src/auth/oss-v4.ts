/**
 * @module auth/oss-v4
 * OSS signature V4 (OSS4-HMAC-SHA256), in the Authorization header and in presigned URLs
 * (OSS docs "Include a V4 signature in the header", "V4 signatures in presigned URLs"; checked
 * against ali-oss 6.23 lib/common/signUtils.js). A SigV4-like scheme: the signing key chain starts
 * from "aliyun_v4" + secret and ends in "aliyun_v4_request"; the canonical request is
 *   VERB \n /bucket/key (URI-encoded, '/' kept) \n sorted query \n canonical headers \n
 *   AdditionalHeaders \n x-oss-content-sha256 (or UNSIGNED-PAYLOAD)
 * where the canonical headers are content-type, content-md5, every x-oss-* header and the
 * AdditionalHeaders the client lists. The URI is /bucket/key whatever the Host says.
 */
import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.js';
import { headerValue, queryPairs, safeEqual, sha256Hex } from './encoding.js';
import { OSS_SUB_RESOURCES } from './oss-v1.js';
import type { AuthInput, AuthResult, KeyStore } from './types.js';

const ALGORITHM = 'OSS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
/** x-oss-expires is 1..604800 seconds (OSS error 0002-00000232). */
const MAX_EXPIRES = 604800;
const PRODUCT = 'oss';

/** encodeURIComponent plus !'()* — RFC 3986, as ali-oss's encodeString. */
function ossEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const keyCache = new Map<string, Buffer>();

function signingKey(secret: string, day: string, region: string, product: string): Buffer {
  const id = `${secret}\0${day}\0${region}\0${product}`;
  let key = keyCache.get(id);
  if (!key) {
    const h = (k: string | Buffer, data: string) => createHmac('sha256', k).update(data, 'utf8').digest();
    key = h(h(h(h(`aliyun_v4${secret}`, day), region), product), 'aliyun_v4_request');
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

type EmptyStyle = 'bare' | 'equals' | 'subresources-bare';

/**
 * The canonical query. A parameter with an empty value arrives as "k=" whatever the client
 * meant, but ali-oss signs a sub-resource (null) as "k" and a query parameter ('') as "k=";
 * other SDKs sign all of them one way. Each style is a candidate; any may match.
 */
function canonicalQuery(pairs: [string, string][], style: EmptyStyle, skip: string | undefined): string {
  return pairs
    .filter(([k]) => k !== skip)
    .map(([k, v]) => {
      const bare = v === '' && (style === 'bare' || (style === 'subresources-bare' && OSS_SUB_RESOURCES.has(k)));
      return [ossEncode(k), bare ? undefined : ossEncode(v)] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : (av ?? '') < (bv ?? '') ? -1 : (av ?? '') > (bv ?? '') ? 1 : 0))
    .map(([k, v]) => (v === undefined ? k : `${k}=${v}`))
    .join('&');
}

interface V4Claim {
  accessKeyId: string;
  day: string;
  region: string;
  product: string;
  /** ISO 8601 basic timestamp (x-oss-date) */
  stamp: string;
  additional: string[];
  signature: string;
  /** the query parameter holding the signature, left out of the canonical query */
  skipQuery?: string;
}

function parseCredential(value: string | undefined, bad: (why: string) => S3Error): Omit<V4Claim, 'stamp' | 'additional' | 'signature'> {
  const parts = (value ?? '').split('/');
  if (parts.length !== 5 || parts[4] !== 'aliyun_v4_request' || !/^\d{8}$/.test(parts[1] ?? '') || !parts[0])
    throw bad('the credential must be AccessKeyId/yyyymmdd/region/oss/aliyun_v4_request');
  const [accessKeyId = '', day = '', region = '', product = ''] = parts;
  if (product !== PRODUCT) throw bad(`the credential is scoped to "${product.slice(0, 40)}", not "${PRODUCT}"`);
  return { accessKeyId, day, region, product };
}

function parseStamp(stamp: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp ?? '');
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : t;
}

/** The canonical headers (content-type, content-md5, every x-oss-* header, plus `additional`) and the URI /bucket/key. */
function canonicalParts(input: AuthInput, additional: string[]): { canonicalHeaders: string; uri: string } {
  const names = new Set(additional);
  for (const k of Object.keys(input.headers)) {
    const n = k.toLowerCase();
    if (n === 'content-type' || n === 'content-md5' || n.startsWith('x-oss-')) names.add(n);
  }
  const canonicalHeaders = [...names]
    .sort()
    .map((n) => {
      const v = headerValue(input.headers, n);
      if (v === undefined) throw new S3Error('AccessDenied', { message: `The header '${n}' is named in AdditionalHeaders but missing.` });
      return `${n}:${v.trim()}\n`;
    })
    .join('');
  let path = '/';
  if (input.bucket !== undefined) path += `${input.bucket}/`;
  if (input.key !== undefined) path += input.key;
  return { canonicalHeaders, uri: ossEncode(path).replace(/%2F/g, '/') };
}

/** One signature: canonical request -> string to sign -> HMAC with the day's signing key (verifier and signer). */
function signatureFor(
  method: string,
  parts: { canonicalHeaders: string; uri: string },
  query: string,
  additional: string[],
  payload: string,
  key: Buffer,
  stamp: string,
  scope: string,
): string {
  const canonical = [method, parts.uri, query, parts.canonicalHeaders, additional.join(';'), payload].join('\n');
  const stringToSign = [ALGORITHM, stamp, scope, sha256Hex(canonical)].join('\n');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Recompute the signature for every canonical-query candidate; throw unless one matches. */
function check(input: AuthInput, claim: V4Claim, secret: string): AuthResult {
  const parts = canonicalParts(input, claim.additional);
  const payload = headerValue(input.headers, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const key = signingKey(secret, claim.day, claim.region, claim.product);
  const scope = `${claim.day}/${claim.region}/${claim.product}/aliyun_v4_request`;
  const qi = input.url.indexOf('?');
  const pairs = queryPairs(qi < 0 ? '' : input.url.slice(qi + 1));
  const queries = new Set((['subresources-bare', 'bare', 'equals'] as const).map((style) => canonicalQuery(pairs, style, claim.skipQuery)));
  for (const query of queries) {
    if (safeEqual(signatureFor(input.method, parts, query, claim.additional, payload, key, claim.stamp, scope), claim.signature)) {
      return {
        principal: { kind: 'owner', accessKeyId: claim.accessKeyId },
        dialect: 'oss',
        payload: /^[0-9a-f]{64}$/.test(payload)
          ? { kind: 'sha256', expected: payload }
          : payload === 'UNSIGNED-PAYLOAD'
            ? { kind: 'unsigned' }
            : { kind: 'none' },
      };
    }
  }
  throw new S3Error('SignatureDoesNotMatch');
}

/**
 * Sign a request of Osprey's own with OSS V4 (a mirror fetch from a private OSS-compatible origin,
 * MIR-15), with the verifier's canonical request: x-oss-date and x-oss-content-sha256
 * (UNSIGNED-PAYLOAD) are added, no AdditionalHeaders. `bucket`/`key` (decoded) make the URI.
 */
export function signRequestOssV4(
  req: { method: string; url: string; headers: Record<string, string>; bucket?: string; key?: string },
  creds: { accessKeyId: string; secretAccessKey: string },
  region: string,
  now = new Date(),
): Record<string, string> {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = stamp.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers['x-oss-date'] = stamp;
  headers['x-oss-content-sha256'] = 'UNSIGNED-PAYLOAD';
  const input: AuthInput = {
    method: req.method,
    url: req.url,
    headers,
    now,
    ...(req.bucket !== undefined && { bucket: req.bucket }),
    ...(req.key !== undefined && { key: req.key }),
  };
  const qi = req.url.indexOf('?');
  // an empty value is written as the bare name ("k"), as Alibaba's SDKs sign (the verifier accepts both)
  const query = canonicalQuery(queryPairs(qi < 0 ? '' : req.url.slice(qi + 1)), 'bare', undefined);
  const scope = `${day}/${region}/${PRODUCT}/aliyun_v4_request`;
  const sig = signatureFor(
    req.method,
    canonicalParts(input, []),
    query,
    [],
    'UNSIGNED-PAYLOAD',
    signingKey(creds.secretAccessKey, day, region, PRODUCT),
    stamp,
    scope,
  );
  return { ...headers, authorization: `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, Signature=${sig}` };
}

function additionalList(v: string | undefined): string[] {
  return [
    ...new Set(
      (v ?? '')
        .split(';')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  ].sort();
}

/** Authorization: OSS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/oss/aliyun_v4_request, AdditionalHeaders=h1;h2, Signature=hex */
export function verifyOssV4Header(input: AuthInput, authorization: string, keys: KeyStore): AuthResult {
  const malformed = (why = 'expected Credential, optional AdditionalHeaders, and Signature') =>
    new S3Error('AuthorizationHeaderMalformed', { message: `The OSS4-HMAC-SHA256 authorization header is malformed: ${why}.` });
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const cred = parseCredential(fields.get('Credential'), malformed);
  const signature = fields.get('Signature');
  if (!signature) throw malformed();
  const secret = keys.secretFor(cred.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  const stamp = headerValue(input.headers, 'x-oss-date') ?? '';
  const when = parseStamp(stamp);
  if (when === undefined || stamp.slice(0, 8) !== cred.day) {
    throw new S3Error('AccessDenied', {
      message: 'OSS V4 authentication requires an x-oss-date header (yyyymmddTHHMMSSZ) on the day of the credential.',
    });
  }
  if (Math.abs(input.now.getTime() - when) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
  return check(input, { ...cred, stamp, additional: additionalList(fields.get('AdditionalHeaders')), signature }, secret);
}

/** ?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=…&x-oss-date=…&x-oss-expires=…[&x-oss-additional-headers=…]&x-oss-signature=… */
export function verifyOssV4Query(input: AuthInput, q: Map<string, string>, keys: KeyStore): AuthResult {
  const bad = (why: string) => new S3Error('AuthorizationQueryParametersError', { message: `OSS V4 signed URL: ${why}.` });
  if (q.get('x-oss-signature-version') !== ALGORITHM) throw bad(`x-oss-signature-version must be ${ALGORITHM}`);
  const cred = parseCredential(q.get('x-oss-credential'), bad);
  const stamp = q.get('x-oss-date') ?? '';
  const when = parseStamp(stamp);
  if (when === undefined || stamp.slice(0, 8) !== cred.day) throw bad('x-oss-date must be yyyymmddTHHMMSSZ on the day of the credential');
  const expires = q.get('x-oss-expires') ?? '';
  if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_EXPIRES)
    throw bad(`x-oss-expires must be between 1 and ${MAX_EXPIRES} seconds`);
  const signature = q.get('x-oss-signature');
  if (!signature) throw bad('x-oss-signature is required');
  const secret = keys.secretFor(cred.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  const now = input.now.getTime();
  if (now > when + Number(expires) * 1000) throw new S3Error('AccessDenied', { message: 'Request has expired' });
  if (when - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', { message: 'Request is not valid yet' });
  const additional = additionalList(q.get('x-oss-additional-headers'));
  return check(input, { ...cred, stamp, additional, signature, skipQuery: 'x-oss-signature' }, secret);
}
