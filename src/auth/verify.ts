/**
 * @module auth/verify
 * Picks the authentication scheme of a request and verifies it: AWS SigV4 (header or presigned)
 * or anonymous. Also builds the chain of body verifiers the payload plan calls for.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import { S3Error } from '../errors.js';
import { CHECKSUM_ALGORITHMS, ChecksumVerifier } from './checksum.js';
import { headerValue, queryPairs } from './encoding.js';
import { AwsChunkedDecoder } from './sigv4-chunked.js';
import { verifyOssV1Header, verifyOssV1Url } from './oss-v1.js';
import { verifyOssV4Header } from './oss-v4.js';
import { verifyHeaderV4, verifyPresignedV4 } from './sigv4.js';
import type { AuthInput, AuthResult, KeyStore } from './types.js';

export function verifyRequest(input: AuthInput, keys: KeyStore): AuthResult {
  const authorization = headerValue(input.headers, 'authorization');
  const qi = input.url.indexOf('?');
  const query = new Map(queryPairs(qi < 0 ? '' : input.url.slice(qi + 1)));
  if (authorization !== undefined) {
    if (authorization.startsWith('AWS4-HMAC-SHA256 ')) return verifyHeaderV4(input, authorization, keys);
    if (authorization.startsWith('OSS4-HMAC-SHA256 ')) return verifyOssV4Header(input, authorization, keys);
    if (authorization.startsWith('OSS ')) return verifyOssV1Header(input, authorization, keys);
    if (authorization.startsWith('AWS ')) throw new S3Error('InvalidRequest', { message: 'Signature Version 2 is not supported; use AWS Signature Version 4.' });
    throw new S3Error('AuthorizationHeaderMalformed', { message: 'Unsupported Authorization header: use AWS4-HMAC-SHA256, OSS or OSS4-HMAC-SHA256.' });
  }
  if (query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature')) return verifyPresignedV4(input, query, keys);
  if (query.has('OSSAccessKeyId')) return verifyOssV1Url(input, query, keys);
  const oss = Object.keys(input.headers).some((h) => h.startsWith('x-oss-'));
  return { principal: { kind: 'anonymous' }, dialect: oss ? 'oss' : 's3', payload: { kind: 'unsigned' } };
}

/** x-amz-decoded-content-length for aws-chunked bodies, else Content-Length. */
export function decodedLength(headers: IncomingHttpHeaders): number | undefined {
  const decoded = headerValue(headers, 'x-amz-decoded-content-length');
  const v = decoded ?? headerValue(headers, 'content-length');
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new S3Error('InvalidArgument', { message: `Invalid length '${v}'.` });
  return Number(v);
}

/** The transforms to chain between the request and storage, and the checksums they verified. */
export function bodyVerifier(auth: AuthResult, headers: IncomingHttpHeaders): { transforms: Transform[]; checksums(): Record<string, string> } {
  const transforms: Transform[] = [];
  let decoder: AwsChunkedDecoder | undefined;
  const p = auth.payload;
  if (p.kind === 'aws-chunked-signed') decoder = new AwsChunkedDecoder(p.signing, p.trailer);
  else if (p.kind === 'aws-chunked-unsigned-trailer') decoder = new AwsChunkedDecoder(undefined, true);
  if (decoder) transforms.push(decoder);

  const checksumHeaders = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
    if (m?.[1] && typeof value === 'string') checksumHeaders.set(m[1], value);
  }
  const trailerAlgorithms = (headerValue(headers, 'x-amz-trailer') ?? '')
    .split(',')
    .map((t) => /^x-amz-checksum-([a-z0-9]+)$/.exec(t.trim().toLowerCase())?.[1])
    .filter((a): a is string => a !== undefined);
  // A checksum Osprey cannot compute is refused rather than silently not verified.
  for (const alg of [...checksumHeaders.keys(), ...trailerAlgorithms]) {
    if (!(alg in CHECKSUM_ALGORITHMS) && alg !== 'algorithm' && alg !== 'type' && alg !== 'mode') {
      throw new S3Error('InvalidRequest', { message: `The checksum algorithm x-amz-checksum-${alg} is not supported; use crc32, crc32c, sha1 or sha256.` });
    }
  }
  const payloadSha256 = p.kind === 'sha256' ? p.expected : undefined;
  let verifier: ChecksumVerifier | undefined;
  if (payloadSha256 || checksumHeaders.size > 0 || trailerAlgorithms.length > 0) {
    const d = decoder;
    verifier = new ChecksumVerifier({ ...(payloadSha256 && { payloadSha256 }), headers: checksumHeaders, trailerAlgorithms, ...(d && { trailers: () => d.trailers }) });
    transforms.push(verifier);
  }
  return { transforms, checksums: () => ({ ...(verifier?.verified ?? {}) }) };
}
