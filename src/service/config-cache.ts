/**
 * @module service/config-cache
 * A bucket configuration read from the driver on every request, parsed again only when its stored
 * text changed, and shared frozen (every request reads the same object). Used by the website and
 * CORS services.
 */
import type { StorageDriver } from '../storage/driver.js';

/** buckets whose parsed configuration is kept (beyond that, the map starts again) */
const PARSED_MAX = 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class ConfigCache<T> {
  /** the last configuration parsed per bucket, with the stored text it came from */
  private readonly parsed = new Map<string, { text: string; cfg: T }>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly name: string,
    private readonly fromStored: (text: string) => T,
  ) {}

  /** undefined when the bucket has none. Throws NoSuchBucket (from the driver). */
  async get(bucket: string): Promise<T | undefined> {
    const text = await this.driver.getBucketConfig(bucket, this.name);
    if (text === undefined) {
      this.parsed.delete(bucket);
      return undefined;
    }
    const hit = this.parsed.get(bucket);
    if (hit?.text === text) return hit.cfg;
    const cfg = deepFreeze(this.fromStored(text));
    if (this.parsed.size >= PARSED_MAX) this.parsed.clear();
    this.parsed.set(bucket, { text, cfg });
    return cfg;
  }
}
