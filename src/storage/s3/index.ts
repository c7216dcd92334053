/**
 * @module storage/s3
 * The remote driver: everything lives in an S3-compatible store (tested on Ceph RGW), so any
 * number of stateless Osprey nodes can share it. Layout in the store: storage/s3/layout.ts.
 * This class only delegates, by job, as the fs driver does:
 *
 * - store.ts: the one way to the store (the AWS SDK, and reader.ts for object GET/HEAD);
 * - buckets.ts: bucket documents and configurations, cached for at most `cacheTtlMs` (≤ 1 s): a
 *   change made through one node is seen by every node within that time. Objects are never cached;
 * - objects.ts: GET/HEAD/PUT/DELETE and the object ACL; write.ts: a body into the store by size,
 *   nothing partial ever visible;
 * - list.ts: the store's own ListObjectsV2 and ListMultipartUploads;
 * - multipart.ts: client multipart uploads on the store's own;
 * - lease.ts: the create-only documents nodes agree through (fill leases, the owner key pair);
 *   sweep.ts: uploads a crashed node left behind are aborted (at start, then hourly) once older
 *   than `staleUploadMs`, expired leases deleted.
 *
 * The store failing (down, slow, 5xx) becomes 503 ServiceUnavailable / SlowDown with Retry-After
 * (errors.ts); nothing is remembered, so the node recovers when the store does.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { S3Error } from '../../errors.js';
import type {
  BucketInfo,
  ByteRange,
  CannedAcl,
  DriverCapabilities,
  LeaseHandle,
  ListOptions,
  ListResult,
  ListUploadsOptions,
  MultipartUpload,
  ObjectInfo,
  ObjectMeta,
  PartInfo,
  PutOptions,
  StorageDriver,
} from '../driver.js';
import { MIN_PART_SIZE } from '../multipart.js';
import { Buckets } from './buckets.js';
import { describeStoreError, fromStore, isNotFound } from './errors.js';
import { Layout } from './layout.js';
import { acquireLease, sharedCredentials } from './lease.js';
import { listObjects, listUploads } from './list.js';
import { Uploads } from './multipart.js';
import { Objects } from './objects.js';
import { Store } from './store.js';
import { sweep } from './sweep.js';
import { BodyWriter, SINGLE_PUT_MAX } from './write.js';

export { describeStoreError } from './errors.js';

const SWEEP_EVERY_MS = 60 * 60 * 1000;

export interface S3DriverOptions {
  /** the store's bucket, and a prefix inside it ('' for none) */
  bucket: string;
  prefix?: string;
  endpoint: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** smallest part except the last in CompleteMultipartUpload (S3: 5 MiB) */
  minPartSize?: number;
  /** known-length bodies up to this size stream as one PutObject, larger ones as parts (default 64 MiB; tests make it small) */
  singlePutMax?: number;
  /** how long bucket documents and configurations are cached, ms (≤ 1000) */
  cacheTtlMs?: number;
  /** multipart uploads of the driver's own left this long (a crashed node's) are aborted, ms */
  staleUploadMs?: number;
  /** where an upload part of unknown length is spooled before it goes to the store */
  spoolDir?: string;
}

/** `s3://BUCKET[/PREFIX]` -> its parts; undefined when it is not such a URL. */
export function parseStorageUrl(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m?.[1]) return undefined;
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  /** createOnly is probed at open (a store that ignores If-None-Match: * gets false) */
  readonly capabilities: DriverCapabilities = { createOnly: true, completeSubset: false };
  private readonly layout: Layout;
  private readonly store: Store;
  private readonly buckets: Buckets;
  private readonly objects: Objects;
  private readonly uploads: Uploads;
  private readonly staleUploadMs: number;
  private readonly nodeId = randomBytes(6).toString('hex');
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(opts: S3DriverOptions) {
    this.layout = new Layout(opts.prefix ?? '');
    this.store = new Store(opts);
    this.buckets = new Buckets(this.store, this.layout, opts.cacheTtlMs);
    this.objects = new Objects(this.store, this.layout, this.buckets, new BodyWriter(this.store, opts.singlePutMax ?? SINGLE_PUT_MAX));
    this.uploads = new Uploads(this.store, this.layout, this.buckets, opts.minPartSize ?? MIN_PART_SIZE, opts.spoolDir ?? os.tmpdir());
    this.staleUploadMs = opts.staleUploadMs ?? 6 * 60 * 60 * 1000;
  }

  /**
   * Connect, check the credentials and the store's bucket (created when missing), start the sweep.
   * Throws an Error whose message is one line for the operator.
   */
  static async open(opts: S3DriverOptions): Promise<S3Driver> {
    const d = new S3Driver(opts);
    try {
      await d.store.headBucket();
    } catch (err) {
      if (!isNotFound(err)) {
        d.store.destroy();
        throw new Error(describeStoreError(err), { cause: err });
      }
      try {
        await d.store.createBucket();
      } catch (e) {
        d.store.destroy();
        throw new Error(`the store's bucket ${opts.bucket} does not exist and could not be created: ${describeStoreError(e)}`, {
          cause: e,
        });
      }
    }
    d.capabilities.createOnly = await d.probeCreateOnly().catch(() => true);
    d.sweeper = setInterval(() => void d.sweep().catch(() => {}), SWEEP_EVERY_MS).unref();
    void d.sweep().catch(() => {});
    return d;
  }

  /**
   * Whether the store honours a create-only PUT (If-None-Match: *): written twice, the second
   * must be refused. Stores that ignore the header (Swift's s3api, some gateways) work, but
   * without the cross-node guarantees (see the README's "Running several nodes").
   */
  private async probeCreateOnly(): Promise<boolean> {
    const key = `${this.layout.base}osprey/create-only-probe`;
    for (let i = 0; i < 2; i++) {
      try {
        await this.store.putText(key, JSON.stringify({ at: Date.now() }), true);
      } catch (err) {
        if (err instanceof S3Error && err.code === 'PreconditionFailed') return true;
        throw err;
      }
    }
    return false;
  }

  async ping(): Promise<void> {
    try {
      await this.store.headBucket();
    } catch (err) {
      throw fromStore(err);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.store.destroy();
  }

  // ---- buckets -------------------------------------------------------------------------------

  listBuckets(): Promise<BucketInfo[]> {
    return this.buckets.list();
  }

  createBucket(name: string, acl: CannedAcl): Promise<BucketInfo> {
    return this.buckets.create(name, acl);
  }

  getBucket(name: string): Promise<BucketInfo | undefined> {
    return this.buckets.get(name);
  }

  deleteBucket(name: string): Promise<void> {
    return this.buckets.delete(name);
  }

  setBucketAcl(name: string, acl: CannedAcl): Promise<void> {
    return this.buckets.setAcl(name, acl);
  }

  getBucketConfig(bucket: string, name: string): Promise<string | undefined> {
    return this.buckets.getConfig(bucket, name);
  }

  putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    return this.buckets.putConfig(bucket, name, value);
  }

  // ---- objects -------------------------------------------------------------------------------

  headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    return this.objects.head(bucket, key);
  }

  getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    return this.objects.get(bucket, key, range);
  }

  putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    return this.objects.put(bucket, key, body, opts);
  }

  setObjectAcl(bucket: string, key: string, acl: string | undefined): Promise<void> {
    return this.objects.setAcl(bucket, key, acl);
  }

  deleteObject(bucket: string, key: string): Promise<void> {
    return this.objects.delete(bucket, key);
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListResult> {
    await this.buckets.require(bucket);
    return listObjects(this.store, this.layout, bucket, opts);
  }

  // ---- multipart -----------------------------------------------------------------------------

  createMultipartUpload(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    return this.uploads.create(bucket, key, meta);
  }

  getMultipartUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload> {
    return this.uploads.get(bucket, key, uploadId);
  }

  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>,
  ): Promise<PartInfo> {
    return this.uploads.uploadPart(bucket, key, uploadId, partNumber, body, opts);
  }

  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    return this.uploads.listParts(bucket, key, uploadId, opts);
  }

  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    return this.uploads.complete(bucket, key, uploadId, parts);
  }

  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.uploads.abort(bucket, key, uploadId);
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
    await this.buckets.require(bucket);
    return listUploads(this.store, this.layout, bucket, opts);
  }

  // ---- across nodes --------------------------------------------------------------------------

  /** the fill lease of bucket/key (lease.ts); undefined when another node holds it */
  acquireLease(bucket: string, key: string, ttlMs: number): Promise<LeaseHandle | undefined> {
    return acquireLease(this.store, this.layout, this.nodeId, bucket, key, ttlMs);
  }

  /** the owner key pair kept in the store, the same for every node (lease.ts) */
  sharedCredentials(): Promise<{ accessKeyId: string; secretAccessKey: string; generated: boolean }> {
    return sharedCredentials(this.store, this.layout);
  }

  /** aborts a crashed node's uploads and deletes expired leases (sweep.ts) */
  sweep(now = Date.now()): Promise<{ aborted: number; leases: number }> {
    return sweep(this.store, this.layout, this.staleUploadMs, now);
  }
}

export function openS3Driver(opts: S3DriverOptions): Promise<S3Driver> {
  return S3Driver.open(opts);
}
