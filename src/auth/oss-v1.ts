/**
 * @module auth/oss-v1
 * OSS signature V1 (HMAC-SHA1), in the Authorization header (`OSS AccessKeyId:Signature`) and
 * in signed URLs (`OSSAccessKeyId`, `Expires`, `Signature`). String to sign:
 *   VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource
 * where Date is the Date header, or x-oss-date when the client sends only that (ali-oss), or the
 * Expires value for URLs; the resource is /bucket/key (decoded) plus the signed sub-resources.
 */
import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.js';
import { headerValue, queryPairs, safeEqual } from './encoding.js';
import type { AuthInput, AuthResult, KeyStore, PayloadPlan } from './types.js';

const MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * The query parameters OSS V1 signs as sub-resources (OSS docs "Include a V1 signature in the
 * header", CanonicalizedResource; plus what ali-oss's signatureUrl adds, x-oss-traffic-limit).
 * Other query parameters (prefix, marker, max-keys…) are not signed by V1.
 */
export const OSS_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'uploads',
  'location',
  'cors',
  'logging',
  'website',
  'referer',
  'lifecycle',
  'delete',
  'append',
  'tagging',
  'objectMeta',
  'uploadId',
  'partNumber',
  'security-token',
  'position',
  'img',
  'style',
  'styleName',
  'replication',
  'replicationProgress',
  'replicationLocation',
  'cname',
  'bucketInfo',
  'comp',
  'qos',
  'live',
  'status',
  'vod',
  'startTime',
  'endTime',
  'symlink',
  'x-oss-process',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'udf',
  'udfName',
  'udfImage',
  'udfId',
  'udfImageDesc',
  'udfApplication',
  'udfApplicationLog',
  'restore',
  'callback',
  'callback-var',
  'qosInfo',
  'policy',
  'stat',
  'encryption',
  'versions',
  'versioning',
  'versionId',
  'requestPayment',
  'x-oss-request-payer',
  'sequential',
  'inventory',
  'inventoryId',
  'continuation-token',
  'asyncFetch',
  'worm',
  'wormId',
  'wormExtend',
  'withHashContext',
  'x-oss-enable-md5',
  'x-oss-enable-sha1',
  'x-oss-enable-sha256',
  'x-oss-hash-ctx',
  'x-oss-md5-ctx',
  'transferAcceleration',
  'regionList',
  'cloudboxes',
  'metaQuery',
  'resourceGroup',
  'rtc',
  'x-oss-async-process',
  'responseHeader',
  'x-oss-traffic-limit',
]);

function canonicalResource(input: AuthInput): string {
  let resource = '/';
  if (input.bucket !== undefined) resource += `${input.bucket}/`;
  if (input.key !== undefined) resource += input.key;
  const qi = input.url.indexOf('?');
  const subs = queryPairs(qi < 0 ? '' : input.url.slice(qi + 1))
    .filter(([k]) => OSS_SUB_RESOURCES.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  return subs.length > 0 ? `${resource}?${subs.join('&')}` : resource;
}

function canonicalOssHeaders(input: AuthInput): string {
  return Object.keys(input.headers)
    .map((k) => k.toLowerCase())
    .filter((k) => k.startsWith('x-oss-'))
    .sort()
    .map((k) => `${k}:${(headerValue(input.headers, k) ?? '').trim()}\n`)
    .join('');
}

function sign(secret: string, input: AuthInput, date: string): string {
  const stringToSign = [
    input.method,
    headerValue(input.headers, 'content-md5') ?? '',
    headerValue(input.headers, 'content-type') ?? '',
    date,
    canonicalOssHeaders(input) + canonicalResource(input),
  ].join('\n');
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
}

/**
 * Sign a request of Osprey's own with OSS V1 (a mirror fetch from a private OSS-compatible origin,
 * MIR-15): the verifier's own string to sign, over the Date this returns. `bucket`/`key` (decoded)
 * make the canonical resource, as the origin's router will see them. Returns the headers to send.
 */
export function signRequestOssV1(
  req: { method: string; url: string; headers: Record<string, string>; bucket?: string; key?: string },
  creds: { accessKeyId: string; secretAccessKey: string },
  now = new Date(),
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers.date = now.toUTCString();
  const input: AuthInput = {
    method: req.method,
    url: req.url,
    headers,
    now,
    ...(req.bucket !== undefined && { bucket: req.bucket }),
    ...(req.key !== undefined && { key: req.key }),
  };
  return { ...headers, authorization: `OSS ${creds.accessKeyId}:${sign(creds.secretAccessKey, input, headers.date)}` };
}

/** V1 signs no content hash (Content-MD5, when sent, is checked by the HTTP layer). */
const NO_PAYLOAD_CLAIM: PayloadPlan = { kind: 'none' };

/** Authorization: OSS AccessKeyId:Signature */
export function verifyOssV1Header(input: AuthInput, authorization: string, keys: KeyStore): AuthResult {
  const m = /^OSS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m?.[1] || !m[2])
    throw new S3Error('AuthorizationHeaderMalformed', { message: 'The OSS authorization header must be "OSS AccessKeyId:Signature".' });
  const secret = keys.secretFor(m[1]);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  // The Date line is the Date header; ali-oss (which cannot set Date in browsers) sends only
  // x-oss-date and puts that on the line. With both present either may have been used: both are
  // tried. The request time is x-oss-date when present, as it is what the client chose to sign.
  const date = headerValue(input.headers, 'date');
  const ossDate = headerValue(input.headers, 'x-oss-date');
  const stamp = ossDate ?? date;
  const when = stamp === undefined ? NaN : new Date(stamp).getTime();
  if (stamp === undefined || Number.isNaN(when))
    throw new S3Error('AccessDenied', { message: 'OSS authentication requires a valid Date or x-oss-date header.' });
  if (Math.abs(input.now.getTime() - when) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
  const lines = [...new Set([date, ossDate].filter((d): d is string => d !== undefined))];
  // every candidate is computed, so the time taken does not tell which one matched
  const matches = lines.map((line) => safeEqual(sign(secret, input, line), m[2]!));
  if (!matches.includes(true)) throw new S3Error('SignatureDoesNotMatch');
  return { principal: { kind: 'owner', accessKeyId: m[1] }, dialect: 'oss', payload: NO_PAYLOAD_CLAIM };
}

/** ?OSSAccessKeyId=…&Expires=…&Signature=… */
export function verifyOssV1Url(input: AuthInput, q: Map<string, string>, keys: KeyStore): AuthResult {
  const id = q.get('OSSAccessKeyId') ?? '';
  const expires = q.get('Expires') ?? '';
  const signature = q.get('Signature') ?? '';
  if (!/^\d+$/.test(expires) || !signature)
    throw new S3Error('AccessDenied', { message: 'A signed URL needs OSSAccessKeyId, Expires and Signature.' });
  const secret = keys.secretFor(id);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  if (input.now.getTime() > Number(expires) * 1000) throw new S3Error('AccessDenied', { message: 'Request has expired' });
  // the Date line of a signed URL is its Expires value (OSS docs "Add signatures to URLs", V1)
  if (!safeEqual(sign(secret, input, expires), signature)) throw new S3Error('SignatureDoesNotMatch');
  return { principal: { kind: 'owner', accessKeyId: id }, dialect: 'oss', payload: NO_PAYLOAD_CLAIM };
}
