/**
 * Mirror benchmark (issue 19: cold fills as users meet them). Against one origin (nginx serving
 * generated files from disk), interleaved in one loop of `--reps` repetitions: Osprey serving a
 * public bucket with a Mirror rule (as every migrated site runs it), nginx as a pull-through mirror
 * (proxy_store), and the naive Node.js pull-through mirror (bench/floor-server.ts naive); for
 * context nginx as a locking cache (proxy_cache + proxy_cache_lock) and the floor's tuned
 * pull-through. Every rate has the server's CPU (user + system, from /proc, with its children)
 * per operation beside it; medians and ranges over the repetitions.
 *
 *   node --import tsx bench/mirror.ts [--objects 2000] [--reps 3] [--warm 2000] [--rows small,large,herd]
 *
 * Rows: `small`, a cold mirror of N x 4 KiB objects at 16-way (objects/s, CPU µs per fill), after
 * `--warm` untimed cold fills through every peer (2,000: with 200, Osprey's first timed repetition
 * still ran code being compiled, ~2x the CPU per fill of the later ones);
 * `large`, a cold 1 GiB (MB/s, time to first byte over the origin's, CPU ms per fill) on a
 * just-started Osprey and a just-started naive mirror (a new process per repetition, nothing
 * filled before), on proxy_store, and on the Osprey process of the small row (warm: after one 8 MiB
 * fill); `herd`, 100 concurrent GETs of one missing 1 MiB key from an origin throttled to ~1 s per
 * fetch (origin requests, median time), a second pass over the first repetition's keys (origin
 * requests), and Osprey's peak RSS. Each repetition uses keys of its own (`rN/...`, the origin
 * serves them all from the same files), so every fill is cold.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../src/auth/sigv4.ts';
import { createHash } from 'node:crypto';
import type { Proc } from './lib.ts';
import { cpuSeconds, curlSpeed, fmt, median, peakRssMiB, spread, startFloor, startNginx, startOsprey } from './lib.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const N = Number(arg('--objects') ?? 2000) || 2000;
const REPS = Number(arg('--reps') ?? 3) || 3;
const ROWS = new Set((arg('--rows') ?? 'small,large,herd').split(','));
const WARM = Number(arg('--warm') ?? 2000);
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const GiB = 1024 ** 3;
const agent = new Agent({ connections: 128 });
const CREDS = { OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET };

async function signed(base: string, method: string, p: string, body = '', headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(base);
  const h = signRequestV4(
    { method, url: p, headers: { host: u.host, ...headers } },
    { accessKeyId: KEY, secretAccessKey: SECRET },
    createHash('sha256').update(body).digest('hex'),
  );
  const res = await request(base + p, { method: method as 'PUT', headers: h, body: body || undefined, dispatcher: agent });
  await res.body.dump();
  return res.statusCode;
}

async function get(url: string): Promise<number> {
  const res = await request(url, { dispatcher: agent });
  let n = 0;
  for await (const c of res.body) n += (c as Buffer).length;
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
  return n;
}

/** GET `count` keys `${base}${prefix}f${i}.bin`, 16 at a time; objects/s */
async function coldPass(base: string, prefix: string, count = N): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < count; i = next++) {
        if ((await get(`${base}${prefix}f${i}.bin`)) !== 4096) throw new Error(`${base}${prefix}f${i}.bin: short body`);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

async function originHits(log: string, needle: string): Promise<number> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes(needle)).length;
}

async function herd(url: string): Promise<number> {
  const times = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const t0 = performance.now();
      await get(url);
      return performance.now() - t0;
    }),
  );
  times.sort((a, b) => a - b);
  return times[50] ?? NaN;
}

/** a public-read bucket 'site' with one Mirror rule (404 -> origin), as migrated sites have */
async function siteWithMirror(base: string, originUrl: string): Promise<void> {
  if ((await signed(base, 'PUT', '/site', '', { 'x-amz-acl': 'public-read' })) !== 200) throw new Error('create bucket');
  const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
  if ((await signed(base, 'PUT', '/site?website', rules)) !== 200) throw new Error('put rules');
}

/** the measure of `load` with the CPU seconds `p` (and its children) spent during it */
async function timed<T>(p: Proc, load: () => Promise<T>): Promise<{ r: T; cpu: number }> {
  const c0 = await cpuSeconds(p.child.pid ?? 0);
  const r = await load();
  return { r, cpu: (await cpuSeconds(p.child.pid ?? 0)) - c0 };
}

/** the list rotated by `n` (each repetition starts with another peer) */
function rotate<T>(list: T[], n: number): T[] {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

class Figures {
  private readonly m = new Map<string, number[]>();
  add(name: string, v: number): void {
    const l = this.m.get(name) ?? [];
    l.push(v);
    this.m.set(name, l);
  }
  of(name: string): number[] {
    return this.m.get(name) ?? [];
  }
  s(name: string, digits = 0): string {
    return spread(this.of(name), digits);
  }
  med(name: string): number {
    return median(this.of(name));
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-mbench-'));
  const www = path.join(work, 'www');
  await mkdir(path.join(www, 'files'), { recursive: true });
  await mkdir(path.join(www, 'slow'), { recursive: true });
  for (let i = 0; i < N; i++) await writeFile(path.join(www, 'files', `f${i}.bin`), Buffer.alloc(4096, i & 0xff));
  await writeFile(path.join(www, 'slow', 'one.bin'), Buffer.alloc(1024 * 1024, 3));
  if (ROWS.has('large')) {
    const chunk = Buffer.alloc(1024 * 1024, 'g');
    let sent = 0;
    await pipeline(
      new Readable({
        read() {
          if (sent >= GiB) this.push(null);
          else {
            sent += chunk.length;
            this.push(chunk);
          }
        },
      }),
      createWriteStream(path.join(www, 'files', 'big.bin')),
    );
    await writeFile(path.join(www, 'files', 'warm.bin'), Buffer.alloc(8 * 1024 * 1024, 'w'));
  }
  for (const d of [work, www, path.join(www, 'files'), path.join(www, 'slow')]) await chmod(d, 0o755);
  const port = 20000 + Math.floor(Math.random() * 5000);
  const originLog = path.join(work, 'origin-access.log');
  // everything started is stopped at the end, also when a later start fails
  const started: Proc[] = [];
  const up = async (p: Promise<Proc>): Promise<Proc> => {
    const proc = await p;
    started.push(proc);
    return proc;
  };
  try {
    // /rN/x is served as /x: each repetition's keys are new to every mirror, the files the same
    const origin = await up(
      startNginx(
        path.join(work, 'origin'),
        port,
        `root ${www}; access_log ${originLog}; rewrite ^/r[0-9a-z]+/(.*)$ /$1 break; location /slow/ { limit_rate 700k; }`,
      ),
    );
    const store = path.join(work, 'store');
    await mkdir(store, { recursive: true });
    await chmod(store, 0o777);
    const pstore = await up(
      startNginx(
        path.join(work, 'pstore'),
        port + 1,
        `location / { root ${store}; try_files $uri @fetch; } location @fetch { proxy_pass ${origin.url}; proxy_store on; proxy_store_access user:rw group:rw all:r; root ${store}; }`,
      ),
    );
    const pcache = await up(
      startNginx(
        path.join(work, 'pcache'),
        port + 2,
        `location / { proxy_pass ${origin.url}; proxy_cache c; proxy_cache_lock on; proxy_cache_valid 200 1h; proxy_max_temp_file_size 0; }`,
        `proxy_cache_path ${path.join(work, 'cache')} keys_zone=c:10m max_size=4g;`,
      ),
    );
    const naive = await up(startFloor('naive', origin.url, path.join(work, 'naive')));
    // context, not a target: the floor's tuned pull-through (undici, small bodies written whole)
    const floor = await up(startFloor('pull', origin.url, path.join(work, 'floor')));
    const osprey = await up(startOsprey(path.join(work, 'data'), port + 3, ['--origin-allow', '127.0.0.0/8'], CREDS));
    await run(work, originLog, store, port, { origin, pstore, pcache, naive, floor, osprey });
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    await agent.close();
    await rm(work, { recursive: true, force: true });
  }
}

interface Peers {
  origin: Proc;
  pstore: Proc;
  pcache: Proc;
  naive: Proc;
  floor: Proc;
  osprey: Proc;
}

async function run(
  work: string,
  originLog: string,
  store: string,
  port: number,
  { origin, pstore, pcache, naive, floor, osprey }: Peers,
): Promise<void> {
  const lines: string[] = [];
  const fig = new Figures();
  await siteWithMirror(osprey.url, origin.url);
  if (ROWS.has('small')) {
    const peers: { name: string; proc: Proc; base: string }[] = [
      { name: 'osprey', proc: osprey, base: `${osprey.url}/site/` },
      { name: 'proxy_store', proc: pstore, base: `${pstore.url}/` },
      { name: 'naive', proc: naive, base: `${naive.url}/` },
      { name: 'proxy_cache', proc: pcache, base: `${pcache.url}/` },
      { name: 'floor', proc: floor, base: `${floor.url}/` },
    ];
    // untimed: WARM cold fills through each (keys of their own), so that no timed repetition pays
    // for a cold JIT. 200 were not enough: Osprey's first timed repetition of 2,000 then cost
    // 1,480 µs of CPU per fill against 590-850 for the later ones (issue 19, 2026-12-06)
    for (const p of peers) {
      for (let done = 0, k = 0; done < WARM; k++) {
        const n = Math.min(N, WARM - done);
        await coldPass(p.base, `rw${k}/files/`, n);
        done += n;
      }
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const p of rotate(peers, rep)) {
        const { r, cpu } = await timed(p.proc, () => coldPass(p.base, `r${rep}/files/`));
        fig.add(`small ${p.name}`, r);
        fig.add(`small ${p.name} cpu`, (cpu * 1e6) / N);
      }
      fig.add('small ratio naive', fig.of('small osprey').at(-1)! / fig.of('small naive').at(-1)!);
      fig.add('small cpu ratio naive', fig.of('small osprey cpu').at(-1)! / fig.of('small naive cpu').at(-1)!);
    }
    const row = (n: string) => `${fig.s(`small ${n}`)} objects/s, ${fig.s(`small ${n} cpu`)} µs CPU/fill`;
    lines.push(
      `cold ${N} x 4 KiB, 16-way, ${REPS} interleaved repetitions: osprey ${row('osprey')}; proxy_store ${row('proxy_store')}; naive Node.js mirror ${row('naive')}`,
    );
    lines.push(
      `  osprey / naive per repetition: rate ${fig.s('small ratio naive', 2)} (target >= 1.0), CPU per fill ${fig.s('small cpu ratio naive', 2)} (target <= 1.2); osprey / proxy_store rate ${fmt(fig.med('small osprey') / fig.med('small proxy_store'), 2)}`,
    );
    lines.push(`  (context: proxy_cache + lock ${row('proxy_cache')}; the floor's tuned pull-through ${row('floor')})`);
  }
  if (ROWS.has('large')) {
    // the warm Osprey's figure is about a cold object, not a cold process: one 8 MiB fill first
    await curlSpeed(`${osprey.url}/site/files/warm.bin`);
    const gib = async (name: string, p: Proc, url: string): Promise<void> => {
      const { r, cpu } = await timed(p, () => curlSpeed(url));
      fig.add(`large ${name}`, r.mbps);
      fig.add(`large ${name} ttfb`, r.ttfbMs - fig.of('large direct ttfb').at(-1)!);
      fig.add(`large ${name} cpu`, cpu * 1000);
    };
    const freshRss: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const direct = await curlSpeed(`${origin.url}/r${rep}/files/big.bin`);
      fig.add('large direct', direct.mbps);
      fig.add('large direct ttfb', direct.ttfbMs);
      const runs: (() => Promise<void>)[] = [
        async () => {
          // a just-started Osprey: its own data directory, nothing filled before (what the first user after a restart gets)
          const fresh = await startOsprey(path.join(work, `data-fresh${rep}`), port + 4, ['--origin-allow', '127.0.0.0/8'], CREDS);
          // spawn to listening: `osprey serve` warms its GET path up before it listens
          fig.add('large osprey fresh start', fresh.startMs ?? NaN);
          try {
            await siteWithMirror(fresh.url, origin.url);
            await gib('osprey fresh', fresh, `${fresh.url}/site/r${rep}/files/big.bin`);
            freshRss.push(await peakRssMiB(fresh.child.pid ?? 0));
          } finally {
            await fresh.stop();
            await rm(path.join(work, `data-fresh${rep}`), { recursive: true, force: true });
          }
        },
        async () => {
          await gib('proxy_store', pstore, `${pstore.url}/r${rep}/files/big.bin`);
          await rm(path.join(store, `r${rep}`), { recursive: true, force: true });
        },
        async () => {
          // the naive mirror just started too
          const dir = path.join(work, `naive-fresh${rep}`);
          const fresh = await startFloor('naive', origin.url, dir);
          try {
            await gib('naive fresh', fresh, `${fresh.url}/r${rep}/files/big.bin`);
          } finally {
            await fresh.stop();
            await rm(dir, { recursive: true, force: true });
          }
        },
        async () => {
          await gib('osprey warm', osprey, `${osprey.url}/site/r${rep}/files/big.bin`);
          await signed(osprey.url, 'DELETE', `/site/r${rep}/files/big.bin`);
        },
      ];
      for (const run of rotate(runs, rep)) await run();
    }
    const row = (n: string) => `${fig.s(`large ${n}`)} MB/s, TTFB +${fig.s(`large ${n} ttfb`, 1)} ms, ${fig.s(`large ${n} cpu`)} ms CPU`;
    lines.push(
      `cold 1 GiB, ${REPS} interleaved repetitions (TTFB over the origin's own, ${fig.s('large direct ttfb', 1)} ms; origin direct ${fig.s('large direct')} MB/s):`,
    );
    lines.push(
      `  osprey just started ${row('osprey fresh')}; proxy_store ${row('proxy_store')}; naive Node.js mirror just started ${row('naive fresh')}; osprey warm ${row('osprey warm')}`,
    );
    lines.push(
      `  osprey just started / proxy_store ${fmt(fig.med('large osprey fresh') / fig.med('large proxy_store'), 2)} (target >= 1.0), TTFB over proxy_store's ${fmt(fig.med('large osprey fresh ttfb') - fig.med('large proxy_store ttfb'), 1)} ms (target <= 5); just-started osprey peak RSS ${spread(freshRss)} MiB; osprey's spawn to listening ${fig.s('large osprey fresh start')} ms`,
    );
  }
  if (ROWS.has('herd')) {
    if (ROWS.has('small')) {
      const before = await originHits(originLog, '/r0/files/f');
      await coldPass(`${osprey.url}/site/`, 'r0/files/');
      lines.push(
        `second pass over the ${N} keys of the first repetition through osprey: ${(await originHits(originLog, '/r0/files/f')) - before} origin requests (target 0)`,
      );
    }
    const single = performance.now();
    await get(`${origin.url}/slow/one.bin`);
    const one = performance.now() - single;
    const h0 = await originHits(originLog, '/slow/one.bin');
    const om = await herd(`${osprey.url}/site/slow/one.bin`);
    const h1 = await originHits(originLog, '/slow/one.bin');
    const cm = await herd(`${pcache.url}/slow/one.bin`);
    const h2 = await originHits(originLog, '/slow/one.bin');
    lines.push(
      `100 concurrent GETs of one missing 1 MiB key (origin ~${fmt(one)} ms per fetch): osprey ${h1 - h0} origin request(s), median ${fmt(om)} ms (${fmt(om / one, 2)}x a single fetch; target 1 request, <= 1.1x); proxy_cache_lock ${h2 - h1} request(s), median ${fmt(cm)} ms (${fmt(cm / one, 2)}x)`,
    );
  }
  lines.push(`osprey peak RSS over the run: ${fmt(await peakRssMiB(osprey.child.pid ?? 0))} MiB (target < 150)`);
  process.stdout.write(
    `\nOsprey mirror benchmark (medians (ranges); ${os.cpus().length} cores, node ${process.version})\n${lines.map((l) => `- ${l}`).join('\n')}\n`,
  );
}

await main();
