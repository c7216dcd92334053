/**
 * @module auth/sigv4
 * AWS Signature Version 4 for S3, in the Authorization header and in presigned URLs
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
 * .../sigv4-query-string-auth.html). The region in the credential scope is taken as the client
 * signed it: Osprey does not pin a region; the service must be s3.
 *
 * Canonical URI: S3 neither normalises the path nor encodes it twice, so the path is used exactly
 * as sent. Clients that leave some bytes raw ('$', '+', unicode) or use lower-case escapes signed
 * the AWS encoding of the decoded path instead, so that is tried second: a request verifies if
 * EITHER matches. Both candidates denote the same decoded key, so accepting either widens nothing.
 */
import { S3Error } from '../errors.js';
import { canonicalQuery, hmac, headerValue, queryPairs, safeEqual, sha256Hex, uriEncode, lenientDecode } from './encoding.js';
import type { AuthInput, AuthResult, ChunkSigning, KeyStore, PayloadPlan } from './types.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_EXPIRES = 604800;
/** The only service Osprey answers for; the region is taken as signed (Osprey pins none). */
const SERVICE = 's3';

function wrongService(service: string): string {
  return `The credential is scoped to the wrong service "${service.slice(0, 40)}"; this endpoint belongs to "${SERVICE}".`;
}

const keyCache = new Map<string, Buffer>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\0${date}\0${region}\0${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** "20130524T000000Z" -> Date, or undefined when malformed. */
export function parseAmzDate(s: string | undefined): Date | undefined {
  const m = s && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function toAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(s: string, malformed: () => S3Error): Credential {
  const parts = s.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) throw malformed();
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  return { accessKeyId, date, region, service };
}

/** The candidate canonical URIs: the path exactly as sent, then each segment decoded and re-encoded the AWS way. */
function canonicalUris(rawPath: string): string[] {
  const reencoded = rawPath
    .split('/')
    .map((seg) => uriEncode(lenientDecode(seg), false))
    .join('/');
  return reencoded === rawPath ? [rawPath] : [rawPath, reencoded];
}

function canonicalQueryOf(rawQuery: string, skip?: string): string {
  return canonicalQuery(queryPairs(rawQuery).filter(([k]) => k !== skip));
}

function canonicalHeaders(input: AuthInput, signed: string[]): string {
  return signed
    .map((name) => {
      const v = headerValue(input.headers, name);
      if (v === undefined) throw new S3Error('AccessDenied', { message: `The header '${name}' is named in SignedHeaders but missing.` });
      // SigV4 "trimall": ASCII spaces and tabs only, as AWS's signers do. A header's octets arrive
      // as latin1 characters, and JS's \s also matches U+00A0: the octet 0xA0 of a UTF-8 value
      // ('à' C3 A0, '報' E5 A0 B1) was collapsed into a space and the request refused.
      return `${name}:${v.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ')}\n`;
    })
    .join('');
}

function splitUrl(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}

/**
 * The signature for one candidate canonical URI (the verifier and Osprey's own CLI client both use it).
 * `octets`: hash the canonical request as the octets that arrived (Node gives header values as
 * latin1 characters, one per octet): what botocore and the AWS CLI sign, and send, for a UTF-8
 * header value. Otherwise its characters are hashed as UTF-8: what the AWS SDK for JavaScript
 * signs for a latin1 value ('é' sent as the octet E9 but signed as C3 A9).
 */
function signatureFor(
  input: AuthInput,
  key: Buffer,
  scope: string,
  amzDate: string,
  signedHeaders: string[],
  payloadHash: string,
  uri: string,
  skipQuery?: string,
  octets = false,
): string {
  const canonical = [
    input.method,
    uri,
    canonicalQueryOf(splitUrl(input.url).query, skipQuery),
    canonicalHeaders(input, signedHeaders),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(octets ? Buffer.from(canonical, 'latin1') : canonical)].join('\n');
  return hmac(key, stringToSign).toString('hex');
}

/** Does a signed header carry a non-ASCII octet (then the two ways of hashing it differ)? */
function nonAsciiSigned(input: AuthInput, signedHeaders: string[]): boolean {
  return signedHeaders.some((name) => /[\u0080-\u00ff]/.test(headerValue(input.headers, name) ?? ''));
}

function checkSignature(
  input: AuthInput,
  cred: Credential,
  secret: string,
  amzDate: string,
  signedHeaders: string[],
  payloadHash: string,
  signature: string,
  skipQuery?: string,
): Buffer {
  const key = signingKey(secret, cred.date, cred.region, cred.service);
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  const both = nonAsciiSigned(input, signedHeaders);
  for (const uri of canonicalUris(splitUrl(input.url).path)) {
    if (safeEqual(signatureFor(input, key, scope, amzDate, signedHeaders, payloadHash, uri, skipQuery), signature)) return key;
    if (both && safeEqual(signatureFor(input, key, scope, amzDate, signedHeaders, payloadHash, uri, skipQuery, true), signature))
      return key;
  }
  throw new S3Error('SignatureDoesNotMatch');
}

/**
 * Sign a request of Osprey's own (the CLI talking to a server): returns the headers to add.
 * `headers` must hold host; the body's SHA-256 is given as `payloadHash`.
 */
export function signRequestV4(
  req: { method: string; url: string; headers: Record<string, string> },
  creds: { accessKeyId: string; secretAccessKey: string },
  payloadHash: string,
  now = new Date(),
  region = 'us-east-1',
): Record<string, string> {
  const amzDate = toAmzDate(now);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...req.headers, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const signed = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const scope = `${date}/${region}/s3/aws4_request`;
  const key = signingKey(creds.secretAccessKey, date, region, 's3');
  const uri = canonicalUris(splitUrl(req.url).path).at(-1) ?? '/';
  const sig = signatureFor({ method: req.method, url: req.url, headers: lower, now }, key, scope, amzDate, signed, payloadHash, uri);
  return {
    ...headers,
    authorization: `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`,
  };
}

/**
 * The body plan named by x-amz-content-sha256 (sig-v4-header-based-auth.html, "x-amz-content-sha256"
 * values). `signing` is what chunk signatures chain from; without it (anonymous) a signed stream
 * cannot be verified and is refused.
 */
export function payloadPlanFor(hash: string | undefined, signing?: ChunkSigning): PayloadPlan {
  switch (hash) {
    case undefined:
      return { kind: 'none' };
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      if (!signing) throw new S3Error('AccessDenied', { message: `${hash} needs a request signed with AWS4-HMAC-SHA256.` });
      return { kind: 'aws-chunked-signed', signing, trailer: hash.endsWith('-TRAILER') };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'aws-chunked-unsigned-trailer' };
    default:
      if (/^[0-9a-f]{64}$/.test(hash)) return { kind: 'sha256', expected: hash };
      throw new S3Error('InvalidArgument', {
        message: `x-amz-content-sha256 must be a hex SHA-256 or a known keyword, not '${hash.slice(0, 80)}'.`,
      });
  }
}

/** Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=… */
export function verifyHeaderV4(input: AuthInput, authorization: string, keys: KeyStore): AuthResult {
  const malformed = () =>
    new S3Error('AuthorizationHeaderMalformed', {
      message: 'The authorization header is malformed; expected Credential, SignedHeaders and Signature.',
    });
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) throw malformed();
  const cred = parseCredential(credential, malformed);
  // AWS answers a scope for another service with AuthorizationHeaderMalformed ("incorrect service").
  if (cred.service !== SERVICE) throw new S3Error('AuthorizationHeaderMalformed', { message: wrongService(cred.service) });
  const secret = keys.secretFor(cred.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  const amzDate = headerValue(input.headers, 'x-amz-date') ?? '';
  const date = parseAmzDate(amzDate) ?? parseHttpDate(headerValue(input.headers, 'date'));
  if (!date) throw new S3Error('AccessDenied', { message: 'AWS authentication requires a valid Date or x-amz-date header.' });
  if (Math.abs(input.now.getTime() - date.getTime()) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
  const stamp = amzDate || toAmzDate(date);
  if (stamp.slice(0, 8) !== cred.date) throw malformed();
  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw new S3Error('AccessDenied', { message: 'The host header must be signed.' });
  const payloadHash = headerValue(input.headers, 'x-amz-content-sha256');
  const key = checkSignature(input, cred, secret, stamp, names, payloadHash ?? sha256Hex(''), signature);
  // S3 requires the header with header auth; checked after the signature, as AWS does.
  if (payloadHash === undefined)
    throw new S3Error('InvalidRequest', { message: 'Missing required header for this request: x-amz-content-sha256' });
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  return {
    principal: { kind: 'owner', accessKeyId: cred.accessKeyId },
    dialect: 's3',
    payload: payloadPlanFor(payloadHash, { signingKey: key, amzDate: stamp, scope, seedSignature: signature }),
  };
}

function parseHttpDate(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Presigned URL: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature. */
export function verifyPresignedV4(input: AuthInput, q: Map<string, string>, keys: KeyStore): AuthResult {
  const bad = (what: string) => new S3Error('AuthorizationQueryParametersError', { message: `Query-string authentication: ${what}.` });
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw bad(`X-Amz-Algorithm must be ${ALGORITHM}`);
  const credential = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const expires = q.get('X-Amz-Expires');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!credential || !amzDate || !expires || !signedHeaders || !signature)
    throw bad('X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature are required');
  const cred = parseCredential(credential, () => bad('X-Amz-Credential is malformed'));
  if (cred.service !== SERVICE) throw new S3Error('AuthorizationQueryParametersError', { message: wrongService(cred.service) });
  const date = parseAmzDate(amzDate);
  if (!date || amzDate.slice(0, 8) !== cred.date) throw bad('X-Amz-Date is malformed');
  if (!/^-?\d+$/.test(expires)) throw bad('X-Amz-Expires must be a whole number of seconds');
  // a number out of range is refused as S3 and RGW refuse it: 403 (not the 400 of a malformed URL)
  if (Number(expires) < 1 || Number(expires) > MAX_EXPIRES)
    throw new S3Error('AccessDenied', { message: `X-Amz-Expires must be between 1 and ${MAX_EXPIRES} seconds.` });
  const secret = keys.secretFor(cred.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  if (input.now.getTime() > date.getTime() + Number(expires) * 1000) throw new S3Error('AccessDenied', { message: 'Request has expired' });
  if (date.getTime() - input.now.getTime() > MAX_SKEW_MS) throw new S3Error('AccessDenied', { message: 'Request is not valid yet' });
  // A payload hash signed into the URL (X-Amz-Content-Sha256) binds the body too.
  const payloadHash = q.get('X-Amz-Content-Sha256') ?? headerValue(input.headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const key = checkSignature(
    input,
    cred,
    secret,
    amzDate,
    signedHeaders.split(';'),
    q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
    signature,
    'X-Amz-Signature',
  );
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  return {
    principal: { kind: 'owner', accessKeyId: cred.accessKeyId },
    dialect: 's3',
    payload: payloadPlanFor(payloadHash, { signingKey: key, amzDate, scope, seedSignature: signature }),
  };
}
