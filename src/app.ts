/**
 * @module app
 * Composition root: builds the storage driver, services and the HTTP server from a Config.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { keyStore, loadCredentials } from './credentials.js';
import type { Credentials } from './credentials.js';
import { listen } from './http/server.js';
import { Metrics } from './metrics/index.js';
import { BucketService } from './service/buckets.js';
import { CorsService } from './service/cors.js';
import { MultipartService } from './service/multipart.js';
import { ObjectService } from './service/objects.js';
import { ReadService } from './service/read.js';
import { WebsiteService } from './service/website.js';
import { MirrorEngine } from './mirror/engine.js';
import { guardedDispatcher } from './origin/connect-guard.js';
import { originGuard } from './origin/origin-guard.js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './config.js';
import { openFsDriver } from './storage/fs/index.js';
import { warmUp } from './warm-up.js';
import type { S3Driver } from './storage/s3/index.js';
import type { StorageDriver } from './storage/driver.js';

export interface App {
  url: string;
  port: number;
  credentials: Credentials;
  driver: StorageDriver;
  metrics: Metrics;
  log: Logger;
  /**
   * Graceful stop: no new connections; requests in flight and fills get until `timeoutMs`
   * (default: the shutdownTimeoutMs setting) to finish; then connections are closed, the fills
   * left are aborted (nothing partial is stored) and the store is closed.
   */
  close(timeoutMs?: number): Promise<void>;
}

export function makeLogger(config: Pick<Config, 'logFormat' | 'logLevel'>): Logger {
  if (config.logFormat === 'pretty') {
    // colours only for a terminal (the transport's worker cannot tell); NO_COLOR and FORCE_COLOR as usual
    const force = process.env.FORCE_COLOR;
    const colorize = force !== undefined && force !== '0' ? true : !process.env.NO_COLOR && process.stdout.isTTY === true;
    return pino({ level: config.logLevel, transport: { target: 'pino-pretty', options: { colorize } } });
  }
  return pino({ level: config.logLevel });
}

/** the longest `osprey serve` waits for its warm-up before it listens, ms */
const WARM_UP_WAIT_MS = 5000;

/** How a server starts besides its Config: the start-up warm-up's own throwaway server is started with both. */
export interface StartOptions {
  /**
   * The start-up warm-up (warm-up.ts): 'background' (the default) runs it once the server listens,
   * beside the first requests; 'before-listen' runs it first, so the first request finds the GET
   * path compiled (`osprey serve` does: a few hundred ms more before it listens); false: none.
   */
  warmUp?: 'background' | 'before-listen' | false;
  /** a throwaway server (warm-up): no reserve in its store, no process-wide metrics */
  throwaway?: boolean;
}

export async function startApp(config: Readonly<Config>, log: Logger = makeLogger(config), opts: StartOptions = {}): Promise<App> {
  const { driver, credentials, spoolDir } = await openStorage(config, opts.throwaway === true);
  if (!driver.capabilities.createOnly)
    log.warn(
      'the store ignores create-only PUTs (If-None-Match: *): with several nodes, two may fill one key and a PUT during a fill may be overwritten',
    );
  const website = new WebsiteService(driver, config.maxRoutingRules, originGuard(config.originAllow));
  const mirror = new MirrorEngine(driver, {
    spoolDir,
    headersTimeoutMs: config.mirrorTimeoutMs,
    idleTimeoutMs: config.mirrorIdleTimeoutMs,
    maxObjectSize: config.maxObjectSize,
    tagForm: config.mirrorTag,
    maxPerOrigin: config.mirrorMaxPerOrigin,
    dispatcher: guardedDispatcher(config),
    probeIntervalMs: config.mirrorProbeIntervalMs,
  });
  // the one write path: every write or delete of a key tells the mirror engine first (MIR-42)
  const objects = new ObjectService(driver, mirror, { maxObjectSize: config.maxObjectSize });
  const buckets = new BucketService(driver, { region: config.region });
  const multipart = new MultipartService(driver, objects);
  const metrics = new Metrics(mirror.activity, { defaultMetrics: opts.throwaway !== true });
  const cors = new CorsService(driver);
  // what a GET/HEAD of an object means: the handlers and the console's simulator render or explain its outcome
  const reads = new ReadService(driver, objects, website, cors, mirror);
  // the GET path run once on a throwaway server, not cold in the first users' requests (issue 19,
  // warm-up.ts); close() waits for one still running (its temporary directory goes with it)
  const warm = () =>
    warmUp(config, (c, l) => startApp(c, l, { warmUp: false, throwaway: true })).then(
      (statuses) => log.debug({ statuses }, 'the start-up warm-up ran'),
      (err: unknown) => log.debug({ err }, 'the start-up warm-up failed'),
    );
  let warming: Promise<void> = Promise.resolve();
  if (opts.warmUp === 'before-listen') {
    warming = warm();
    // bounded: a warm-up that hangs never keeps the server from listening (it goes on beside it)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([warming, new Promise<void>((resolve) => (timer = setTimeout(resolve, WARM_UP_WAIT_MS)))]);
    clearTimeout(timer);
  }
  const running = await listen({
    config,
    buckets,
    objects,
    multipart,
    reads,
    website,
    cors,
    metrics,
    keys: keyStore(credentials),
    log,
    ownerId: credentials.accessKeyId,
  });
  if ((opts.warmUp ?? 'background') === 'background') warming = warm();
  const host = running.address.family === 'IPv6' ? `[${running.address.address}]` : running.address.address;
  return {
    url: `http://${host}:${running.address.port}`,
    port: running.address.port,
    credentials,
    driver,
    metrics,
    log,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      const deadline = Date.now() + timeoutMs;
      await running.close(deadline);
      // fills that outlived their clients finish storing (or fail) before the store closes
      await mirror.drain(Math.max(0, deadline - Date.now()));
      await mirror.abortAll();
      mirror.probes.close();
      await warming;
      await driver.close();
      if (config.storage) await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/**
 * The store: the embedded one in the data dir, or (issue #7) an S3-compatible store shared by
 * every node. With a shared store nothing lives on the node: the owner key pair comes from the
 * config or from the store (generated there once, create-only), and mirror spool files go to a
 * private directory under os.tmpdir(). A store that cannot be used stops the start with one line
 * (ConfigError 'storage': exit code 2).
 */
async function openStorage(
  config: Readonly<Config>,
  throwaway: boolean,
): Promise<{ driver: StorageDriver; credentials: Credentials; spoolDir: string }> {
  if (!config.storage) {
    // the store first: it takes the data dir's lock before anything in the dir is touched
    const driver = await openFsDriver({ dir: config.dataDir, minPartSize: config.minPartSize, ...(throwaway && { reserveBytes: 0 }) });
    let credentials: Credentials;
    try {
      credentials = loadCredentials(config.dataDir, config);
    } catch (err) {
      await driver.close();
      throw err;
    }
    const spoolDir = path.join(config.dataDir, 'tmp');
    await mkdir(spoolDir, { recursive: true });
    return { driver, credentials, spoolDir };
  }
  // loaded only when used: the AWS SDK costs start-up time and memory a single-machine server never needs
  const { openS3Driver, parseStorageUrl } = await import('./storage/s3/index.js');
  const where = parseStorageUrl(config.storage);
  if (!where) throw new ConfigError('storage', `'${config.storage}' is not s3://BUCKET[/PREFIX]`);
  const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'osprey-spool-'));
  let driver: S3Driver;
  try {
    driver = await openS3Driver({
      bucket: where.bucket,
      prefix: where.prefix,
      endpoint: config.storageEndpoint ?? '',
      region: config.storageRegion,
      accessKeyId: config.storageAccessKeyId ?? '',
      secretAccessKey: config.storageSecretAccessKey ?? '',
      minPartSize: config.minPartSize,
      spoolDir,
    });
  } catch (err) {
    await rm(spoolDir, { recursive: true, force: true });
    throw new ConfigError('storage', `cannot use ${config.storage} at ${config.storageEndpoint ?? ''}: ${(err as Error).message}`);
  }
  try {
    const credentials: Credentials =
      config.accessKeyId && config.secretAccessKey
        ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, generated: false }
        : await driver.sharedCredentials();
    return { driver, credentials, spoolDir };
  } catch (err) {
    await driver.close();
    await rm(spoolDir, { recursive: true, force: true });
    throw new ConfigError('storage', `cannot use ${config.storage} at ${config.storageEndpoint ?? ''}: ${(err as Error).message}`);
  }
}
