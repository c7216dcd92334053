/**
 * @module service/website
 * A bucket's website configuration (index/error documents and back-to-origin rules), stored with
 * the bucket through the driver. Read on every request, so a change applies to the very next one;
 * parsed only when its stored text changed (the parse was ~2 % of a cold small mirror's CPU), and
 * the parsed configuration is frozen, as every request shares it.
 */
import { S3Error } from '../errors.js';
import type { WebsiteConfig } from '../rules/rules.js';
import { fromStored, keepMaskedSecrets, parseWebsiteXml, toStored } from '../rules/rules.js';
import type { StorageDriver } from '../storage/driver.js';
import { ConfigCache } from './config-cache.js';

const NAME = 'website';

export class WebsiteService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly maxRules: number,
    /** VAL-16: refuses literal loopback/link-local/metadata origins unless allowed */
    private readonly originGuard?: (url: URL) => string | undefined,
  ) {
    this.configs = new ConfigCache(driver, NAME, fromStored);
  }

  private readonly configs: ConfigCache<WebsiteConfig>;

  get(bucket: string): Promise<WebsiteConfig | undefined> {
    return this.configs.get(bucket);
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
