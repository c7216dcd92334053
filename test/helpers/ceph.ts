/**
 * A throwaway Ceph cluster (scripts/ceph.sh) for the S3 storage driver's tests: started once per
 * test file, in a scratch dir under the repository (a real disk: bluestore refuses tmpfs), on free
 * 127.0.0.1 ports, stopped by its PID files in `after`. If the test process dies, the script's
 * watcher stops it (--owner-pid).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './osprey.ts';

export interface Ceph {
  /** the first gateway */
  endpoint: string;
  endpoints: string[];
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  stop(): Promise<void>;
  /** stop / start the gateways only (the store "goes away" and comes back on the same ports) */
  stopGateways(): Promise<void>;
  startGateways(): Promise<void>;
}

const SCRIPT = path.join(ROOT, 'scripts/ceph.sh');

function run(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'timeout',
      [String(Math.ceil(timeoutMs / 1000)), 'bash', SCRIPT, ...args],
      { maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`ceph.sh ${args[0]} failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

export async function startCeph(opts: { osds?: number; gateways?: number } = {}): Promise<Ceph> {
  const dir = path.join(ROOT, `.osprey-test-ceph-${randomBytes(4).toString('hex')}`);
  let out: string;
  try {
    out = await run(
      ['start', dir, '--osds', String(opts.osds ?? 1), '--gateways', String(opts.gateways ?? 1), '--owner-pid', String(process.pid)],
      150_000,
    );
  } catch (err) {
    await run(['stop', dir], 60_000).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)?.[1] ?? '';
  const endpoints = field('CEPH_ENDPOINTS').split(',').filter(Boolean);
  let stopped = false;
  return {
    endpoint: endpoints[0] ?? '',
    endpoints,
    accessKeyId: field('CEPH_ACCESS_KEY'),
    secretAccessKey: field('CEPH_SECRET_KEY'),
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(['stop', dir], 90_000);
      await rm(dir, { recursive: true, force: true });
    },
    async stopGateways() {
      await run(['stop-gw', dir], 60_000);
    },
    async startGateways() {
      await run(['start-gw', dir], 90_000);
    },
  };
}

/** A cluster someone else started (OSPREY_TEST_CEPH=DIR of `scripts/ceph.sh start DIR`): for quick local runs. */
async function existingCeph(dir: string): Promise<Ceph> {
  const ports = (await readFile(path.join(dir, 'rgw-ports'), 'utf8')).trim().split(/\s+/);
  const out = await run(['keys', dir], 30_000);
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)?.[1] ?? '';
  const endpoints = ports.map((p) => `http://127.0.0.1:${p}`);
  return {
    endpoint: endpoints[0] ?? '',
    endpoints,
    accessKeyId: field('CEPH_ACCESS_KEY'),
    secretAccessKey: field('CEPH_SECRET_KEY'),
    dir,
    stop: async () => {},
    stopGateways: () => run(['stop-gw', dir], 60_000).then(() => {}),
    startGateways: () => run(['start-gw', dir], 90_000).then(() => {}),
  };
}

/** One cluster per test file, started on first use, stopped by the file's `after`. */
export function sharedCeph(): { get(): Promise<Ceph>; stop(): Promise<void> } {
  let started: Promise<Ceph> | undefined;
  const existing = process.env.OSPREY_TEST_CEPH;
  return {
    get: () => (started ??= existing ? existingCeph(existing) : startCeph()),
    async stop() {
      if (started) await (await started).stop();
    },
  };
}

export type StoreAccess = Pick<Ceph, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>;

/**
 * "Another S3 store" that nobody here wrote, for the tests that need one (a MirrorAuth origin, an
 * `import --from-s3` source): the throwaway Ceph RGW scripts/test.sh starts for the whole run
 * (OSPREY_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY), else one started for the file on first
 * use and stopped by `stop()`. Its buckets are shared: name them uniquely.
 */
export function otherStore(): { get(): Promise<StoreAccess>; stop(): Promise<void> } {
  const {
    OSPREY_TEST_S3_ENDPOINT: endpoint,
    OSPREY_TEST_S3_ACCESS_KEY: accessKeyId,
    OSPREY_TEST_S3_SECRET_KEY: secretAccessKey,
  } = process.env;
  if (endpoint && accessKeyId && secretAccessKey)
    return { get: async () => ({ endpoint, accessKeyId, secretAccessKey }), stop: async () => {} };
  let started: Promise<Ceph> | undefined;
  return {
    get: () => (started ??= startCeph()),
    async stop() {
      if (started) await (await started).stop();
    },
  };
}
