/**
 * @module storage/driver
 * The one storage interface. The embedded fs+SQLite driver and the remote S3 driver implement
 * it; `test/drivers/conformance.ts` runs the same suite against each.
 *
 * Contracts shared by every driver:
 * - Bodies stream. A driver never buffers a whole body.
 * - Nothing partial is ever visible: `putObject`/`completeMultipartUpload` make the object appear
 *   in one step, only after the body has been fully received and checked. When the body stream
 *   errors (client gone, checksum mismatch raised by a verifying transform), the promise rejects
 *   with that same error and nothing is stored.
 * - Concurrent writers of one key: one complete body wins, never a mix.
 * - A reader that has received `{ info, body }` keeps reading the version it opened, even if the
 *   key is overwritten or deleted meanwhile.
 * - Errors a client should see are thrown as `S3Error` (NoSuchBucket, NoSuchUpload, InvalidPart…).
 *   When err != undefined, no body stream is returned.
 */
import type { Readable } from 'node:stream';

export type CannedAcl = 'private' | 'public-read' | 'public-read-write';
export const CANNED_ACLS: readonly CannedAcl[] = ['private', 'public-read', 'public-read-write'];

export interface BucketInfo {
  name: string;
  created: Date;
  acl: CannedAcl;
}

/**
 * What is stored with an object besides its bytes.
 * `headers`: standard representation headers, lower-case names (content-type, content-encoding,
 * content-disposition, cache-control, expires, content-language).
 * `userMeta`: user metadata, lower-case names without the x-amz-meta-/x-oss-meta- prefix.
 * `system`: Osprey's own per-object values (e.g. `x-oss-tag` for mirrored objects, checksums
 * such as `x-amz-checksum-crc32`), returned as headers.
 */
export interface ObjectMeta {
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  system: Record<string, string>;
  /**
   * The object's own ACL in service/acl.ts's stored form ('' = private); absent when none was
   * given (the bucket's ACL applies). Stored and returned as is; drivers do not interpret it.
   */
  acl?: string;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  /** Hex MD5 of the body, or MD5-of-part-MD5s + "-N" for multipart; no quotes. */
  etag: string;
  lastModified: Date;
  meta: ObjectMeta;
}

/** Inclusive byte range, already validated against the size by the caller. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOptions {
  meta: ObjectMeta;
  /** When set, the body must be exactly this long, else IncompleteBody. */
  size?: number;
  /** Raw 16-byte MD5 from Content-MD5; mismatch -> BadDigest, nothing stored. */
  contentMd5?: Buffer;
  /** Reject with EntityTooLarge once more than this many bytes arrive. */
  maxSize?: number;
  /** Only create: when the key exists, reject with PreconditionFailed (If-None-Match: *). */
  ifNoneMatch?: boolean;
  /**
   * Called once after the body has ended and been checked, just before the commit; its entries
   * are merged into meta.system (checksums that are only known once a trailer has arrived).
   */
  systemAtEnd?: () => Record<string, string>;
  /** the object's Last-Modified; default: the time of the commit (a mirror may keep the origin's, MIR-28) */
  lastModified?: Date;
}

/** How a finished file becomes an object (StorageDriver.adoptFile). */
export interface AdoptOptions {
  meta: ObjectMeta;
  /** the file's length and MD5, as its writer counted and hashed them */
  size: number;
  md5: Buffer;
  /** Only create: when the key exists, reject with PreconditionFailed (If-None-Match: *). */
  ifNoneMatch?: boolean;
  lastModified?: Date;
  /** asked in the commit itself: false (a write of the key won meanwhile) stores nothing */
  wanted?: () => boolean;
}

export interface ListOptions {
  prefix: string;
  delimiter?: string;
  /** Exclusive: list keys (and prefixes) strictly after this one, in UTF-8 byte order. */
  startAfter?: string;
  maxKeys: number;
}

export interface ListResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned, to continue after when truncated. */
  nextMarker?: string;
}

export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  meta: ObjectMeta;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: Date;
}

export interface ListUploadsOptions {
  prefix: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
}

/** A fill lease held by this node (see StorageDriver.acquireLease). */
export interface LeaseHandle {
  /** push the expiry out by the lease's ttl again (long fills) */
  renew(): Promise<void>;
  /** give it up (the fill ended, stored or not) */
  release(): Promise<void>;
}

export interface DriverCapabilities {
  /** Atomic create-only writes are available (If-None-Match: *). */
  createOnly: boolean;
  /**
   * CompleteMultipartUpload may list a subset of the uploaded parts (S3 allows it). false: every
   * uploaded part must be listed, else InvalidPart (Ceph RGW 16 refuses subsets). Default true.
   */
  completeSubset?: boolean;
}

export interface StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /** Answers when the store is usable (health/ready); throws otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;

  listBuckets(): Promise<BucketInfo[]>;
  /** Throws BucketAlreadyOwnedByYou when it exists. */
  createBucket(name: string, acl: CannedAcl): Promise<BucketInfo>;
  /** undefined when the bucket does not exist. */
  getBucket(name: string): Promise<BucketInfo | undefined>;
  /** Throws NoSuchBucket / BucketNotEmpty (objects only; multipart uploads in progress are aborted with it). */
  deleteBucket(name: string): Promise<void>;
  setBucketAcl(name: string, acl: CannedAcl): Promise<void>;
  /**
   * Named per-bucket configuration documents (e.g. 'website'), opaque text to the driver.
   * Deleted with the bucket. undefined when not set. Throws NoSuchBucket.
   */
  getBucketConfig(bucket: string, name: string): Promise<string | undefined>;
  /** value undefined deletes it. Throws NoSuchBucket. */
  putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void>;

  /** undefined when the object does not exist. Throws NoSuchBucket. */
  headObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /**
   * undefined when the object does not exist. Throws NoSuchBucket. When the driver already holds
   * the (ranged) bytes in memory (small objects), it also gives them as `bytes`, and `body` streams
   * the same bytes: callers may use either.
   */
  getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined>;
  putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo>;
  /**
   * Optional (the embedded store): make a finished file, on the store's own filesystem, the body of
   * bucket/key by moving it into the store (fsync, rename, commit) instead of streaming it in again:
   * a mirror fill's spool file becomes the blob. The file is the store's from the call on: moved,
   * or removed when the call fails. undefined when `wanted()` said no at commit time.
   */
  adoptFile?(bucket: string, key: string, file: string, opts: AdoptOptions): Promise<ObjectInfo | undefined>;
  /**
   * Replace the stored ACL of an existing object (undefined removes it) and nothing else: body,
   * ETag, Last-Modified and the other metadata stay. Throws NoSuchBucket, NoSuchKey.
   */
  setObjectAcl(bucket: string, key: string, acl: string | undefined): Promise<void>;
  /** No error when the key is absent. Throws NoSuchBucket. */
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, opts: ListOptions): Promise<ListResult>;

  createMultipartUpload(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload>;
  /** Throws NoSuchUpload. Same body contract as putObject; re-uploading a part number replaces it. */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>,
  ): Promise<PartInfo>;
  getMultipartUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload>;
  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean }>;
  /**
   * Parts are { partNumber, etag } as the client listed them (etag without quotes). Throws
   * InvalidPart (unknown part or etag mismatch), InvalidPartOrder, EntityTooSmall (a part other
   * than the last under 5 MiB; the minimum is `minPartSize`, configurable for tests).
   */
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo>;
  /** Throws NoSuchUpload. */
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  listMultipartUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }>;

  /**
   * Optional, for stores shared by several nodes: make this node the one that fills bucket/key
   * from an origin, for `ttlMs` (renewable). undefined when another node holds an unexpired
   * lease; an expired one (its node died) is taken over. Drivers of a single process omit it.
   */
  acquireLease?(bucket: string, key: string, ttlMs: number): Promise<LeaseHandle | undefined>;
}

export function emptyMeta(): ObjectMeta {
  return { headers: {}, userMeta: {}, system: {} };
}
