/**
 * @module storage/s3/buckets
 * Buckets and their configurations, as documents in the store (layout.ts). Bucket documents and
 * configurations are cached for at most `cacheTtlMs` (≤ 1 s): a change made through one node is
 * seen by every node within that time.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3Error } from '../../errors.js';
import type { BucketInfo, CannedAcl } from '../driver.js';
import { CANNED_ACLS } from '../driver.js';
import { TtlCache } from './cache.js';
import type { Layout } from './layout.js';
import type { Store } from './store.js';

export interface BucketDoc {
  created: number;
  acl: CannedAcl;
}

export class Buckets {
  private readonly buckets: TtlCache<BucketDoc | undefined>;
  private readonly configs: TtlCache<string | undefined>;

  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
    cacheTtlMs: number | undefined,
  ) {
    const ttl = Math.min(cacheTtlMs ?? 500, 1000);
    this.buckets = new TtlCache(ttl);
    this.configs = new TtlCache(ttl);
  }

  private bucketDoc(name: string): Promise<BucketDoc | undefined> {
    return this.buckets.get(name, async () => {
      const text = await this.store.getText(this.layout.bucketDoc(name));
      if (text === undefined) return undefined;
      const doc = JSON.parse(text) as Partial<BucketDoc>;
      return { created: Number(doc.created) || 0, acl: CANNED_ACLS.includes(doc.acl as CannedAcl) ? (doc.acl as CannedAcl) : 'private' };
    });
  }

  async require(name: string): Promise<BucketDoc> {
    const doc = await this.bucketDoc(name);
    if (!doc) throw new S3Error('NoSuchBucket', { bucket: name });
    return doc;
  }

  async list(): Promise<BucketInfo[]> {
    const names: string[] = [];
    const base = this.layout.bucketDocs();
    for await (const key of this.store.keysUnder(base)) names.push(key.slice(base.length));
    const out: BucketInfo[] = [];
    for (let i = 0; i < names.length; i += 16) {
      const docs = await Promise.all(names.slice(i, i + 16).map(async (name) => ({ name, doc: await this.bucketDoc(name) })));
      for (const { name, doc } of docs) if (doc) out.push({ name, created: new Date(doc.created), acl: doc.acl });
    }
    return out;
  }

  async create(name: string, acl: CannedAcl): Promise<BucketInfo> {
    const created = Date.now();
    this.buckets.invalidate(name);
    try {
      await this.store.putText(this.layout.bucketDoc(name), JSON.stringify({ created, acl }), true);
    } catch (err) {
      if (err instanceof S3Error && err.code === 'PreconditionFailed') throw new S3Error('BucketAlreadyOwnedByYou', { bucket: name });
      throw err;
    }
    this.buckets.invalidate(name);
    return { name, created: new Date(created), acl };
  }

  async get(name: string): Promise<BucketInfo | undefined> {
    const doc = await this.bucketDoc(name);
    return doc && { name, created: new Date(doc.created), acl: doc.acl };
  }

  async delete(name: string): Promise<void> {
    this.buckets.invalidate(name);
    await this.require(name);
    const page = await this.store.call(() =>
      this.store.client.send(new ListObjectsV2Command({ Bucket: this.store.bucket, Prefix: this.layout.objects(name), MaxKeys: 1 })),
    );
    if ((page.KeyCount ?? page.Contents?.length ?? 0) > 0) throw new S3Error('BucketNotEmpty', { bucket: name });
    // uploads in progress go with the bucket: the store's parts, then our documents
    for await (const u of this.store.uploads(this.layout.objects(name))) await this.store.abortUpload(u.storeKey, u.uploadId);
    await this.store.deleteUnder(this.layout.uploads(name));
    await this.store.deleteUnder(`${this.layout.bucketRoot(name)}c/`);
    await this.store.deleteKey(this.layout.bucketDoc(name));
    this.buckets.invalidate(name);
    this.configs.invalidatePrefix(`${name}\0`);
  }

  async setAcl(name: string, acl: CannedAcl): Promise<void> {
    this.buckets.invalidate(name);
    const doc = await this.require(name);
    await this.store.putText(this.layout.bucketDoc(name), JSON.stringify({ created: doc.created, acl }));
    this.buckets.invalidate(name);
  }

  async getConfig(bucket: string, name: string): Promise<string | undefined> {
    await this.require(bucket);
    return this.configs.get(`${bucket}\0${name}`, () => this.store.getText(this.layout.config(bucket, name)));
  }

  async putConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    await this.require(bucket);
    const key = this.layout.config(bucket, name);
    this.configs.invalidate(`${bucket}\0${name}`);
    if (value === undefined) await this.store.deleteKey(key);
    else await this.store.putText(key, value);
    this.configs.invalidate(`${bucket}\0${name}`);
  }
}
