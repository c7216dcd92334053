/**
 * @module service/objects
 * Object operations above the storage driver: the S3 semantics that do not belong to HTTP
 * (copy, batch delete, size caps). The back-to-origin engine hooks in here: a GET that finds
 * nothing is where mirroring starts.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';
import type { ByteRange, ObjectInfo, ObjectMeta, PutOptions, StorageDriver } from '../storage/driver.js';

export interface ObjectServiceOptions {
  maxObjectSize: number;
}

export class ObjectService {
  /** told of every write and delete of a key (the mirror engine: a PUT or DELETE wins over a fill, MIR-42) */
  onWrite: (bucket: string, key: string) => void = () => {};

  constructor(
    private readonly driver: StorageDriver,
    private readonly opts: ObjectServiceOptions,
  ) {}

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    const info = await this.driver.headObject(bucket, key);
    if (!info) throw new S3Error('NoSuchKey', { key });
    return info;
  }

  /** undefined when missing (the caller decides: NoSuchKey, website rules, mirroring). */
  async find(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    return this.driver.headObject(bucket, key);
  }

  async open(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer }> {
    const got = await this.driver.getObject(bucket, key, range);
    if (!got) throw new S3Error('NoSuchKey', { key });
    return got;
  }

  async put(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    if (opts.size !== undefined && opts.size > this.opts.maxObjectSize) {
      body.resume();
      throw new S3Error('EntityTooLarge', { fields: { ProposedSize: String(opts.size), MaxSizeAllowed: String(this.opts.maxObjectSize) } });
    }
    this.onWrite(bucket, key);
    return this.driver.putObject(bucket, key, body, { ...opts, maxSize: this.opts.maxObjectSize });
  }

  /**
   * Streams the source into a new object (COPY keeps the source metadata, REPLACE uses `meta`).
   * The copy's ACL is `acl` (undefined: none of its own), never the source's.
   */
  async copy(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, replaceMeta: ObjectMeta | undefined, acl: string | undefined, check: (info: ObjectInfo) => void): Promise<ObjectInfo> {
    const got = await this.driver.getObject(src.bucket, src.key);
    if (!got) throw new S3Error('NoSuchKey', { key: src.key, message: 'The specified copy source key does not exist.' });
    try {
      check(got.info);
      if (src.bucket === dst.bucket && src.key === dst.key && replaceMeta === undefined && acl === undefined) {
        throw new S3Error('InvalidRequest', {
          message: 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.',
        });
      }
    } catch (err) {
      got.body.destroy();
      throw err;
    }
    const { acl: _sourceAcl, ...kept } = replaceMeta ?? { ...got.info.meta, system: withoutChecksums(got.info.meta.system) };
    const meta: ObjectMeta = acl === undefined ? kept : { ...kept, acl };
    this.onWrite(dst.bucket, dst.key);
    return this.driver.putObject(dst.bucket, dst.key, got.body, { meta, size: got.info.size });
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.onWrite(bucket, key);
    await this.driver.deleteObject(bucket, key);
  }
}

function withoutChecksums(system: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(system).filter(([k]) => !k.startsWith('x-amz-checksum-')));
}
