/**
 * @module storage/s3/errors
 * The store's failures in S3 words. What a client can act on maps to its own code
 * (PreconditionFailed, BadDigest, …); a store that is down, slow, overloaded or answering 5xx
 * becomes `503 ServiceUnavailable` (or `SlowDown`) with `Retry-After`: the client retries, nothing
 * partial was stored, and the next request finds the store again by itself.
 */
import { isOutOfSpace, S3Error, storageFull } from '../../errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

export const RETRY_AFTER_SECONDS = '2';

export function storeStatus(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError | null;
  return storeStatus(err) === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey';
}

/** The store said no to a create-only write: the key exists. */
export function isPreconditionFailed(err: unknown): boolean {
  return storeStatus(err) === 412 || (err as SdkError | null)?.name === 'PreconditionFailed';
}

const UNAVAILABLE_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalError',
  'AbortError',
]);
/** A store out of room: 507 (Ceph RGW's InsufficientCapacity, MinIO's XMinioStorageFull) or a quota (RGW's 403 QuotaExceeded). */
const FULL_NAMES = new Set([
  'InsufficientCapacity',
  'InsufficientStorage',
  'XMinioStorageFull',
  'QuotaExceeded',
  'XMinioAdminBucketQuotaExceeded',
]);

/** Map a store failure (never a client's own body error) onto the error table. */
export function fromStore(err: unknown, what: { bucket?: string; key?: string } = {}): S3Error {
  if (err instanceof S3Error) return err;
  const e = (err ?? {}) as SdkError;
  const status = storeStatus(err);
  const retry = { 'Retry-After': RETRY_AFTER_SECONDS };
  if (e.name === 'SlowDown' || status === 429) return new S3Error('SlowDown', { ...what, headers: retry, cause: err });
  // out of room, in the store or in the local spool: the same answer as the embedded store's (issue #15, defect 4)
  if (status === 507 || FULL_NAMES.has(e.name ?? '') || FULL_NAMES.has(e.code ?? '') || isOutOfSpace(err)) return storageFull(err, what);
  if (status === 412 || e.name === 'PreconditionFailed') return new S3Error('PreconditionFailed', { ...what, cause: err });
  if (e.name === 'InvalidPart' || e.name === 'InvalidPartOrder' || e.name === 'EntityTooSmall')
    return new S3Error(e.name, { ...what, cause: err });
  if (e.name === 'NoSuchUpload') return new S3Error('NoSuchUpload', { ...what, cause: err });
  if (e.name === 'BadDigest') return new S3Error('BadDigest', { ...what, cause: err });
  if (e.name === 'InvalidDigest') return new S3Error('InvalidDigest', { ...what, cause: err });
  if (e.name === 'EntityTooLarge') return new S3Error('EntityTooLarge', { ...what, cause: err });
  if (e.name === 'KeyTooLongError' || e.name === 'InvalidObjectName') return new S3Error('KeyTooLongError', { ...what, cause: err });
  if (e.name === 'MetadataTooLarge') return new S3Error('MetadataTooLarge', { ...what, cause: err });
  if (
    (status !== undefined && status >= 500) ||
    UNAVAILABLE_CODES.has(e.code ?? '') ||
    UNAVAILABLE_CODES.has(e.name ?? '') ||
    UNAVAILABLE_NAMES.has(e.name ?? '')
  ) {
    return new S3Error('ServiceUnavailable', {
      ...what,
      message: 'The storage service is unavailable. Please try again.',
      headers: retry,
      cause: err,
    });
  }
  if (status === 403 || status === 401) {
    // the store refused our own credentials: nothing the client can fix, and it may pass
    return new S3Error('ServiceUnavailable', {
      ...what,
      message: 'The storage service refused the request. Please try again.',
      headers: retry,
      cause: err,
    });
  }
  return new S3Error('InternalError', { ...what, cause: err });
}

/** One line for the operator: why the store could not be used at start. */
export function describeStoreError(err: unknown): string {
  const e = (err ?? {}) as SdkError;
  const status = storeStatus(err);
  if (status === 403 || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch' || e.name === 'AccessDenied') {
    return `the store refused the credentials (${e.name && e.name !== 'Unknown' ? e.name : `HTTP ${status}`}); check OSPREY_STORAGE_ACCESS_KEY_ID / OSPREY_STORAGE_SECRET_ACCESS_KEY`;
  }
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return `the store could not be reached (${e.code})`;
  if (e.name === 'TimeoutError') return 'the store did not answer in time';
  if (status !== undefined) return `the store answered ${status}${e.name ? ` ${e.name}` : ''}`;
  return e.message ?? String(err);
}
