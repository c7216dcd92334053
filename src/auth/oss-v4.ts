/**
 * @module auth/oss-v4
 * OSS signature V4 (OSS4-HMAC-SHA256): a SigV4-like scheme whose signing key starts from
 * "aliyun_v4" + secret, whose scope ends in /oss/aliyun_v4_request, and whose canonical URI is
 * always /bucket/key (whatever the Host). Canonical headers are content-type, content-md5, every
 * x-oss-* header and the AdditionalHeaders the client lists.
 */
import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.js';
import { headerValue, queryPairs, safeEqual, sha256Hex } from './encoding.js';
import type { AuthInput, AuthResult, KeyStore } from './types.js';

const MAX_SKEW_MS = 15 * 60 * 1000;

function ossEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function signingKey(secret: string, date: string, region: string, product: string): Buffer {
  const h = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return h(h(h(h(`aliyun_v4${secret}`, date), region), product), 'aliyun_v4_request');
}

function canonicalQueries(input: AuthInput, emptyAsBare: boolean): string {
  const qi = input.url.indexOf('?');
  return queryPairs(qi < 0 ? '' : input.url.slice(qi + 1))
    .filter(([k]) => k !== 'x-oss-signature')
    .map(([k, v]) => [ossEncode(k), v === '' && emptyAsBare ? undefined : ossEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === undefined ? k : `${k}=${v}`))
    .join('&');
}

export function verifyOssV4Header(input: AuthInput, authorization: string, keys: KeyStore): AuthResult {
  const malformed = () => new S3Error('AuthorizationHeaderMalformed', { message: 'The OSS4-HMAC-SHA256 authorization header is malformed.' });
  const fields = new Map<string, string>();
  for (const part of authorization.slice('OSS4-HMAC-SHA256'.length).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signature = fields.get('Signature');
  if (!credential || credential.length !== 5 || credential[4] !== 'aliyun_v4_request' || !signature) throw malformed();
  const [accessKeyId = '', day = '', region = '', product = ''] = credential;
  const secret = keys.secretFor(accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  const amzDate = headerValue(input.headers, 'x-oss-date') ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m || amzDate.slice(0, 8) !== day) throw new S3Error('AccessDenied', { message: 'OSS V4 authentication requires an x-oss-date header matching the credential date.' });
  const when = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Math.abs(input.now.getTime() - when) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
  const additional = (fields.get('AdditionalHeaders') ?? '').split(';').filter(Boolean).map((h) => h.toLowerCase());
  const names = new Set(additional);
  for (const k of Object.keys(input.headers)) {
    const n = k.toLowerCase();
    if (n === 'content-type' || n === 'content-md5' || n.startsWith('x-oss-')) names.add(n);
  }
  const canonicalHeaders = [...names].sort().map((n) => `${n}:${(headerValue(input.headers, n) ?? '').trim()}\n`).join('');
  let path = '/';
  if (input.bucket !== undefined) path += `${input.bucket}/`;
  if (input.key !== undefined) path += input.key;
  const uri = ossEncode(path).replace(/%2F/g, '/');
  const payload = headerValue(input.headers, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const key = signingKey(secret, day, region, product);
  const scope = `${day}/${region}/${product}/aliyun_v4_request`;
  // A query parameter without a value is signed as "k" by ali-oss and as "k=" by other clients: accept either.
  for (const bare of [true, false]) {
    const canonical = [input.method, uri, canonicalQueries(input, bare), canonicalHeaders, additional.join(';'), payload].join('\n');
    const stringToSign = ['OSS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
    if (safeEqual(createHmac('sha256', key).update(stringToSign).digest('hex'), signature)) {
      return {
        principal: { kind: 'owner', accessKeyId },
        dialect: 'oss',
        payload: /^[0-9a-f]{64}$/.test(payload) ? { kind: 'sha256', expected: payload } : { kind: 'unsigned' },
      };
    }
  }
  throw new S3Error('SignatureDoesNotMatch');
}
