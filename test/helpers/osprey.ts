/**
 * Test helpers that start the real thing: an Osprey server on 127.0.0.1 (in this process, or as
 * a child process for crash tests), temp dirs, and real clients pointed at it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import type { RawSettings } from '../../src/config.ts';
import { buildConfig } from '../../src/config.ts';

// The AWS SDK's documented switch for its NodeVersionSupportWarning (Node 20 is still supported
// here); scripts/test.sh sets it too, this covers a test file run on its own.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const ACCESS_KEY = 'OSPREYTESTKEY';
export const SECRET_KEY = 'osprey-test-secret-key-0123456789';
export const ROOT = path.resolve(import.meta.dirname, '../..');

export async function tmpDir(prefix = 'osprey-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * The storage driver every server these helpers start runs on (issue #20): the embedded store,
 * or with OSPREY_TEST_DRIVER=s3 the S3 driver against a shared throwaway store (scripts/test.sh
 * starts one Ceph RGW for the whole pass), given by OSPREY_TEST_S3_ENDPOINT,
 * OSPREY_TEST_S3_ACCESS_KEY and OSPREY_TEST_S3_SECRET_KEY (and OSPREY_TEST_S3_BUCKET, default
 * osprey-test). Each server's data lives under its own prefix in that bucket, derived from its
 * data dir (fresh per server; the same dir again, as in a restart, finds the same data).
 */
export const TEST_DRIVER: 'fs' | 's3' = process.env.OSPREY_TEST_DRIVER === 's3' ? 's3' : 'fs';
export const ON_S3 = TEST_DRIVER === 's3';

/** For node:test's `skip` option: a test only the embedded store can run (reads its files, kills its commit…) is skipped in the S3 pass with this reason. */
export function fsOnly(why: string): string | false {
  return ON_S3 ? `embedded store only (OSPREY_TEST_DRIVER=s3): ${why}` : false;
}

/** the S3 driver's settings for a server whose data dir is `dataDir` (undefined: a fresh prefix) */
export function s3Storage(dataDir?: string): {
  storage: string;
  storageEndpoint: string;
  storageAccessKeyId: string;
  storageSecretAccessKey: string;
} {
  const env = process.env;
  const endpoint = env.OSPREY_TEST_S3_ENDPOINT;
  const accessKeyId = env.OSPREY_TEST_S3_ACCESS_KEY;
  const secretAccessKey = env.OSPREY_TEST_S3_SECRET_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error(
      'OSPREY_TEST_DRIVER=s3 needs OSPREY_TEST_S3_ENDPOINT, OSPREY_TEST_S3_ACCESS_KEY and OSPREY_TEST_S3_SECRET_KEY (scripts/test.sh sets them)',
    );
  }
  const id =
    dataDir === undefined ? randomBytes(8).toString('hex') : createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return {
    storage: `s3://${env.OSPREY_TEST_S3_BUCKET ?? 'osprey-test'}/t-${id}`,
    storageEndpoint: endpoint,
    storageAccessKeyId: accessKeyId,
    storageSecretAccessKey: secretAccessKey,
  };
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  app: App;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

/**
 * Start Osprey in-process on 127.0.0.1:<random port> with a fresh data dir (removed on close);
 * in the S3 pass (OSPREY_TEST_DRIVER=s3) on the S3 driver, unless the settings name a store.
 */
export async function startOsprey(settings: RawSettings = {}): Promise<TestServer> {
  const dataDir = typeof settings.dataDir === 'string' ? settings.dataDir : await tmpDir();
  const config = buildConfig({
    address: '127.0.0.1:0',
    dataDir,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    minPartSize: 5 * 1024 * 1024,
    originAllow: ['127.0.0.0/8'],
    ...(ON_S3 && settings.storage === undefined && s3Storage(dataDir)),
    ...settings,
  });
  const log = pino({ level: process.env.OSPREY_TEST_LOG ?? 'silent' });
  const app = await startApp(config, log);
  return {
    url: app.url,
    port: app.port,
    dataDir,
    app,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    async close() {
      await app.close();
      if (settings.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SpawnedServer {
  url: string;
  port: number;
  child: ChildProcess;
  stdout: string;
  /** SIGKILL and wait for exit */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

/**
 * Run `osprey serve` as a child process (for crash and CLI tests); in the S3 pass on the S3
 * driver (through OSPREY_STORAGE*, under a prefix derived from --data), unless the
 * arguments or the environment name a store.
 */
export async function spawnOsprey(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedServer> {
  let storageEnv: NodeJS.ProcessEnv = {};
  if (ON_S3 && !args.includes('--storage') && env.OSPREY_STORAGE === undefined) {
    const at = args.indexOf('--data');
    const s = s3Storage(at >= 0 ? args[at + 1] : env.OSPREY_DATA);
    storageEnv = {
      OSPREY_STORAGE: s.storage,
      OSPREY_STORAGE_ENDPOINT: s.storageEndpoint,
      OSPREY_STORAGE_ACCESS_KEY_ID: s.storageAccessKeyId,
      OSPREY_STORAGE_SECRET_ACCESS_KEY: s.storageSecretAccessKey,
    };
  }
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve', '--log-level', 'warn', ...args], {
    cwd: ROOT,
    env: { ...process.env, OSPREY_ACCESS_KEY_ID: ACCESS_KEY, OSPREY_SECRET_ACCESS_KEY: SECRET_KEY, ...storageEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`osprey did not start: ${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`osprey exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    port: Number(new URL(url).port),
    child,
    get stdout() {
      return stdout;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export function s3(server: { url: string }, opts: { requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED' } = {}): S3Client {
  return new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    ...(opts.requestChecksumCalculation && { requestChecksumCalculation: opts.requestChecksumCalculation }),
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
}
