/**
 * @module storage/s3/store
 * The one way the driver talks to the store: every request goes through a `Store`. It holds the
 * three connections the driver needs and the small requests everything else is built from.
 *
 * - `client`: the AWS SDK, for requests that may be retried (documents, listings, copies,
 *   multipart bookkeeping);
 * - `streamClient`: the AWS SDK, for requests whose body is a stream: never retried (the stream
 *   is gone after the first attempt), and quiet (the caller reports);
 * - `read()`: object GET and HEAD over undici without the SDK (reader.ts), the read path every
 *   client request takes; `getBucket()`: the object listing (list.ts), the same way.
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import type { ByteRange, ObjectMeta, PartInfo } from '../driver.js';
import { fromStore, isNotFound } from './errors.js';
import { bareEtag, encodeMeta } from './layout.js';
import { StoreReader } from './reader.js';
import type { StoreResponse } from './reader.js';

export interface StoreAccess {
  /** the store's bucket */
  bucket: string;
  endpoint: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export class Store {
  /** the store's bucket */
  readonly bucket: string;
  /** requests that may be retried by the SDK */
  readonly client: S3Client;
  /** requests whose body is a stream: never retried (the stream is gone) */
  readonly streamClient: S3Client;
  /** object GET/HEAD without the SDK */
  private readonly reader: StoreReader;

  constructor(opts: StoreAccess) {
    this.bucket = opts.bucket;
    const common = {
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      // the SDK's default (aws-chunked + CRC32 trailer on streams) is refused by RGW with 411
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
      requestHandler: {
        httpAgent: new Agent({ keepAlive: true, maxSockets: 512, noDelay: true }),
        connectionTimeout: 3000,
        requestTimeout: 30_000,
      },
    };
    this.client = new S3Client({ ...common, maxAttempts: 2 });
    const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    this.streamClient = new S3Client({ ...common, maxAttempts: 1, logger: quiet });
    this.reader = new StoreReader(
      opts.endpoint,
      opts.bucket,
      { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      opts.region ?? 'us-east-1',
    );
  }

  destroy(): void {
    this.client.destroy();
    this.streamClient.destroy();
    void this.reader.close().catch(() => {});
  }

  /** HeadBucket of the store's bucket; the SDK's error as it came */
  async headBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** CreateBucket of the store's bucket; the SDK's error as it came */
  async createBucket(): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
  }

  /** a store request; its failure in S3 words (errors.ts) */
  async call<T>(request: () => Promise<T>, what: { bucket?: string; key?: string } = {}): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw fromStore(err, what);
    }
  }

  /**
   * GET or HEAD of a store key through the lean reader (reader.ts); any status comes back, network
   * failures throw. A 2xx body of at most `collectUpTo` bytes comes whole in `bytes`.
   */
  read(method: 'GET' | 'HEAD', key: string, range?: ByteRange, collectUpTo = 0): Promise<StoreResponse> {
    return this.reader.send(method, key, range, collectUpTo);
  }

  /**
   * GET on the store's bucket with a query (a listing) through the lean reader; any status comes
   * back with its body whole in `bytes`, network failures throw.
   */
  getBucket(params: Readonly<Record<string, string>>): Promise<StoreResponse & { bytes: Buffer }> {
    return this.reader.getBucket(params);
  }

  /** a document's text; undefined when it does not exist */
  async getText(key: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await res.Body?.transformToString('utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw fromStore(err);
    }
  }

  /** write a document; createOnly: PreconditionFailed when it exists (atomic in the store) */
  async putText(key: string, text: string, createOnly = false): Promise<void> {
    await this.call(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: text,
          ContentType: 'application/json',
          ...(createOnly && { IfNoneMatch: '*' }),
        }),
      ),
    );
  }

  async deleteKey(key: string): Promise<void> {
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  /** every key under a prefix, page by page (store listing, never a full scan of the bucket) */
  async *keysUnder(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) })),
      );
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * A metadata-only copy of the store object onto itself: its metadata replaced, its bytes kept.
   * `ifMatch`: only if it is still that version (a concurrent PUT wins).
   */
  async replaceMeta(
    sk: string,
    meta: ObjectMeta,
    lastModified: Date | undefined,
    what: { bucket?: string; key?: string },
    ifMatch?: string,
  ): Promise<void> {
    await this.call(
      () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: sk,
            CopySource: `${this.bucket}/${encodeURIComponent(sk)}`,
            ...(ifMatch !== undefined && { CopySourceIfMatch: `"${ifMatch}"` }),
            MetadataDirective: 'REPLACE',
            Metadata: { osprey: encodeMeta(meta, lastModified) },
          }),
        ),
      what,
    );
  }

  async deleteUnder(prefix: string): Promise<void> {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.call(() =>
        this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        ),
      );
      batch = [];
    };
    for await (const key of this.keysUnder(prefix)) {
      batch.push(key);
      if (batch.length >= 500) await flush();
    }
    await flush();
  }

  /** every part the store holds for an upload, in part-number order */
  async parts(sk: string, uploadId: string, marker: number, max: number): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    const parts: PartInfo[] = [];
    let next = marker;
    for (;;) {
      const r = await this.call(() =>
        this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: sk,
            UploadId: uploadId,
            PartNumberMarker: String(next),
            MaxParts: Math.min(1000, max - parts.length + 1),
          }),
        ),
      );
      for (const p of r.Parts ?? [])
        parts.push({
          partNumber: p.PartNumber ?? 0,
          etag: bareEtag(p.ETag),
          size: p.Size ?? 0,
          lastModified: p.LastModified ?? new Date(0),
        });
      if (!r.IsTruncated || parts.length > max || (r.Parts ?? []).length === 0) break;
      next = parts.at(-1)?.partNumber ?? next;
    }
    return { parts: parts.slice(0, max), isTruncated: parts.length > max };
  }

  async abortUpload(sk: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: sk, UploadId: uploadId }));
    } catch (err) {
      if (!isNotFound(err)) throw fromStore(err);
    }
  }

  /** the store's multipart uploads under a prefix, in its order (key, then upload id) */
  async *uploads(prefix: string, keyMarker?: string): AsyncGenerator<{ storeKey: string; uploadId: string; initiated: Date }> {
    let km = keyMarker;
    let um: string | undefined;
    for (;;) {
      const r = await this.call(() =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(km !== undefined && { KeyMarker: km }),
            ...(um !== undefined && { UploadIdMarker: um }),
          }),
        ),
      );
      for (const u of r.Uploads ?? [])
        if (u.Key && u.UploadId) yield { storeKey: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
      const last = r.Uploads?.at(-1);
      if (!r.IsTruncated || !last) return;
      km = r.NextKeyMarker ?? last.Key;
      um = r.NextUploadIdMarker ?? last.UploadId;
    }
  }
}
