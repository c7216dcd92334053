/**
 * Mirror benchmark (issue: mirroring engine). One run, side by side, against the same origin
 * (nginx serving generated files from disk): Osprey with a Mirror rule, nginx as a pull-through
 * mirror (proxy_store), and nginx as a locking cache (proxy_cache + proxy_cache_lock).
 *
 *   node --import tsx bench/mirror.ts [--objects 2000]
 *
 * Scenarios: cold mirror of N x 4 KiB objects at 16-way concurrency (objects/s); cold mirror of one
 * 1 GiB object (MB/s, time to first byte, vs the origin directly); 100 concurrent GETs of one
 * missing 1 MiB key from an origin throttled to ~1 s per fetch (origin requests, median client
 * time); a second pass over the N keys (origin requests). Osprey's peak RSS over the run.
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
import { cpuSeconds, curlSpeed, fmt, peakRssMiB, startFloor, startNginx, startOsprey } from './lib.ts';

const N = Number(process.argv[process.argv.indexOf('--objects') + 1] || 2000) || 2000;
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const GiB = 1024 ** 3;
const agent = new Agent({ connections: 128 });

async function signed(base: string, method: string, p: string, body = '', headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(base);
  const h = signRequestV4({ method, url: p, headers: { host: u.host, ...headers } }, { accessKeyId: KEY, secretAccessKey: SECRET }, createHash('sha256').update(body).digest('hex'));
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

async function coldPass(base: string, prefix: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < N; i = next++) await get(`${base}${prefix}f${i}.bin`);
  }));
  return N / ((performance.now() - started) / 1000);
}

async function originHits(log: string, needle: string): Promise<number> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes(needle)).length;
}

async function herd(url: string): Promise<number> {
  const times = await Promise.all(Array.from({ length: 100 }, async () => {
    const t0 = performance.now();
    await get(url);
    return performance.now() - t0;
  }));
  times.sort((a, b) => a - b);
  return times[50] ?? NaN;
}

/** a public-read bucket 'site' with one Mirror rule (404 -> origin), as migrated sites have */
async function siteWithMirror(base: string, originUrl: string): Promise<void> {
  if ((await signed(base, 'PUT', '/site', '', { 'x-amz-acl': 'public-read' })) !== 200) throw new Error('create bucket');
  const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
  if ((await signed(base, 'PUT', '/site?website', rules)) !== 200) throw new Error('put rules');
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-mbench-'));
  const www = path.join(work, 'www');
  await mkdir(path.join(www, 'files'), { recursive: true });
  await mkdir(path.join(www, 'slow'), { recursive: true });
  for (let i = 0; i < N; i++) await writeFile(path.join(www, 'files', `f${i}.bin`), Buffer.alloc(4096, i & 0xff));
  await writeFile(path.join(www, 'slow', 'one.bin'), Buffer.alloc(1024 * 1024, 3));
  const chunk = Buffer.alloc(1024 * 1024, 'g');
  let sent = 0;
  await pipeline(new Readable({ read() { if (sent >= GiB) this.push(null); else { sent += chunk.length; this.push(chunk); } } }), createWriteStream(path.join(www, 'files', 'big.bin')));
  await writeFile(path.join(www, 'files', 'warm.bin'), Buffer.alloc(8 * 1024 * 1024, 'w'));
  for (const d of [work, www, path.join(www, 'files'), path.join(www, 'slow')]) await chmod(d, 0o755);
  const port = 20000 + Math.floor(Math.random() * 5000);
  const originLog = path.join(work, 'origin-access.log');
  const origin = await startNginx(path.join(work, 'origin'), port, `root ${www}; access_log ${originLog}; location /slow/ { limit_rate 700k; }`);
  const store = path.join(work, 'store');
  await mkdir(store, { recursive: true });
  await chmod(store, 0o777);
  const pstore = await startNginx(path.join(work, 'pstore'), port + 1, `location / { root ${store}; try_files $uri @fetch; } location @fetch { proxy_pass ${origin.url}; proxy_store on; proxy_store_access user:rw group:rw all:r; root ${store}; }`);
  const pcache = await startNginx(path.join(work, 'pcache'), port + 2, `location / { proxy_pass ${origin.url}; proxy_cache c; proxy_cache_lock on; proxy_cache_valid 200 1h; proxy_max_temp_file_size 0; }`, `proxy_cache_path ${path.join(work, 'cache')} keys_zone=c:10m max_size=4g;`);
  // context, not a target: the least a Node.js process does in Osprey's place (bench/floor-server.ts)
  const floor = await startFloor('pull', origin.url, path.join(work, 'floor'));
  const floor2 = await startFloor('pull', origin.url, path.join(work, 'floor2'), 2);
  const osprey = await startOsprey(path.join(work, 'data'), port + 3, ['--origin-allow', '127.0.0.0/8'], { OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET });
  try {
    await siteWithMirror(osprey.url, origin.url);
    const lines: string[] = [];
    // each rate with the server's CPU (user + system from /proc, with its children) per object beside it (issue 19)
    const perObject = async (p: Proc, base: string): Promise<[number, number]> => {
      const c0 = await cpuSeconds(p.child.pid ?? 0);
      const rate = await coldPass(base, 'files/');
      return [rate, (((await cpuSeconds(p.child.pid ?? 0)) - c0) * 1e6) / N];
    };
    const [o, oc] = await perObject(osprey, `${osprey.url}/site/`);
    const [s, sc] = await perObject(pstore, `${pstore.url}/`);
    const [c, cc] = await perObject(pcache, `${pcache.url}/`);
    const [f, fc] = await perObject(floor, `${floor.url}/`);
    const [f2, f2c] = await perObject(floor2, `${floor2.url}/`);
    lines.push(`cold mirror of ${N} x 4 KiB, 16-way: osprey ${fmt(o)} objects/s (${fmt(oc)} µs CPU/object), proxy_store ${fmt(s)} (${fmt(sc)} µs), proxy_cache ${fmt(c)} (${fmt(cc)} µs); osprey/proxy_store ${fmt(o / s, 2)} (target >= 0.8)`);
    lines.push(`  (the floor, a bare Node.js pull-through with no auth, rules, metadata or fsync: ${fmt(f)} objects/s (${fmt(fc)} µs CPU/object), ${fmt(f / s, 2)}x proxy_store; osprey/floor ${fmt(o / f, 2)}; the same in two processes, as nginx runs two workers: ${fmt(f2)} objects/s (${fmt(f2c)} µs), ${fmt(f2 / s, 2)}x)`);
    const before = await originHits(originLog, '/files/f');
    await coldPass(`${osprey.url}/site/`, 'files/');
    lines.push(`second pass over the ${N} keys through osprey: ${(await originHits(originLog, '/files/f')) - before} origin requests (target 0)`);
    // the 1 GiB figures are about a cold object, not a cold process: one 8 MiB fill first (untimed,
    // through both) runs the large-fill code once, so that its first-time JIT cost is not in the TTFB
    await curlSpeed(`${osprey.url}/site/files/warm.bin`);
    await curlSpeed(`${pstore.url}/files/warm.bin`);
    const direct = await curlSpeed(`${origin.url}/files/big.bin`);
    const perGiB = async (p: Proc, url: string): Promise<{ mbps: number; ttfbMs: number; cpuMs: number }> => {
      const c0 = await cpuSeconds(p.child.pid ?? 0);
      const r = await curlSpeed(url);
      return { ...r, cpuMs: ((await cpuSeconds(p.child.pid ?? 0)) - c0) * 1000 };
    };
    const ob = await perGiB(osprey, `${osprey.url}/site/files/big.bin`);
    const sb = await perGiB(pstore, `${pstore.url}/files/big.bin`);
    const fb = await curlSpeed(`${floor.url}/files/big.bin`);
    lines.push(`cold 1 GiB: osprey ${fmt(ob.mbps)} MB/s (TTFB ${fmt(ob.ttfbMs, 1)} ms, ${fmt(ob.cpuMs)} ms CPU), proxy_store ${fmt(sb.mbps)} MB/s (TTFB ${fmt(sb.ttfbMs, 1)} ms, ${fmt(sb.cpuMs)} ms CPU), origin direct ${fmt(direct.mbps)} MB/s (TTFB ${fmt(direct.ttfbMs, 1)} ms); osprey/proxy_store ${fmt(ob.mbps / sb.mbps, 2)} (target >= 1.0), TTFB overhead ${fmt(ob.ttfbMs - direct.ttfbMs, 1)} ms (target <= 5)`);
    lines.push(`  (the floor: ${fmt(fb.mbps)} MB/s, ${fmt(fb.mbps / sb.mbps, 2)}x proxy_store; osprey/floor ${fmt(ob.mbps / fb.mbps, 2)})`);
    {
      // the same cold 1 GiB on a just-started Osprey (its own data directory, no warm-up fill): what
      // the first user after a restart gets (issue 19)
      const fresh = await startOsprey(path.join(work, 'data-fresh'), port + 4, ['--origin-allow', '127.0.0.0/8'], { OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET });
      try {
        await siteWithMirror(fresh.url, origin.url);
        const fr = await perGiB(fresh, `${fresh.url}/site/files/big.bin`);
        lines.push(`cold 1 GiB on a just-started osprey: ${fmt(fr.mbps)} MB/s (TTFB ${fmt(fr.ttfbMs, 1)} ms, ${fmt(fr.cpuMs)} ms CPU); /proxy_store above ${fmt(fr.mbps / sb.mbps, 2)} (target >= 1.0), TTFB overhead ${fmt(fr.ttfbMs - direct.ttfbMs, 1)} ms (target <= 5)`);
      } finally {
        await fresh.stop();
      }
    }
    const single = performance.now();
    await get(`${origin.url}/slow/one.bin`);
    const one = performance.now() - single;
    const h0 = await originHits(originLog, '/slow/one.bin');
    const om = await herd(`${osprey.url}/site/slow/one.bin`);
    const h1 = await originHits(originLog, '/slow/one.bin');
    const cm = await herd(`${pcache.url}/slow/one.bin`);
    const h2 = await originHits(originLog, '/slow/one.bin');
    lines.push(`100 concurrent GETs of one missing 1 MiB key (origin ~${fmt(one)} ms per fetch): osprey ${h1 - h0} origin request(s), median ${fmt(om)} ms (${fmt(om / one, 2)}x a single fetch; target 1 request, <= 1.1x); proxy_cache_lock ${h2 - h1} request(s), median ${fmt(cm)} ms (${fmt(cm / one, 2)}x)`);
    lines.push(`osprey peak RSS over the run: ${fmt(await peakRssMiB(osprey.child.pid ?? 0))} MiB (target < 150)`);
    process.stdout.write(`\nOsprey mirror benchmark (${os.cpus().length} cores, node ${process.version})\n${lines.map((l) => `- ${l}`).join('\n')}\n`);
  } finally {
    await osprey.stop();
    await Promise.all([origin.stop(), pstore.stop(), pcache.stop(), floor.stop(), floor2.stop()]);
    await agent.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
