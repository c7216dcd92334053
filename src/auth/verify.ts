/**
 * @module auth/verify
 * Picks the authentication scheme of a request and verifies it (AWS SigV4 header or presigned,
 * OSS V1 header or signed URL, OSS V4 header or presigned, or anonymous), and builds the chain of
 * body verifiers its payload plan calls for.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import { S3Error } from '../errors.js';
import { announcedChecksums, ChecksumVerifier } from './checksum.js';
import { headerValue, queryPairs } from './encoding.js';
import { verifyOssV1Header, verifyOssV1Url } from './oss-v1.js';
import { verifyOssV4Header, verifyOssV4Query } from './oss-v4.js';
import { AwsChunkedDecoder } from './sigv4-chunked.js';
import { payloadPlanFor, verifyHeaderV4, verifyPresignedV4 } from './sigv4.js';
import type { AuthInput, AuthResult, KeyStore } from './types.js';

/**
 * Verify the request's credentials. Throws S3Error (InvalidAccessKeyId, SignatureDoesNotMatch,
 * AuthorizationHeaderMalformed, AuthorizationQueryParametersError, RequestTimeTooSkewed,
 * AccessDenied, InvalidRequest, InvalidArgument); no credentials at all is the anonymous principal.
 */
export function verifyRequest(input: AuthInput, keys: KeyStore): AuthResult {
  const authorization = headerValue(input.headers, 'authorization');
  const qi = input.url.indexOf('?');
  const query = new Map(queryPairs(qi < 0 ? '' : input.url.slice(qi + 1)));
  if (authorization !== undefined) {
    if (authorization.startsWith('AWS4-HMAC-SHA256 ')) return verifyHeaderV4(input, authorization, keys);
    if (authorization.startsWith('OSS4-HMAC-SHA256 ')) return verifyOssV4Header(input, authorization, keys);
    if (authorization.startsWith('OSS ')) return verifyOssV1Header(input, authorization, keys);
    if (authorization.startsWith('AWS '))
      throw new S3Error('InvalidRequest', { message: 'Signature Version 2 is not supported; use AWS Signature Version 4.' });
    throw new S3Error('AuthorizationHeaderMalformed', {
      message: 'Unsupported Authorization header: use AWS4-HMAC-SHA256, OSS or OSS4-HMAC-SHA256.',
    });
  }
  if (query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature') || query.has('X-Amz-Credential'))
    return verifyPresignedV4(input, query, keys);
  if (query.has('x-oss-signature-version') || query.has('x-oss-signature') || query.has('x-oss-credential'))
    return verifyOssV4Query(input, query, keys);
  if (query.has('OSSAccessKeyId')) return verifyOssV1Url(input, query, keys);
  if (query.has('AWSAccessKeyId'))
    throw new S3Error('InvalidRequest', { message: 'Signature Version 2 is not supported; use AWS Signature Version 4.' });
  const oss = Object.keys(input.headers).some((h) => h.toLowerCase().startsWith('x-oss-'));
  // An anonymous body may still be aws-chunked (an SDK with anonymous credentials streams with
  // STREAMING-UNSIGNED-PAYLOAD-TRAILER) or carry a hash: decode and check it all the same.
  const payload = payloadPlanFor(headerValue(input.headers, 'x-amz-content-sha256'));
  return { principal: { kind: 'anonymous' }, dialect: oss ? 'oss' : 's3', payload };
}

function parseLength(v: string): number {
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error('InvalidArgument', { message: `Invalid length '${v.slice(0, 40)}'.` });
  return Number(v);
}

/**
 * True when the body is aws-chunked framing (sigv4-streaming.html): by its hash keyword, or by its
 * encoding when no payload hash is given. A plain payload hash (hex, UNSIGNED-PAYLOAD) says the
 * body is plain, whatever Content-Encoding names (S3 and RGW store such a PUT as sent).
 */
function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const sha = headerValue(headers, 'x-amz-content-sha256');
  if (sha !== undefined) return sha.startsWith('STREAMING-');
  const enc = headerValue(headers, 'content-encoding') ?? '';
  return enc.split(',').some((e) => e.trim().toLowerCase() === 'aws-chunked');
}

/** The length of the body once decoded: x-amz-decoded-content-length for aws-chunked, else Content-Length. */
export function decodedLength(headers: IncomingHttpHeaders): number | undefined {
  const v = isAwsChunked(headers) ? headerValue(headers, 'x-amz-decoded-content-length') : headerValue(headers, 'content-length');
  return v === undefined ? undefined : parseLength(v);
}

/**
 * The transforms to chain, in order, between the request and storage (decode aws-chunked, then
 * verify the signed SHA-256 and the x-amz-checksum-* values), and the checksums they verified:
 * `checksums()` is complete once the last transform has ended without error.
 */
export function bodyVerifier(
  auth: AuthResult,
  headers: IncomingHttpHeaders,
): { transforms: Transform[]; checksums(): Record<string, string> } {
  const transforms: Transform[] = [];
  const p = auth.payload;
  let decoder: AwsChunkedDecoder | undefined;
  if (p.kind === 'aws-chunked-signed' || p.kind === 'aws-chunked-unsigned-trailer') {
    const declared = headerValue(headers, 'x-amz-decoded-content-length');
    const options = declared === undefined ? {} : { decodedLength: parseLength(declared) };
    decoder =
      p.kind === 'aws-chunked-signed'
        ? new AwsChunkedDecoder(p.signing, p.trailer, options)
        : new AwsChunkedDecoder(undefined, true, options);
    transforms.push(decoder);
  }
  const announced = announcedChecksums(headers);
  const payloadSha256 = p.kind === 'sha256' ? p.expected : undefined;
  let verifier: ChecksumVerifier | undefined;
  if (payloadSha256 || announced.headers.size > 0 || announced.trailerAlgorithms.length > 0) {
    const d = decoder;
    verifier = new ChecksumVerifier({ ...announced, ...(payloadSha256 && { payloadSha256 }), ...(d && { trailers: () => d.trailers }) });
    transforms.push(verifier);
  }
  return { transforms, checksums: () => ({ ...(verifier?.verified ?? {}) }) };
}
