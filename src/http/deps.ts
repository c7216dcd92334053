/**
 * @module http/deps
 * What the composition root hands to the HTTP layer.
 */
import type { Logger } from 'pino';
import type { KeyStore } from '../auth/types.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics/index.js';
import type { MirrorEngine } from '../mirror/engine.js';
import type { CorsService } from '../service/cors.js';
import type { ObjectService } from '../service/objects.js';
import type { WebsiteService } from '../service/website.js';
import type { StorageDriver } from '../storage/driver.js';

export interface Deps {
  config: Readonly<Config>;
  driver: StorageDriver;
  objects: ObjectService;
  website: WebsiteService;
  cors: CorsService;
  mirror: MirrorEngine;
  metrics: Metrics;
  keys: KeyStore;
  log: Logger;
  /** the owner shown in ACL and list responses */
  ownerId: string;
}
