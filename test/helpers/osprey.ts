/**
 * Test helpers that start the real thing: an Osprey server on 127.0.0.1 (in this process, or as
 * a child process for crash tests), temp dirs, and real clients pointed at it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import type { RawSettings } from '../../src/config.ts';
import { buildConfig } from '../../src/config.ts';

export const ACCESS_KEY = 'OSPREYTESTKEY';
export const SECRET_KEY = 'osprey-test-secret-key-0123456789';
export const ROOT = path.resolve(import.meta.dirname, '../..');

export async function tmpDir(prefix = 'osprey-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
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

/** Start Osprey in-process on 127.0.0.1:<random port> with a fresh data dir (removed on close). */
export async function startOsprey(settings: RawSettings = {}): Promise<TestServer> {
  const dataDir = typeof settings.dataDir === 'string' ? settings.dataDir : await tmpDir();
  const config = buildConfig({
    address: '127.0.0.1:0', dataDir, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, minPartSize: 5 * 1024 * 1024, originAllow: ['127.0.0.0/8'], ...settings,
  });
  const log = pino({ level: process.env.OSPREY_TEST_LOG ?? 'silent' });
  const app = await startApp(config, log);
  return {
    url: app.url, port: app.port, dataDir, app, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY,
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

/** Run `osprey serve` as a child process (for crash and CLI tests). */
export async function spawnOsprey(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve', '--log-level', 'warn', ...args], {
    cwd: ROOT,
    env: { ...process.env, OSPREY_ACCESS_KEY_ID: ACCESS_KEY, OSPREY_SECRET_ACCESS_KEY: SECRET_KEY, ...env },
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
