/**
 * @module service/objects
 * Object operations above the storage driver: the S3 semantics that do not belong to HTTP
 * (copy, batch delete, size caps). It is the one write path: every write or delete of a key,
 * whatever the front end (S3, OSS, the console), goes through `put`, `copy`, `delete` or
 * `completeUpload`, which tell the mirror engine first, so that a fill of that key in progress does
 * not store over it (MIR-42), and apply the create-only rule (If-None-Match: *).
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';
import type { Tag } from '../rules/tagging.js';
import { TAG_SET_META, decodeTagSet } from '../rules/tagging.js';
import type { ListedPart } from '../storage/multipart.js';
import type { ByteRange, ListOptions, ListResult, ObjectInfo, ObjectMeta, PutOptions, StorageDriver } from '../storage/driver.js';
import { fromBucketAcl } from './acl.js';

export interface ObjectServiceOptions {
  maxObjectSize: number;
}

/**
 * What is told of every write and delete of a key before it is made: the mirror engine
 * (MirrorEngine.forget), whose fill of that key in progress must then not store (MIR-42).
 */
export interface KeyWrites {
  forget(bucket: string, key: string): void;
}

export class ObjectService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly writes: KeyWrites,
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

  /**
   * The object opened, or undefined when the key has none: for a reader that expects misses (the
   * rules' lookups, every mirror fill's first step), which then cost no error and its stack trace
   * (~2 % of a cold 4 KiB fill's samples, issue 19).
   */
  openIfThere(bucket: string, key: string): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    return this.driver.getObject(bucket, key);
  }

  async put(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    if (opts.size !== undefined && opts.size > this.opts.maxObjectSize) {
      body.resume();
      throw new S3Error('EntityTooLarge', { fields: { ProposedSize: String(opts.size), MaxSizeAllowed: String(this.opts.maxObjectSize) } });
    }
    this.writes.forget(bucket, key);
    return this.driver.putObject(bucket, key, body, { ...opts, maxSize: this.opts.maxObjectSize });
  }

  /**
   * Streams the source into a new object (COPY keeps the source metadata, REPLACE uses `meta`).
   * The copy's ACL is `acl` (undefined: none of its own), never the source's.
   */
  async copy(
    src: { bucket: string; key: string },
    dst: { bucket: string; key: string },
    replaceMeta: ObjectMeta | undefined,
    acl: string | undefined,
    check: (info: ObjectInfo) => void,
  ): Promise<ObjectInfo> {
    const got = await this.driver.getObject(src.bucket, src.key);
    if (!got) throw new S3Error('NoSuchKey', { key: src.key, message: 'The specified copy source key does not exist.' });
    try {
      check(got.info);
      if (src.bucket === dst.bucket && src.key === dst.key && replaceMeta === undefined && acl === undefined) {
        throw new S3Error('InvalidRequest', {
          message:
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        });
      }
    } catch (err) {
      got.body.destroy();
      throw err;
    }
    const { acl: _sourceAcl, ...kept } = replaceMeta ?? { ...got.info.meta, system: withoutChecksums(got.info.meta.system) };
    const meta: ObjectMeta = acl === undefined ? kept : { ...kept, acl };
    this.writes.forget(dst.bucket, dst.key);
    return this.driver.putObject(dst.bucket, dst.key, got.body, { meta, size: got.info.size });
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.writes.forget(bucket, key);
    await this.driver.deleteObject(bucket, key);
  }

  /**
   * CompleteMultipartUpload: the upload becomes the object, as a PUT would make it (a fill of the
   * key in progress does not store over it). `ifNoneMatch` (S3 conditional writes; `osprey import`
   * sends it): only create; checked just before the commit, not atomically with it as PutObject's is.
   */
  async completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: ListedPart[],
    opts: { ifNoneMatch?: boolean } = {},
  ): Promise<ObjectInfo> {
    if (opts.ifNoneMatch && (await this.driver.headObject(bucket, key)) !== undefined) {
      throw new S3Error('PreconditionFailed', { key, fields: { Condition: 'If-None-Match' } });
    }
    this.writes.forget(bucket, key);
    return this.driver.completeMultipartUpload(bucket, key, uploadId, parts);
  }
  /** One page of the keys in a bucket, in UTF-8 binary order. */
  async list(bucket: string, opts: ListOptions): Promise<ListResult> {
    return this.driver.listObjects(bucket, opts);
  }

  /** The ACL that applies to an object: its own, or (none of its own) its bucket's. */
  async effectiveAcl(bucket: string, info: ObjectInfo): Promise<string> {
    return info.meta.acl ?? fromBucketAcl((await this.driver.getBucket(bucket))?.acl ?? 'private');
  }

  /**
   * PutObjectAcl: replace the stored ACL of an existing object (undefined removes it) and nothing
   * else. Not a write of the key for MIR-42: a key with a fill in progress does not exist yet
   * (NoSuchKey).
   */
  async setAcl(bucket: string, key: string, acl: string | undefined): Promise<void> {
    await this.driver.setObjectAcl(bucket, key, acl);
  }

  /** GetObjectTagging: the tags stored with an object (today from a Mirror rule's MirrorTaggings, MIR-30). */
  async tags(bucket: string, key: string): Promise<Tag[]> {
    const info = await this.head(bucket, key);
    return decodeTagSet(info.meta.system[TAG_SET_META]);
  }
}

function withoutChecksums(system: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(system).filter(([k]) => !k.startsWith('x-amz-checksum-')));
}
