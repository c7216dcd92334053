/**
 * @module errors
 * THE table of S3/OSS error codes. Every error a client can see is a row here; handlers throw
 * `new S3Error('NoSuchKey', { key })` and never write a message themselves. `toS3Error` maps
 * anything else (fs, SQLite, undici) onto the table at the boundary.
 */

export interface ErrorRow {
  status: number;
  message: string;
  /** OSS "EC" value (spec ERR-03): OSS's published one where known, else Osprey's 9xxx range. */
  ec: string;
}

export const ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied', ec: '0003-00000001' },
  AccessForbidden: {
    status: 403,
    message:
      "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    ec: '9000-00000040',
  },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.', ec: '9000-00000001' },
  AuthorizationQueryParametersError: {
    status: 400,
    message: 'Query-string authentication parameters are missing or malformed.',
    ec: '9000-00000002',
  },
  BadRequest: { status: 400, message: 'Bad Request', ec: '9000-00000041' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.', ec: '0017-00000004' },
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available.', ec: '0015-00000002' },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
    ec: '0015-00000001',
  },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty.', ec: '0015-00000301' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.', ec: '9000-00000003' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.', ec: '0042-00000304' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.', ec: '9000-00000004' },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    ec: '9000-00000005',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.', ec: '9000-00000006' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS access key Id you provided does not exist in our records.', ec: '0002-00000902' },
  InvalidArgument: { status: 400, message: 'Invalid Argument', ec: '9000-00000007' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.', ec: '0015-00000101' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.', ec: '0017-00000003' },
  InvalidObjectName: { status: 400, message: 'The specified object name is not valid.', ec: '0016-00000005' },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    ec: '0042-00000303',
  },
  InvalidPartOrder: {
    status: 400,
    message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
    ec: '0042-00000305',
  },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable', ec: '0016-00000801' },
  InvalidRequest: { status: 400, message: 'Invalid Request', ec: '9000-00000008' },
  KeyTooLongError: { status: 400, message: 'Your key is too long.', ec: '0016-00000006' },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
    ec: '0031-00000001',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.', ec: '9000-00000009' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.', ec: '0016-00000009' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.', ec: '9000-00000010' },
  MirrorFailed: { status: 424, message: 'Failed to fetch the object from the mirror origin.', ec: '0041-00000101' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.', ec: '9000-00000011' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.', ec: '0015-00000101' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist', ec: '9000-00000042' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.', ec: '0026-00000001' },
  NoSuchUpload: {
    status: 404,
    message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    ec: '0042-00000002',
  },
  NoSuchWebsiteConfiguration: { status: 404, message: 'The specified bucket does not have a website configuration.', ec: '0050-00000001' },
  NotImplemented: {
    status: 501,
    message: 'A header or query you provided implies functionality that is not implemented.',
    ec: '9000-00000012',
  },
  NotModified: { status: 304, message: 'Not Modified', ec: '9000-00000013' },
  PreconditionFailed: { status: 412, message: 'At least one of the preconditions you specified did not hold.', ec: '0016-00000301' },
  RequestTimeTooSkewed: {
    status: 403,
    message: 'The difference between the request time and the current time is too large.',
    ec: '0002-00000503',
  },
  ServiceUnavailable: { status: 503, message: 'Please reduce your request rate.', ec: '9000-00000014' },
  SignatureDoesNotMatch: {
    status: 403,
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    ec: '0002-00000040',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.', ec: '9000-00000015' },
  XAmzContentChecksumMismatch: {
    status: 400,
    message: "The provided 'x-amz-checksum' header does not match what was computed.",
    ec: '9000-00000016',
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ec: '9000-00000017',
  },
} as const satisfies Record<string, ErrorRow>;

export type ErrorCode = keyof typeof ERRORS;

/** Extra fields that go into the error XML (Key, BucketName, Condition, …) and extra headers. */
export interface S3ErrorDetail {
  message?: string;
  bucket?: string;
  key?: string;
  /** Additional XML elements, e.g. { Condition: 'If-Match' }. */
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class S3Error extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly ec: string;
  readonly detail: S3ErrorDetail;

  constructor(code: ErrorCode, detail: S3ErrorDetail = {}) {
    const row: ErrorRow = ERRORS[code];
    super(detail.message ?? row.message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = row.status;
    this.ec = row.ec;
    this.detail = detail;
  }
}

export function isS3Error(err: unknown): err is S3Error {
  return err instanceof S3Error;
}

/**
 * Out of space (issue #15, defect 4): the file system's ENOSPC, a quota's EDQUOT, SQLite's
 * SQLITE_FULL (its log or database could not grow) and SQLITE_IOERR_SHMSIZE (its WAL index could
 * not grow, which SQLite documents as a full volume), found on the error or its causes.
 */
const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE']);

export function isOutOfSpace(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && OUT_OF_SPACE.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What a write that found no room answers, on every driver: 503 ServiceUnavailable, the status S3
 * clients treat as "try again later" (S3 itself never runs out; MinIO's XMinioStorageFull 507 is a
 * code no SDK knows). Nothing partial was stored, and a DELETE, which always works, makes room.
 */
export function storageFull(cause: unknown, detail: Omit<S3ErrorDetail, 'cause' | 'message'> = {}): S3Error {
  return new S3Error('ServiceUnavailable', {
    ...detail,
    message: 'The storage is full: nothing was stored. Delete objects to make room, or try again later.',
    cause,
  });
}

/**
 * The one mapping at the boundary: S3Error passes through; known system errors map to table
 * codes; everything else becomes InternalError (the caller logs the original, the client never
 * sees it).
 */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (isOutOfSpace(err)) return storageFull(err);
  if (code === 'SQLITE_BUSY') return new S3Error('SlowDown', { cause: err });
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') {
    return new S3Error('IncompleteBody', { cause: err });
  }
  return new S3Error('InternalError', { cause: err });
}
