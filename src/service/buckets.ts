/**
 * @module service/buckets
 * What a bucket operation means, above the storage driver, for every front end (the S3 and OSS
 * handlers, the console API, the rule simulator, the server's ACL check): create (with S3's
 * re-create rules), delete, look up, list (with ListBuckets' paging), the canned ACL, and the
 * store's readiness. The bucket configurations (website rules, CORS) are service/website.ts's and
 * service/cors.ts's.
 */
import { S3Error } from '../errors.js';
import type { BucketInfo, CannedAcl, StorageDriver } from '../storage/driver.js';

export interface BucketServiceOptions {
  /** the region Osprey answers for: us-east-1 keeps S3's legacy re-create answer (200) */
  region: string;
}

export class BucketService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly opts: BucketServiceOptions,
  ) {}

  /** Answers when the store is usable (health/ready); throws otherwise. */
  async ping(): Promise<void> {
    await this.driver.ping();
  }

  /** Every bucket, in the store's order. */
  async all(): Promise<BucketInfo[]> {
    return this.driver.listBuckets();
  }

  /**
   * ListBuckets' page: the buckets whose names start with `prefix` and sort after `after`, in name
   * order, at most `max`; `more` when some were left off.
   */
  async page(opts: { prefix: string; after?: string; max: number }): Promise<{ buckets: BucketInfo[]; more: boolean }> {
    const { prefix, after, max } = opts;
    const all = (await this.driver.listBuckets())
      .filter((b) => b.name.startsWith(prefix) && (after === undefined || b.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const buckets = all.slice(0, max);
    return { buckets, more: all.length > buckets.length };
  }

  /** undefined when the bucket does not exist. */
  async get(name: string): Promise<BucketInfo | undefined> {
    return this.driver.getBucket(name);
  }

  /** The bucket, or NoSuchBucket. */
  async require(name: string): Promise<BucketInfo> {
    const info = await this.driver.getBucket(name);
    if (!info) throw new S3Error('NoSuchBucket', { bucket: name });
    return info;
  }

  /** Create a bucket; BucketAlreadyOwnedByYou when it exists (the console's answer). */
  async create(name: string, acl: CannedAcl): Promise<BucketInfo> {
    return this.driver.createBucket(name, acl);
  }

  /**
   * CreateBucket as the S3 and OSS APIs answer it. Re-creating your own bucket: S3's legacy
   * us-east-1 behaviour (what s3-tests and RGW expect) answers 200 and changes nothing, unless it
   * asks for another ACL (409 BucketAlreadyExists). Other regions, and the OSS dialect, answer 409
   * BucketAlreadyOwnedByYou / BucketAlreadyExists.
   */
  async createFromApi(name: string, acl: CannedAcl, dialect: 's3' | 'oss'): Promise<void> {
    try {
      await this.driver.createBucket(name, acl);
    } catch (err) {
      if (!(err instanceof S3Error && err.code === 'BucketAlreadyOwnedByYou')) throw err;
      const info = await this.driver.getBucket(name);
      if (dialect === 'oss') throw new S3Error('BucketAlreadyExists', { bucket: name });
      if (info && info.acl !== acl) throw new S3Error('BucketAlreadyExists', { bucket: name });
      if (this.opts.region !== 'us-east-1') throw err;
    }
  }

  /** NoSuchBucket / BucketNotEmpty; multipart uploads in progress go with it. */
  async delete(name: string): Promise<void> {
    await this.driver.deleteBucket(name);
  }

  async setAcl(name: string, acl: CannedAcl): Promise<void> {
    await this.driver.setBucketAcl(name, acl);
  }
}
