/**
 * @module http/deps
 * What the composition root hands to the HTTP layer.
 */
import type { Logger } from 'pino';
import type { KeyStore } from '../auth/types.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics/index.js';
import type { BucketService } from '../service/buckets.js';
import type { CorsService } from '../service/cors.js';
import type { MultipartService } from '../service/multipart.js';
import type { ObjectService } from '../service/objects.js';
import type { ReadService } from '../service/read.js';
import type { WebsiteService } from '../service/website.js';

export interface Deps {
  config: Readonly<Config>;
  buckets: BucketService;
  /** every write of an object goes through it (MIR-42, create-only) */
  objects: ObjectService;
  multipart: MultipartService;
  /** what a GET/HEAD of an object means (the read path, the rule simulator) */
  reads: ReadService;
  website: WebsiteService;
  cors: CorsService;
  metrics: Metrics;
  keys: KeyStore;
  log: Logger;
  /** the owner shown in ACL and list responses */
  ownerId: string;
}
