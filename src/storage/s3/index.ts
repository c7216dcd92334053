/**
 * @module storage/s3
 * The remote driver: everything lives in an S3-compatible store (tested on Ceph RGW), so any
 * number of stateless Osprey nodes can share it. Layout in the store: storage/s3/layout.ts.
 *
 * - Bodies stream both ways. Up to SMALL_BODY bytes are collected and sent as one PutObject with
 *   their MD5; a larger body of known length streams as one PutObject (up to SINGLE_PUT_MAX),
 *   or beyond that as a multipart upload whose PART_SIZE parts stream straight from the body;
 *   a body of unknown length becomes a multipart upload through two PART_SIZE buffers. Nothing
 *   partial is visible: a streamed PUT holds its last chunk back until every check passed
 *   (checker.ts), a multipart upload is completed only after that and aborted on any failure.
 *   Uploads a crashed node left behind are aborted by the sweep (at start, then hourly) once
 *   older than `staleUploadMs`.
 * - Bucket documents and configurations are cached for at most `cacheTtlMs` (≤ 1 s): a change
 *   made through one node is seen by every node within that time. Objects are never cached.
 * - Listing is the store's own ListObjectsV2 (prefix, delimiter, start-after, max-keys).
 * - The store failing (down, slow, 5xx) becomes 503 ServiceUnavailable / SlowDown with
 *   Retry-After (errors.ts); nothing is remembered, so the node recovers when the store does.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error } from '../../errors.js';
import type {
  BucketInfo, ByteRange, CannedAcl, DriverCapabilities, LeaseHandle, ListOptions, ListResult, ListUploadsOptions, MultipartUpload,
  ObjectInfo, ObjectMeta, PartInfo, PutOptions, StorageDriver,
} from '../driver.js';
import { CANNED_ACLS } from '../driver.js';
import { TtlCache } from './cache.js';
import { BodyChecker } from './checker.js';
import type { CheckOptions } from './checker.js';
import { describeStoreError, fromStore, isNotFound, isPreconditionFailed } from './errors.js';
import { bareEtag, decodeMeta, encodeMeta, Layout } from './layout.js';
import { StoreReader } from './reader.js';

export { describeStoreError } from './errors.js';

/** bodies up to this size are collected in memory and sent in one request with their MD5 */
const SMALL_BODY = 1024 * 1024;
/** known-length bodies up to this size stream as one PutObject */
const SINGLE_PUT_MAX = 64 * 1024 * 1024;
/** part size of the multipart uploads the driver makes itself */
const PART_SIZE = 8 * 1024 * 1024;
const SWEEP_EVERY_MS = 60 * 60 * 1000;
/** GETs up to this size are read whole and handed out as `bytes` */
const SMALL_READ = 64 * 1024;

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

interface BucketDoc {
  created: number;
  acl: CannedAcl;
}

interface UploadDoc {
  key: string;
  initiated: number;
  meta: ObjectMeta;
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  /** createOnly is probed at open (a store that ignores If-None-Match: * gets false) */
  readonly capabilities: DriverCapabilities = { createOnly: true, completeSubset: false };
  private readonly layout: Layout;
  /** requests that may be retried by the SDK */
  private readonly client: S3Client;
  /** requests whose body is a stream: never retried (the stream is gone) */
  private readonly streamClient: S3Client;
  private readonly buckets: TtlCache<BucketDoc | undefined>;
  private readonly configs: TtlCache<string | undefined>;
  private readonly minPartSize: number;
  private readonly singlePutMax: number;
  private readonly staleUploadMs: number;
  private readonly spoolDir: string;
  private readonly nodeId = randomBytes(6).toString('hex');
  /** object GET/HEAD without the SDK */
  private readonly reader: StoreReader;
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(private readonly opts: S3DriverOptions) {
    this.layout = new Layout(opts.prefix ?? '');
    const common = {
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      // the SDK's default (aws-chunked + CRC32 trailer on streams) is refused by RGW with 411
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 512, noDelay: true }), connectionTimeout: 3000, requestTimeout: 30_000 },
    };
    this.client = new S3Client({ ...common, maxAttempts: 2 });
    const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    this.streamClient = new S3Client({ ...common, maxAttempts: 1, logger: quiet });
    this.reader = new StoreReader(opts.endpoint, opts.bucket, { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }, opts.region ?? 'us-east-1');
    const ttl = Math.min(opts.cacheTtlMs ?? 500, 1000);
    this.buckets = new TtlCache(ttl);
    this.configs = new TtlCache(ttl);
    this.minPartSize = opts.minPartSize ?? 5 * 1024 * 1024;
    this.singlePutMax = opts.singlePutMax ?? SINGLE_PUT_MAX;
    this.staleUploadMs = opts.staleUploadMs ?? 6 * 60 * 60 * 1000;
    this.spoolDir = opts.spoolDir ?? os.tmpdir();
  }

  /**
   * Connect, check the credentials and the store's bucket (created when missing), start the sweep.
   * Throws an Error whose message is one line for the operator.
   */
  static async open(opts: S3DriverOptions): Promise<S3Driver> {
    const d = new S3Driver(opts);
    try {
      await d.client.send(new HeadBucketCommand({ Bucket: opts.bucket }));
    } catch (err) {
      if (!isNotFound(err)) {
        d.destroyClients();
        throw new Error(describeStoreError(err), { cause: err });
      }
      try {
        await d.client.send(new CreateBucketCommand({ Bucket: opts.bucket }));
      } catch (e) {
        d.destroyClients();
        throw new Error(`the store's bucket ${opts.bucket} does not exist and could not be created: ${describeStoreError(e)}`, { cause: e });
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
        await this.putText(key, JSON.stringify({ at: Date.now() }), true);
      } catch (err) {
        if (err instanceof S3Error && err.code === 'PreconditionFailed') return true;
        throw err;
      }
    }
    return false;
  }

  private destroyClients(): void {
    this.client.destroy();
    this.streamClient.destroy();
    void this.reader.close().catch(() => {});
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch (err) {
      throw fromStore(err);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.destroyClients();
  }

  // ---- small documents -----------------------------------------------------------------------

  /** a store request; its failure in S3 words (errors.ts) */
  private async call<T>(request: () => Promise<T>, what: { bucket?: string; key?: string } = {}): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw fromStore(err, what);
    }
  }

  /** a document's text; undefined when it does not exist */
  private async getText(key: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      return await res.Body?.transformToString('utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw fromStore(err);
    }
  }

  /** write a document; createOnly: PreconditionFailed when it exists (atomic in the store) */
  private async putText(key: string, text: string, createOnly = false): Promise<void> {
    await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: text, ContentType: 'application/json', ...(createOnly && { IfNoneMatch: '*' }) })));
  }

  private async deleteKey(key: string): Promise<void> {
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key })));
  }

  /** every key under a prefix, page by page (store listing, never a full scan of the bucket) */
  private async *keysUnder(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) })));
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteUnder(prefix: string): Promise<void> {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.call(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
      batch = [];
    };
    for await (const key of this.keysUnder(prefix)) {
      batch.push(key);
      if (batch.length >= 500) await flush();
    }
    await flush();
  }

  // ---- buckets -------------------------------------------------------------------------------

  private bucketDoc(name: string): Promise<BucketDoc | undefined> {
    return this.buckets.get(name, async () => {
      const text = await this.getText(this.layout.bucketDoc(name));
      if (text === undefined) return undefined;
      const doc = JSON.parse(text) as Partial<BucketDoc>;
      return { created: Number(doc.created) || 0, acl: CANNED_ACLS.includes(doc.acl as CannedAcl) ? (doc.acl as CannedAcl) : 'private' };
    });
  }

  private async requireBucket(name: string): Promise<BucketDoc> {
    const doc = await this.bucketDoc(name);
    if (!doc) throw new S3Error('NoSuchBucket', { bucket: name });
    return doc;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const names: string[] = [];
    const base = this.layout.bucketDocs();
    for await (const key of this.keysUnder(base)) names.push(key.slice(base.length));
    const out: BucketInfo[] = [];
    for (let i = 0; i < names.length; i += 16) {
      const docs = await Promise.all(names.slice(i, i + 16).map(async (name) => ({ name, doc: await this.bucketDoc(name) })));
      for (const { name, doc } of docs) if (doc) out.push({ name, created: new Date(doc.created), acl: doc.acl });
    }
    return out;
  }

  async createBucket(name: string, acl: CannedAcl): Promise<BucketInfo> {
    const created = Date.now();
    this.buckets.invalidate(name);
    try {
      await this.putText(this.layout.bucketDoc(name), JSON.stringify({ created, acl }), true);
    } catch (err) {
      if (err instanceof S3Error && err.code === 'PreconditionFailed') throw new S3Error('BucketAlreadyOwnedByYou', { bucket: name });
      throw err;
    }
    this.buckets.invalidate(name);
    return { name, created: new Date(created), acl };
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    const doc = await this.bucketDoc(name);
    return doc && { name, created: new Date(doc.created), acl: doc.acl };
  }

  async deleteBucket(name: string): Promise<void> {
    this.buckets.invalidate(name);
    await this.requireBucket(name);
    const page = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.layout.objects(name), MaxKeys: 1 })));
    if ((page.KeyCount ?? page.Contents?.length ?? 0) > 0) throw new S3Error('BucketNotEmpty', { bucket: name });
    // uploads in progress go with the bucket: the store's parts, then our documents
    for await (const u of this.storeUploads(this.layout.objects(name))) await this.abortStoreUpload(u.storeKey, u.uploadId);
    await this.deleteUnder(this.layout.uploads(name));
    await this.deleteUnder(`${this.layout.bucketRoot(name)}c/`);
    await this.deleteKey(this.layout.bucketDoc(name));
    this.buckets.invalidate(name);
    this.configs.invalidatePrefix(`${name}\0`);
  }

  async setBucketAcl(name: string, acl: CannedAcl): Promise<void> {
    this.buckets.invalidate(name);
    const doc = await this.requireBucket(name);
    await this.putText(this.layout.bucketDoc(name), JSON.stringify({ created: doc.created, acl }));
    this.buckets.invalidate(name);
  }

  async getBucketConfig(bucket: string, name: string): Promise<string | undefined> {
    await this.requireBucket(bucket);
    return this.configs.get(`${bucket}\0${name}`, () => this.getText(this.layout.config(bucket, name)));
  }

  async putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    await this.requireBucket(bucket);
    const key = this.layout.config(bucket, name);
    this.configs.invalidate(`${bucket}\0${name}`);
    if (value === undefined) await this.deleteKey(key);
    else await this.putText(key, value);
    this.configs.invalidate(`${bucket}\0${name}`);
  }

  // ---- objects -------------------------------------------------------------------------------

  /** the store key for a read; undefined when the key cannot exist in the store (too long) */
  private readKey(bucket: string, key: string): string | undefined {
    try {
      return this.layout.object(bucket, key);
    } catch {
      return undefined;
    }
  }

  /**
   * GET/HEAD through the lean reader (reader.ts); undefined when the object does not exist.
   * A body of at most `collectUpTo` bytes comes whole in `bytes`.
   */
  private async read(method: 'GET' | 'HEAD', bucket: string, key: string, range?: ByteRange, collectUpTo = 0): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    await this.requireBucket(bucket);
    const sk = this.readKey(bucket, key);
    if (sk === undefined) return undefined;
    let res;
    try {
      res = await this.reader.send(method, sk, range, collectUpTo);
    } catch (err) {
      throw fromStore(err, { bucket, key });
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200 && res.status !== 206) throw fromStore(await StoreReader.failure(res), { bucket, key });
    const h = res.headers;
    const length = Number(h['content-length']);
    const total = range ? Number(/\/(\d+)$/.exec(h['content-range'] ?? '')?.[1] ?? NaN) : length;
    const { meta, lastModified } = decodeMeta(h['x-amz-meta-osprey']);
    const info: ObjectInfo = {
      bucket, key, size: Number.isFinite(total) ? total : 0, etag: bareEtag(h.etag),
      lastModified: lastModified ?? (h['last-modified'] ? new Date(h['last-modified']) : new Date(0)), meta,
    };
    if (res.bytes && method === 'GET') return { info, bytes: res.bytes, get body(): Readable { return res.body; } };
    return { info, body: res.body };
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    return (await this.read('HEAD', bucket, key))?.info;
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    // a small body (by the store's Content-Length) is read whole: the HTTP layer then answers in one write
    return this.read('GET', bucket, key, range, SMALL_READ);
  }

  async putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    heldErrors(body);
    let sk: string;
    try {
      // fail before reading the body when the answer is already known
      await this.requireBucket(bucket);
      sk = this.layout.object(bucket, key);
      encodeMeta(opts.meta, opts.lastModified);
      if (opts.ifNoneMatch && (await this.headObject(bucket, key))) throw new S3Error('PreconditionFailed', { key, fields: { Condition: 'If-None-Match' } });
    } catch (err) {
      body.destroy();
      throw err;
    }
    const r = await this.storeBody(sk, body, opts, opts.ifNoneMatch === true, { bucket, key });
    return { bucket, key, size: r.size, etag: r.etag, lastModified: opts.lastModified ?? new Date(), meta: r.meta };
  }

  /**
   * One body into the store at `sk`, by size (see the module comment). `systemAtEnd` entries are
   * only known once the body has ended (checksums from a trailer): a body sent before that point
   * gets them with a metadata-only copy onto itself right after the commit.
   */
  private async storeBody(sk: string, body: Readable, opts: PutOptions, createOnly: boolean, what: { bucket: string; key: string }): Promise<{ size: number; etag: string; meta: ObjectMeta }> {
    const checker = new BodyChecker(opts);
    let bodyError: unknown;
    const ac = new AbortController();
    // the client's body failing (or failing a check) stops the store request at once
    pipeline(body, checker).catch((err: unknown) => {
      bodyError ??= err;
      ac.abort(err);
    });
    const chunks = checker[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    try {
      while (headBytes <= SMALL_BODY) {
        const r = await chunks.next();
        if (r.done) {
          ended = true;
          break;
        }
        head.push(r.value);
        headBytes += r.value.length;
      }
    } catch (err) {
      body.destroy();
      throw bodyError ?? err;
    }
    const Bucket = this.opts.bucket;
    const finalMeta = (): ObjectMeta => ({ ...opts.meta, system: { ...opts.meta.system, ...opts.systemAtEnd?.() } });
    if (ended) {
      const whole = Buffer.concat(head);
      const meta = finalMeta();
      const md5 = checker.digest ?? '';
      await this.call(() => this.client.send(new PutObjectCommand({
        Bucket, Key: sk, Body: whole, ContentLength: whole.length, ContentMD5: Buffer.from(md5, 'hex').toString('base64'),
        Metadata: { osprey: encodeMeta(meta, opts.lastModified) }, ...(createOnly && { IfNoneMatch: '*' }),
      })), what);
      return { size: whole.length, etag: md5, meta };
    }
    const rest = Readable.from((async function* () {
      yield* head;
      try {
        for (;;) {
          const r = await chunks.next();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        if (!checker.readableEnded) checker.destroy();
      }
    })(), { objectMode: false });
    rest.on('error', () => {}); // reported through bodyError / the store request
    const early = encodeMeta(opts.meta, opts.lastModified);
    let etag: string;
    try {
      if (opts.size !== undefined && opts.size <= this.singlePutMax) {
        await this.streamClient.send(new PutObjectCommand({
          Bucket, Key: sk, Body: rest, ContentLength: opts.size, Metadata: { osprey: early }, ...(createOnly && { IfNoneMatch: '*' }),
        }), { abortSignal: ac.signal });
        etag = checker.digest ?? '';
      } else {
        etag = await this.multipartBody(sk, rest, opts.size, early, createOnly, ac.signal, what);
      }
    } catch (err) {
      rest.destroy();
      body.destroy();
      if (bodyError !== undefined) throw bodyError;
      throw fromStore(err, what);
    }
    const late = opts.systemAtEnd?.() ?? {};
    const meta: ObjectMeta = { ...opts.meta, system: { ...opts.meta.system, ...late } };
    if (Object.keys(late).length > 0) {
      // entries only the end of the body told (trailer checksums): a metadata-only copy
      await this.call(() => this.client.send(new CopyObjectCommand({
        Bucket, Key: sk, CopySource: `${Bucket}/${encodeURIComponent(sk)}`, MetadataDirective: 'REPLACE', Metadata: { osprey: encodeMeta(meta, opts.lastModified) },
      })), what);
    }
    return { size: checker.received, etag, meta };
  }

  /** A body of unknown or large size as a multipart upload of the driver's own; completed only when whole. */
  private async multipartBody(sk: string, rest: Readable, size: number | undefined, metaValue: string, createOnly: boolean, signal: AbortSignal, what: { bucket: string; key: string }): Promise<string> {
    const Bucket = this.opts.bucket;
    const created = await this.streamClient.send(new CreateMultipartUploadCommand({ Bucket, Key: sk, Metadata: { osprey: metaValue } }));
    const UploadId = created.UploadId ?? '';
    const parts: { PartNumber: number; ETag: string }[] = [];
    let inFlight: Promise<void> | undefined;
    const sendPart = async (n: number, data: Buffer | Readable, length: number) => {
      const r = await this.streamClient.send(new UploadPartCommand({ Bucket, Key: sk, UploadId, PartNumber: n, Body: data, ContentLength: length }), { abortSignal: signal });
      parts[n - 1] = { PartNumber: n, ETag: r.ETag ?? '' };
    };
    try {
      if (size !== undefined) {
        // every part's length is known: each part streams straight from the body, one after the
        // other, with no part buffer at all (measured on Ceph, one 1 GiB PUT each: peak RSS 134
        // MiB with two 8 MiB part buffers, 122 MiB like this). The body's last chunk is still held
        // back until the body has passed its checks (checker.ts), so a failed body never completes
        // its last part.
        const it = rest[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        let carry: Buffer | undefined;
        let n = 0;
        for (let remaining = size; remaining > 0 || n === 0;) {
          const length = Math.min(PART_SIZE, remaining);
          const part = Readable.from((async function* () {
            for (let left = length; left > 0;) {
              let chunk = carry;
              carry = undefined;
              if (!chunk) {
                const r = await it.next();
                if (r.done) throw new S3Error('IncompleteBody');
                chunk = r.value;
              }
              if (chunk.length > left) {
                carry = chunk.subarray(left);
                chunk = chunk.subarray(0, left);
              }
              left -= chunk.length;
              yield chunk;
            }
          })(), { objectMode: false });
          part.on('error', () => {}); // reported through the part's request
          await sendPart(++n, part, length);
          remaining -= length;
        }
        if (carry?.length || !(await it.next()).done) throw new S3Error('IncompleteBody');
      } else {
        // two part buffers, used in turn for the whole upload: one fills while the other uploads.
        // (A new buffer per part, concatenated from the chunks, kept up to three parts alive: the
        // chunks, their concatenation and the part uploading; and left 8 MiB of garbage per part.)
        const buffers: Buffer[] = [];
        let cur = 0;
        let fill = 0;
        let n = 0;
        const flush = async () => {
          const data = (buffers[cur] ?? Buffer.alloc(0)).subarray(0, fill);
          await inFlight; // at most one part uploading while the next one fills
          inFlight = sendPart(++n, data, data.length);
          inFlight.catch(() => {});
          cur ^= 1;
          fill = 0;
        };
        for await (const c of rest) {
          const chunk = c as Buffer;
          for (let off = 0; off < chunk.length;) {
            const buf = (buffers[cur] ??= Buffer.allocUnsafe(PART_SIZE));
            const take = Math.min(chunk.length - off, PART_SIZE - fill);
            chunk.copy(buf, fill, off, off + take);
            fill += take;
            off += take;
            if (fill === PART_SIZE) await flush();
          }
        }
        if (fill > 0 || n === 0) await flush();
      }
      await inFlight;
      // RGW ignores If-None-Match on CompleteMultipartUpload: checked just before instead
      if (createOnly && (await this.headObject(what.bucket, what.key))) throw new S3Error('PreconditionFailed', { key: what.key, fields: { Condition: 'If-None-Match' } });
      const done = await this.streamClient.send(new CompleteMultipartUploadCommand({ Bucket, Key: sk, UploadId, MultipartUpload: { Parts: parts } }));
      const md5s = Buffer.concat(parts.map((p) => Buffer.from(bareEtag(p.ETag), 'hex')));
      return bareEtag(done.ETag) || `${createHash('md5').update(md5s).digest('hex')}-${parts.length}`;
    } catch (err) {
      await inFlight?.catch(() => {});
      await this.abortStoreUpload(sk, UploadId).catch(() => {});
      throw err;
    }
  }

  /**
   * A metadata-only copy of the store object onto itself with the new ACL in its metadata, only if
   * it is still the version read (CopySourceIfMatch: a concurrent PUT wins). Last-Modified is kept
   * in the metadata (lm), as a mirror's is.
   */
  async setObjectAcl(bucket: string, key: string, acl: string | undefined): Promise<void> {
    const info = await this.headObject(bucket, key);
    const sk = this.readKey(bucket, key);
    if (!info || sk === undefined) throw new S3Error('NoSuchKey', { key });
    const { acl: _old, ...rest } = info.meta;
    const meta: ObjectMeta = acl === undefined ? rest : { ...rest, acl };
    const Bucket = this.opts.bucket;
    await this.call(() => this.client.send(new CopyObjectCommand({
      Bucket, Key: sk, CopySource: `${Bucket}/${encodeURIComponent(sk)}`, CopySourceIfMatch: `"${info.etag}"`,
      MetadataDirective: 'REPLACE', Metadata: { osprey: encodeMeta(meta, info.lastModified) },
    })), { bucket, key });
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.requireBucket(bucket);
    const sk = this.readKey(bucket, key);
    if (sk !== undefined) await this.deleteKey(sk);
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListResult> {
    await this.requireBucket(bucket);
    if (opts.maxKeys <= 0) return { objects: [], commonPrefixes: [], isTruncated: false };
    const base = this.layout.objects(bucket);
    // one more than asked: whether the page is truncated is then known, not guessed
    const page = await this.call(() => this.client.send(new ListObjectsV2Command({
      Bucket: this.opts.bucket, Prefix: base + opts.prefix, MaxKeys: opts.maxKeys + 1,
      ...(opts.delimiter && { Delimiter: opts.delimiter }), ...(opts.startAfter !== undefined && opts.startAfter !== '' && { StartAfter: base + opts.startAfter }),
    })), { bucket });
    type Entry = { name: string; object?: ObjectInfo };
    const entries: Entry[] = [];
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      const key = o.Key.slice(base.length);
      entries.push({ name: key, object: { bucket, key, size: o.Size ?? 0, etag: bareEtag(o.ETag), lastModified: o.LastModified ?? new Date(0), meta: { headers: {}, userMeta: {}, system: {} } } });
    }
    const after = opts.startAfter ? Buffer.from(opts.startAfter) : undefined;
    for (const p of page.CommonPrefixes ?? []) {
      if (!p.Prefix) continue;
      const name = p.Prefix.slice(base.length);
      // a group the marker is inside of was already returned (S3 semantics)
      if (after && Buffer.compare(Buffer.from(name), after) <= 0) continue;
      entries.push({ name });
    }
    entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    const more = entries.length > opts.maxKeys || (page.IsTruncated === true && entries.length >= opts.maxKeys);
    const shown = entries.slice(0, opts.maxKeys);
    const last = shown.at(-1)?.name;
    return {
      objects: shown.flatMap((e) => (e.object ? [e.object] : [])),
      commonPrefixes: shown.filter((e) => !e.object).map((e) => e.name),
      isTruncated: more,
      ...(last !== undefined && { nextMarker: last }),
    };
  }

  // ---- multipart -----------------------------------------------------------------------------

  private async uploadDoc(bucket: string, key: string, uploadId: string): Promise<UploadDoc> {
    await this.requireBucket(bucket);
    if (!/^[\w.~-]{1,200}$/.test(uploadId)) throw new S3Error('NoSuchUpload', { key });
    const text = await this.getText(this.layout.upload(bucket, uploadId));
    const doc = text === undefined ? undefined : (JSON.parse(text) as UploadDoc);
    // an id is only valid with the bucket and key it was created for
    if (!doc || doc.key !== key) throw new S3Error('NoSuchUpload', { key });
    return doc;
  }

  async createMultipartUpload(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    await this.requireBucket(bucket);
    const sk = this.layout.object(bucket, key);
    const created = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.opts.bucket, Key: sk, Metadata: { osprey: encodeMeta(meta) } })), { bucket, key });
    const uploadId = created.UploadId ?? '';
    const initiated = Date.now();
    try {
      await this.putText(this.layout.upload(bucket, uploadId), JSON.stringify({ key, initiated, meta } satisfies UploadDoc));
    } catch (err) {
      await this.abortStoreUpload(sk, uploadId).catch(() => {});
      throw err;
    }
    return { uploadId, bucket, key, initiated: new Date(initiated), meta };
  }

  async getMultipartUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload> {
    const doc = await this.uploadDoc(bucket, key, uploadId);
    return { uploadId, bucket, key, initiated: new Date(doc.initiated), meta: doc.meta };
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>): Promise<PartInfo> {
    heldErrors(body);
    try {
      await this.uploadDoc(bucket, key, uploadId);
    } catch (err) {
      body.destroy();
      throw err;
    }
    const sk = this.layout.object(bucket, key);
    const checker = new BodyChecker(opts);
    let bodyError: unknown;
    const ac = new AbortController();
    const fail = (err: unknown) => {
      bodyError ??= err;
      ac.abort(err);
    };
    pipeline(body, checker).catch(fail);
    let spool: string | undefined;
    try {
      let data: Readable | Buffer = checker;
      let length = opts.size;
      if (length === undefined) {
        // the store needs each part's length first: an unknown one is spooled to a temp file
        spool = path.join(this.spoolDir, `osprey-part-${randomBytes(8).toString('hex')}`);
        await pipeline(checker, createWriteStream(spool, { mode: 0o600 }));
        length = checker.received;
        data = length <= SMALL_BODY ? await readFile(spool) : createReadStream(spool);
      }
      const r = await this.streamClient.send(new UploadPartCommand({
        Bucket: this.opts.bucket, Key: sk, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: length,
      }), { abortSignal: ac.signal });
      return { partNumber, etag: bareEtag(r.ETag) || (checker.digest ?? ''), size: length, lastModified: new Date() };
    } catch (err) {
      body.destroy();
      checker.destroy();
      if (bodyError !== undefined) throw bodyError;
      throw fromStore(err, { bucket, key });
    } finally {
      if (spool) await rm(spool, { force: true });
    }
  }

  /** every part the store holds for an upload, in part-number order */
  private async storeParts(sk: string, uploadId: string, marker: number, max: number): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    const parts: PartInfo[] = [];
    let next = marker;
    for (;;) {
      const r = await this.call(() => this.client.send(new ListPartsCommand({ Bucket: this.opts.bucket, Key: sk, UploadId: uploadId, PartNumberMarker: String(next), MaxParts: Math.min(1000, max - parts.length + 1) })),
      );
      for (const p of r.Parts ?? []) parts.push({ partNumber: p.PartNumber ?? 0, etag: bareEtag(p.ETag), size: p.Size ?? 0, lastModified: p.LastModified ?? new Date(0) });
      if (!r.IsTruncated || parts.length > max || (r.Parts ?? []).length === 0) break;
      next = parts.at(-1)?.partNumber ?? next;
    }
    return { parts: parts.slice(0, max), isTruncated: parts.length > max };
  }

  async listParts(bucket: string, key: string, uploadId: string, opts: { partNumberMarker: number; maxParts: number }): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    await this.uploadDoc(bucket, key, uploadId);
    return this.storeParts(this.layout.object(bucket, key), uploadId, opts.partNumberMarker, Math.max(0, opts.maxParts));
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, listed: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    const doc = await this.uploadDoc(bucket, key, uploadId);
    const sk = this.layout.object(bucket, key);
    // S3's order of checks: the list's order, then each part exists with that ETag, then sizes
    if (listed.length === 0) throw new S3Error('MalformedXML', { message: 'You must specify at least one part.' });
    for (let i = 1; i < listed.length; i++) {
      if ((listed[i]?.partNumber ?? 0) <= (listed[i - 1]?.partNumber ?? 0)) throw new S3Error('InvalidPartOrder');
    }
    const stored = new Map((await this.storeParts(sk, uploadId, 0, 10_000)).parts.map((p) => [p.partNumber, p]));
    const chosen = listed.map((p) => {
      const part = stored.get(p.partNumber);
      if (!part || part.etag !== bareEtag(p.etag)) throw new S3Error('InvalidPart', { fields: { PartNumber: String(p.partNumber), ETag: p.etag } });
      return part;
    });
    chosen.forEach((part, i) => {
      if (i < chosen.length - 1 && part.size < this.minPartSize) {
        throw new S3Error('EntityTooSmall', { fields: { PartNumber: String(part.partNumber), ProposedSize: String(part.size), MinSizeAllowed: String(this.minPartSize) } });
      }
    });
    const unlisted = [...stored.keys()].find((n) => !listed.some((p) => p.partNumber === n));
    if (unlisted !== undefined) {
      // RGW completes only with every uploaded part, in order: refused clearly, not half-done
      throw new S3Error('InvalidPart', {
        message: `Part ${unlisted} was uploaded but is not listed; this storage completes an upload only with all of its uploaded parts.`,
        fields: { PartNumber: String(unlisted) },
      });
    }
    const etag = `${createHash('md5').update(Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex')}-${chosen.length}`;
    const done = await this.call(() => this.client.send(new CompleteMultipartUploadCommand({
      Bucket: this.opts.bucket, Key: sk, UploadId: uploadId, MultipartUpload: { Parts: chosen.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
    })), { bucket, key });
    await this.deleteKey(this.layout.upload(bucket, uploadId)).catch(() => {});
    return { bucket, key, size: chosen.reduce((n, p) => n + p.size, 0), etag: bareEtag(done.ETag) || etag, lastModified: new Date(), meta: doc.meta };
  }

  private async abortStoreUpload(sk: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: sk, UploadId: uploadId }));
    } catch (err) {
      if (!isNotFound(err)) throw fromStore(err);
    }
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.uploadDoc(bucket, key, uploadId);
    await this.abortStoreUpload(this.layout.object(bucket, key), uploadId);
    await this.deleteKey(this.layout.upload(bucket, uploadId));
  }

  /** the store's multipart uploads under a prefix, in its order (key, then upload id) */
  private async *storeUploads(prefix: string, keyMarker?: string): AsyncGenerator<{ storeKey: string; uploadId: string; initiated: Date }> {
    let km = keyMarker;
    let um: string | undefined;
    for (;;) {
      const r = await this.call(() => this.client.send(new ListMultipartUploadsCommand({ Bucket: this.opts.bucket, Prefix: prefix, ...(km !== undefined && { KeyMarker: km }), ...(um !== undefined && { UploadIdMarker: um }) })),
      );
      for (const u of r.Uploads ?? []) if (u.Key && u.UploadId) yield { storeKey: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
      const last = r.Uploads?.at(-1);
      if (!r.IsTruncated || !last) return;
      km = r.NextKeyMarker ?? last.Key;
      um = r.NextUploadIdMarker ?? last.UploadId;
    }
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
    await this.requireBucket(bucket);
    if (opts.maxUploads <= 0) return { uploads: [], isTruncated: false };
    const base = this.layout.objects(bucket);
    // S3 orders one key's uploads by initiation; the store by (random) upload id. So whole
    // key groups are collected, ordered by our documents' initiation time, then paged.
    const found: { key: string; uploadId: string }[] = [];
    const collect = async (prefix: string, keyMarker: string | undefined, only?: string) => {
      for await (const u of this.storeUploads(prefix, keyMarker)) {
        const key = u.storeKey.slice(base.length);
        if (only !== undefined && key !== only) continue;
        // RGW also returns the marker's own key; S3 starts strictly after it
        if (only === undefined && opts.keyMarker !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(opts.keyMarker)) <= 0) continue;
        // enough once more than a page follows the marker's own group, and the last group is whole
        if (found.length - markerGroup > opts.maxUploads && found.at(-1)?.key !== key) return true;
        found.push({ key, uploadId: u.uploadId });
      }
      return false;
    };
    let markerGroup = 0;
    if (opts.keyMarker !== undefined && opts.uploadIdMarker !== undefined) {
      if (opts.keyMarker.startsWith(opts.prefix)) await collect(base + opts.keyMarker, undefined, opts.keyMarker);
      markerGroup = found.length;
    }
    const more = await collect(base + opts.prefix, opts.keyMarker !== undefined ? base + opts.keyMarker : undefined);
    const docs = await mapLimited(found, 16, async (u) => {
      const text = await this.getText(this.layout.upload(bucket, u.uploadId));
      const doc = text === undefined ? undefined : (JSON.parse(text) as UploadDoc);
      return doc && doc.key === u.key ? { ...u, doc } : undefined;
    });
    const known = docs.filter((d): d is NonNullable<typeof d> => d !== undefined);
    known.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || a.doc.initiated - b.doc.initiated || (a.uploadId < b.uploadId ? -1 : 1));
    let from = 0;
    if (opts.keyMarker !== undefined && opts.uploadIdMarker !== undefined) {
      const at = known.findIndex((u) => u.key === opts.keyMarker && u.uploadId === opts.uploadIdMarker);
      from = at >= 0 ? at + 1 : known.filter((u) => u.key === opts.keyMarker).length;
    }
    const rest = known.slice(from);
    const page = rest.slice(0, opts.maxUploads);
    return {
      uploads: page.map((u) => ({ uploadId: u.uploadId, bucket, key: u.key, initiated: new Date(u.doc.initiated), meta: u.doc.meta })),
      isTruncated: more || rest.length > opts.maxUploads,
    };
  }

  // ---- across nodes --------------------------------------------------------------------------

  /**
   * A create-only lease object (PutObject with If-None-Match: *, atomic in the store across
   * gateways) names one node as the filler of bucket/key until `ttlMs` from now. undefined when
   * another node holds a lease that has not expired. An expired lease (its node died) is removed
   * and taken over.
   */
  async acquireLease(bucket: string, key: string, ttlMs: number): Promise<LeaseHandle | undefined> {
    const lk = this.layout.lease(bucket, key);
    const owner = `${this.nodeId}-${randomBytes(4).toString('hex')}`;
    const doc = () => JSON.stringify({ owner, expires: Date.now() + ttlMs });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.putText(lk, doc(), true);
        return {
          renew: () => this.putText(lk, doc()),
          release: async () => {
            const now = await this.getText(lk).catch(() => undefined);
            // only our own lease: after an expiry another node may hold it
            if (now !== undefined && (JSON.parse(now) as { owner?: string }).owner === owner) await this.deleteKey(lk);
          },
        };
      } catch (err) {
        if (!(err instanceof S3Error && err.code === 'PreconditionFailed') && !isPreconditionFailed(err)) throw err;
      }
      const held = await this.getText(lk);
      if (held === undefined) continue; // released meanwhile: try again
      const expires = Number((JSON.parse(held) as { expires?: unknown }).expires);
      if (Number.isFinite(expires) && expires > Date.now()) return undefined;
      await this.deleteKey(lk); // expired: its node died or hung
    }
    return undefined;
  }

  /**
   * The owner key pair kept in the store, so that every node accepts the same one: read it, or
   * generate it and write it create-only (the first node to start wins, the others read its pair).
   */
  async sharedCredentials(): Promise<{ accessKeyId: string; secretAccessKey: string; generated: boolean }> {
    const key = this.layout.credentials();
    for (let attempt = 0; attempt < 3; attempt++) {
      const text = await this.getText(key);
      if (text !== undefined) {
        const c = JSON.parse(text) as { accessKeyId: string; secretAccessKey: string };
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, generated: false };
      }
      const made = { accessKeyId: 'OSPREY' + randomBytes(7).toString('hex').toUpperCase(), secretAccessKey: randomBytes(30).toString('base64url') };
      try {
        await this.putText(key, JSON.stringify(made), true);
        return { ...made, generated: true };
      } catch (err) {
        if (!(err instanceof S3Error && err.code === 'PreconditionFailed')) throw err;
      }
    }
    throw new Error('could not read or create the shared credentials in the store');
  }

  /**
   * Housekeeping a crashed node cannot do: multipart uploads of the driver's own (those without
   * an upload document) older than `staleUploadMs` are aborted, expired lease objects deleted.
   */
  async sweep(now = Date.now()): Promise<{ aborted: number; leases: number }> {
    let aborted = 0;
    let leases = 0;
    for await (const u of this.storeUploads(`${this.layout.base}b/`)) {
      if (now - u.initiated.getTime() < this.staleUploadMs) continue;
      const bucket = this.layout.bucketOf(u.storeKey);
      if (bucket !== undefined && (await this.getText(this.layout.upload(bucket, u.uploadId))) !== undefined) continue;
      await this.abortStoreUpload(u.storeKey, u.uploadId);
      aborted++;
    }
    for await (const lk of this.keysUnder(`${this.layout.base}l/`)) {
      const text = await this.getText(lk);
      const expires = text === undefined ? 0 : Number((JSON.parse(text) as { expires?: unknown }).expires);
      if (text !== undefined && Number.isFinite(expires) && expires + 60_000 < now) {
        await this.deleteKey(lk);
        leases++;
      }
    }
    return { aborted, leases };
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  }));
  return out;
}

/**
 * A body is handed over before the driver reads it: it first awaits its own checks (the bucket,
 * a create-only HEAD, the upload document). A body failing meanwhile (the client went away, a
 * mirror fill cancelled by a write of its key) had no 'error' listener yet and crashed the
 * process. Its error is not lost: the stream stays errored, and the pipeline that takes it
 * afterwards fails with it.
 */
function heldErrors(body: Readable): void {
  body.on('error', () => {});
}

export function openS3Driver(opts: S3DriverOptions): Promise<S3Driver> {
  return S3Driver.open(opts);
}
