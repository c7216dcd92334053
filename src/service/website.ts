/**
 * @module service/website
 * A bucket's website configuration (index/error documents and back-to-origin rules), stored with
 * the bucket through the driver. Read on every request, so a change applies to the very next one.
 */
import { S3Error } from '../errors.js';
import type { WebsiteConfig } from '../origin/rules.js';
import { fromStored, keepMaskedSecrets, parseWebsiteXml, toStored } from '../origin/rules.js';
import type { StorageDriver } from '../storage/driver.js';

const NAME = 'website';

export class WebsiteService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly maxRules: number,
    /** VAL-16: refuses literal loopback/link-local/metadata origins unless allowed */
    private readonly originGuard?: (url: URL) => string | undefined,
  ) {}

  async get(bucket: string): Promise<WebsiteConfig | undefined> {
    const text = await this.driver.getBucketConfig(bucket, NAME);
    return text === undefined ? undefined : fromStored(text);
  }

  async require(bucket: string): Promise<WebsiteConfig> {
    const cfg = await this.get(bucket);
    if (!cfg) throw new S3Error('NoSuchWebsiteConfiguration', { bucket });
    return cfg;
  }

  /** Validates and stores, replacing the whole configuration (API-01). */
  async put(bucket: string, xml: string): Promise<WebsiteConfig> {
    if (!(await this.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
    const parsed = parseWebsiteXml(xml, { maxRules: this.maxRules, ...(this.originGuard && { originGuard: this.originGuard }) });
    // GET-03 masks MirrorAuth secrets: a configuration read back and put again keeps the stored ones
    const cfg = keepMaskedSecrets(parsed, await this.get(bucket));
    await this.driver.putBucketConfig(bucket, NAME, toStored(cfg));
    return cfg;
  }

  async delete(bucket: string): Promise<void> {
    await this.driver.putBucketConfig(bucket, NAME, undefined);
  }
}
