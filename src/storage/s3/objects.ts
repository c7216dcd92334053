/**
 * @module storage/s3/objects
 * Objects: GET and HEAD through the lean reader (reader.ts), PUT by size (write.ts), the ACL as a
 * metadata-only copy, DELETE. Objects are never cached.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../../errors.js';
import type { ByteRange, ObjectInfo, ObjectMeta, PutOptions } from '../driver.js';
import type { Buckets } from './buckets.js';
import { fromStore } from './errors.js';
import { bareEtag, decodeMeta, encodeMeta } from './layout.js';
import type { Layout } from './layout.js';
import { StoreReader } from './reader.js';
import type { Store } from './store.js';
import { heldErrors } from './write.js';
import type { BodyWriter } from './write.js';

/** GETs up to this size are read whole and handed out as `bytes` */
const SMALL_READ = 64 * 1024;

export class Objects {
  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
    private readonly buckets: Buckets,
    private readonly writer: BodyWriter,
  ) {}

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
  private async read(
    method: 'GET' | 'HEAD',
    bucket: string,
    key: string,
    range?: ByteRange,
    collectUpTo = 0,
  ): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    await this.buckets.require(bucket);
    const sk = this.readKey(bucket, key);
    if (sk === undefined) return undefined;
    let res;
    try {
      res = await this.store.read(method, sk, range, collectUpTo);
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
      bucket,
      key,
      size: Number.isFinite(total) ? total : 0,
      etag: bareEtag(h.etag),
      lastModified: lastModified ?? (h['last-modified'] ? new Date(h['last-modified']) : new Date(0)),
      meta,
    };
    if (res.bytes && method === 'GET')
      return {
        info,
        bytes: res.bytes,
        get body(): Readable {
          return res.body;
        },
      };
    return { info, body: res.body };
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    return (await this.read('HEAD', bucket, key))?.info;
  }

  async get(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    // a small body (by the store's Content-Length) is read whole: the HTTP layer then answers in one write
    return this.read('GET', bucket, key, range, SMALL_READ);
  }

  async put(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    heldErrors(body);
    let sk: string;
    try {
      // fail before reading the body when the answer is already known
      await this.buckets.require(bucket);
      sk = this.layout.object(bucket, key);
      encodeMeta(opts.meta, opts.lastModified);
      if (opts.ifNoneMatch && (await this.head(bucket, key)))
        throw new S3Error('PreconditionFailed', { key, fields: { Condition: 'If-None-Match' } });
    } catch (err) {
      body.destroy();
      throw err;
    }
    const r = await this.writer.write(
      sk,
      body,
      opts,
      opts.ifNoneMatch === true,
      { bucket, key },
      async () => (await this.head(bucket, key)) !== undefined,
    );
    return { bucket, key, size: r.size, etag: r.etag, lastModified: opts.lastModified ?? new Date(), meta: r.meta };
  }

  /**
   * A metadata-only copy of the store object onto itself with the new ACL in its metadata, only if
   * it is still the version read (CopySourceIfMatch: a concurrent PUT wins). Last-Modified is kept
   * in the metadata (lm), as a mirror's is.
   */
  async setAcl(bucket: string, key: string, acl: string | undefined): Promise<void> {
    const info = await this.head(bucket, key);
    const sk = this.readKey(bucket, key);
    if (!info || sk === undefined) throw new S3Error('NoSuchKey', { key });
    const { acl: _old, ...rest } = info.meta;
    const meta: ObjectMeta = acl === undefined ? rest : { ...rest, acl };
    await this.store.replaceMeta(sk, meta, info.lastModified, { bucket, key }, info.etag);
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.buckets.require(bucket);
    const sk = this.readKey(bucket, key);
    if (sk !== undefined) await this.store.deleteKey(sk);
  }
}
