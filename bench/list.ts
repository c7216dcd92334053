/**
 * Listing benchmark (issue 19): the latency of a 1,000-entry ListObjectsV2 page in a bucket of many
 * keys, and Osprey's CPU per page, for three pages: a flat page deep inside the bucket (start-after
 * half-way), a prefix page (prefix `d05`: 100 of the 1,000 top-level "directories"), and a
 * delimiter page (delimiter `/` from the root: 1,000 common prefixes, each one a seek in the index).
 *
 *   node --import tsx bench/list.ts [--keys 1000000] [--reps 20] [--only fs|s3] [--ceph-seconds 420]
 *                                   [--builds DIR,DIR… [--rounds 2]]
 *
 * Keys: `d{i % 1000, 4 digits}/k{floor(i / 1000), 7 digits}`, so every top-level directory holds
 * N/1000 keys and each page is full at any N >= 10,000.
 *
 * fs (the embedded store): one object is PUT through Osprey, Osprey is stopped, and its SQLite row
 * is copied for the other N - 1 keys in one transaction (a bulk path: a PUT per key with its fsync
 * would take hours), then Osprey is started again on that data directory.
 * s3 (the S3 driver on a throwaway Ceph, scripts/ceph.sh, 1 OSD, 1 gateway): one object is PUT
 * through Osprey to learn its key in the store, then empty objects are PUT straight to RGW under the
 * same store prefix, 64 at a time, for at most --ceph-seconds (RGW's PUT rate is the bound), and
 * listed through Osprey (the driver's listing is the store's own ListObjectsV2), and the same pages are
 * then asked of RGW directly under that prefix (the store's own time, beside Osprey's).
 *
 * Pages are fetched one at a time (latency, not throughput), after 3 untimed ones; medians (ranges).
 *
 * --builds (s3 only): the same seeded store listed by each of these checkouts' compiled servers
 * (each DIR/dist, as OSPREY_BENCH_BUILD), one after another, --rounds times (default 2): an A/B of
 * two builds on the same keys in one sitting (seeding is the long part).
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../src/auth/sigv4.ts';
import type { Proc } from './lib.ts';
import { cpuSeconds, fmt, ROOT, spread, startOsprey } from './lib.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const N = Number(arg('--keys') ?? 1_000_000) || 1_000_000;
const reps = Number(arg('--reps') ?? 20) || 20;
const only = arg('--only');
const cephSeconds = Number(arg('--ceph-seconds') ?? 420) || 420;
const builds = (arg('--builds') ?? '').split(',').filter(Boolean);
const rounds = Number(arg('--rounds') ?? 2) || 2;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const EMPTY = createHash('sha256').update('').digest('hex');
const agent = new Agent({ connections: 64 });

const keyOf = (i: number) => `d${String(i % 1000).padStart(4, '0')}/k${String(Math.floor(i / 1000)).padStart(7, '0')}`;

async function signed(
  base: string,
  method: string,
  p: string,
  creds = { accessKeyId: KEY, secretAccessKey: SECRET },
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  const h = signRequestV4(
    { method, url: p, headers: { host: u.host, ...headers } },
    creds,
    body ? createHash('sha256').update(body).digest('hex') : EMPTY,
  );
  const res = await request(base + p, { method: method as 'PUT', headers: h, body: body || undefined, dispatcher: agent });
  return { status: res.statusCode, text: await res.body.text() };
}

interface Page {
  name: string;
  query: string;
}
const PAGES: Page[] = [
  { name: 'flat page deep inside (start-after d0500/)', query: 'list-type=2&max-keys=1000&start-after=d0500%2F' },
  { name: 'prefix page (prefix d05)', query: 'list-type=2&max-keys=1000&prefix=d05' },
  { name: 'delimiter page (delimiter /, 1,000 common prefixes)', query: 'list-type=2&max-keys=1000&delimiter=%2F' },
];

/** Each page `reps` times, one at a time: client latency (ms) and the server's CPU per page (ms). */
async function measure(osprey: Proc, bucket: string): Promise<string[]> {
  const pid = osprey.child.pid ?? 0;
  const lines: string[] = [];
  for (const page of PAGES) {
    const p = `/${bucket}?${page.query}`;
    for (let i = 0; i < 3; i++) await signed(osprey.url, 'GET', p);
    const ms: number[] = [];
    const c0 = await cpuSeconds(pid);
    let entries = 0;
    let truncated = false;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const r = await signed(osprey.url, 'GET', p);
      ms.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`${page.name}: ${r.status} ${r.text.slice(0, 500)}`);
      entries = (r.text.match(/<Key>|<CommonPrefixes>/g) ?? []).length;
      truncated = /<IsTruncated>true<\/IsTruncated>/.test(r.text);
    }
    const cpuMs = (((await cpuSeconds(pid)) - c0) * 1000) / reps;
    lines.push(`| ${page.name} | ${entries}${truncated ? '' : ' (IsTruncated false)'} | ${spread(ms, 1)} | ${fmt(cpuMs, 1)} |`);
  }
  return lines;
}

/**
 * The same three pages asked of RGW directly, under the prefix the S3 driver keeps the keys at:
 * what the store's own listing costs, beside Osprey's pages (whose time is mostly this).
 */
async function measureDirect(gw: string, creds: { accessKeyId: string; secretAccessKey: string }, base: string): Promise<string[]> {
  const e = encodeURIComponent;
  const pages = [
    `list-type=2&max-keys=1000&prefix=${e(base)}&start-after=${e(`${base}d0500/`)}`,
    `list-type=2&max-keys=1000&prefix=${e(`${base}d05`)}`,
    `list-type=2&max-keys=1000&prefix=${e(base)}&delimiter=%2F`,
  ];
  const lines: string[] = [];
  for (const [i, query] of pages.entries()) {
    const p = `/osprey-list?${query}`;
    for (let j = 0; j < 3; j++) await signed(gw, 'GET', p, creds);
    const ms: number[] = [];
    let entries = 0;
    let truncated = false;
    for (let j = 0; j < reps; j++) {
      const t0 = performance.now();
      const r = await signed(gw, 'GET', p, creds);
      ms.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`RGW ${PAGES[i]!.name}: ${r.status} ${r.text.slice(0, 500)}`);
      entries = (r.text.match(/<Key>|<CommonPrefixes>/g) ?? []).length;
      truncated = /<IsTruncated>true<\/IsTruncated>/.test(r.text);
    }
    lines.push(`| ${PAGES[i]!.name}, RGW direct | ${entries}${truncated ? '' : ' (IsTruncated false)'} | ${spread(ms, 1)} | - |`);
  }
  return lines;
}

async function createBucket(osprey: Proc, bucket: string): Promise<void> {
  const r = await signed(osprey.url, 'PUT', `/${bucket}`);
  if (r.status !== 200) throw new Error(`create bucket: ${r.status} ${r.text}`);
  const put = await signed(osprey.url, 'PUT', `/${bucket}/${keyOf(0)}`);
  if (put.status !== 200) throw new Error(`put: ${put.status} ${put.text}`);
}

async function fsPart(work: string): Promise<string[]> {
  const data = path.join(work, 'data-fs');
  const env = { OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET };
  let osprey = await startOsprey(data, 0, [], env);
  try {
    await createBucket(osprey, 'list');
  } finally {
    await osprey.stop();
  }
  const t0 = performance.now();
  const db = new Database(path.join(data, 'meta.sqlite'));
  db.pragma('journal_mode = WAL');
  const row = db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ?').get('list', keyOf(0)) as Record<string, unknown> | undefined;
  if (!row) throw new Error('the seed row is missing');
  // every column of the seed row but its key, whatever the build's schema (OSPREY_BENCH_BUILD); since
  // schema 2 the copies share the seed's row in `bodies` (they are only listed)
  const columns = Object.keys(row).filter((c) => c !== 'key');
  const insert = db.prepare(`INSERT INTO objects (key, ${columns.join(', ')}) VALUES (?${', ?'.repeat(columns.length)})`);
  db.transaction(() => {
    for (let i = 1; i < N; i++) insert.run(keyOf(i), ...columns.map((c) => row[c]));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const seeded = (performance.now() - t0) / 1000;
  osprey = await startOsprey(data, 0, [], env);
  try {
    const lines = await measure(osprey, 'list');
    return [`fs driver, ${fmt(N)} keys (seeded in ${fmt(seeded, 1)} s by copying one PUT's SQLite row, Osprey stopped):`, ...lines];
  } finally {
    await osprey.stop();
  }
}

function ceph(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'timeout',
      ['200', 'bash', path.join(ROOT, 'scripts/ceph.sh'), ...args],
      { maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`ceph.sh ${args[0]}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

async function s3Part(): Promise<string[]> {
  const dir = path.join(ROOT, `.osprey-test-bench-list-${randomBytes(4).toString('hex')}`);
  let osprey: Proc | undefined;
  try {
    const out = await ceph(['start', dir, '--osds', '1', '--gateways', '1', '--owner-pid', String(process.pid)]);
    const field = (n: string) => new RegExp(`^${n}=(.*)$`, 'm').exec(out)?.[1] ?? '';
    const gw = field('CEPH_ENDPOINTS').split(',')[0] ?? '';
    const creds = { accessKeyId: field('CEPH_ACCESS_KEY'), secretAccessKey: field('CEPH_SECRET_KEY') };
    const serverArgs = ['--storage', 's3://osprey-list', '--storage-endpoint', gw];
    const serverEnv = {
      OSPREY_ACCESS_KEY_ID: KEY,
      OSPREY_SECRET_ACCESS_KEY: SECRET,
      OSPREY_STORAGE_ACCESS_KEY_ID: creds.accessKeyId,
      OSPREY_STORAGE_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    osprey = await startOsprey(path.join(dir, 'unused'), 0, serverArgs, serverEnv);
    await createBucket(osprey, 'list');
    // where the driver keeps that object in the store: the others go under the same prefix
    const rgw = new S3Client({ endpoint: gw, region: 'us-east-1', forcePathStyle: true, credentials: creds });
    const listed = await rgw.send(new ListObjectsV2Command({ Bucket: 'osprey-list', MaxKeys: 1000 }));
    const storeKey = (listed.Contents ?? []).map((c) => c.Key ?? '').find((k) => k.endsWith(keyOf(0)));
    if (!storeKey) throw new Error(`the seed object is not in the store: ${(listed.Contents ?? []).map((c) => c.Key).join(', ')}`);
    const base = storeKey.slice(0, -keyOf(0).length);
    rgw.destroy();
    const t0 = performance.now();
    const until = t0 + cephSeconds * 1000;
    let next = 1;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < until) {
          const i = next++;
          if (i >= N) return;
          const r = await signed(gw, 'PUT', `/osprey-list/${base}${keyOf(i)}`, creds).catch(() => ({ status: 0, text: '' }));
          if (r.status !== 200) failed++;
        }
      }),
    );
    const seeded = (performance.now() - t0) / 1000;
    const count = next - failed;
    const lines: string[] = [];
    if (builds.length === 0) lines.push(...(await measure(osprey, 'list')));
    else {
      await osprey.stop();
      osprey = undefined;
      const before = process.env.OSPREY_BENCH_BUILD;
      for (let round = 1; round <= rounds; round++)
        for (const build of builds) {
          process.env.OSPREY_BENCH_BUILD = build;
          const b = await startOsprey(path.join(dir, 'unused'), 0, serverArgs, serverEnv);
          try {
            const load = os.loadavg()[0] ?? 0;
            lines.push(
              ...(await measure(b, 'list')).map((l) =>
                l.replace(/^\| /, `| ${path.basename(build)}, round ${round} (load ${fmt(load, 1)}): `),
              ),
            );
          } finally {
            await b.stop();
            if (before === undefined) delete process.env.OSPREY_BENCH_BUILD;
            else process.env.OSPREY_BENCH_BUILD = before;
          }
        }
    }
    return [
      `s3 driver on Ceph (1 OSD, 1 gateway), ${fmt(count)} keys (seeded straight into RGW under the driver's prefix, 64 PUTs at a time, in ${fmt(seeded)} s: ${fmt(count / seeded)} PUT/s${failed ? `, ${failed} failed` : ''}):`,
      ...lines,
      `RGW itself, the same pages of the same keys asked of the gateway directly (under the driver's prefix; no Osprey):`,
      ...(await measureDirect(gw, creds, base)),
    ];
  } finally {
    await osprey?.stop();
    await ceph(['stop', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-lbench-'));
  const out: string[] = [];
  try {
    if (only !== 's3') out.push(...(await fsPart(work)));
    if (only !== 'fs') {
      // --builds: the first build's server seeds too (the tree itself is not compiled)
      if (builds[0] !== undefined) process.env.OSPREY_BENCH_BUILD ??= builds[0];
      out.push(...(await s3Part()));
    }
  } finally {
    await agent.close();
    await rm(work, { recursive: true, force: true });
  }
  const head = '| page | entries | latency (ms) | Osprey CPU (ms/page) |\n| --- | --- | --- | --- |';
  const text = out.map((l) => (l.startsWith('|') ? l : `\n${l}\n\n${head}`)).join('\n');
  process.stdout.write(
    `\nOsprey listing benchmark: ListObjectsV2 pages of 1,000, ${reps} each, one at a time, medians (ranges); ${os.cpus().length} cores, node ${process.version}\n${text}\n`,
  );
}

await main();
