/**
 * Scale-out benchmark (issue #7): one machine, one run, side by side: load straight against Ceph
 * RGW (wrk for anonymous GETs and PUTs, curl for the 1 GiB GET) and the same load through one and
 * two Osprey nodes on that RGW (Ceph with 3 OSDs, pool size 2, and 2 gateways; node N talks to
 * gateway N). Reports 4 KiB GET and PUT req/s, 1 GiB GET MB/s, each node's peak RSS, and the
 * origin fetches of a 100-GET herd for one missing key spread over both nodes.
 *
 *   node --import tsx bench/ceph.ts [--seconds 10]
 *
 * Every process it starts (Ceph daemons, Osprey nodes, the origin) listens on 127.0.0.1 only and
 * is stopped by its PID at the end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, PutBucketAclCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { cpuSeconds, curlSpeed, fmt, peakRssMiB, ROOT, startFloor, startOsprey, wrk } from './lib.ts';
import type { Proc, WrkResult } from './lib.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 10) || 10;
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const GiB = 1024 ** 3;
const SCRIPT = path.join(ROOT, 'scripts/ceph.sh');

function ceph(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('timeout', ['300', 'bash', SCRIPT, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

async function signedFetch(
  base: string,
  method: string,
  p: string,
  headers: Record<string, string> = {},
  body?: string,
  query: Record<string, string> = {},
): Promise<Response> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const u = new URL(base);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: p,
    query,
    headers: { host: u.host, ...headers },
    ...(body !== undefined && { body }),
  });
  const qs = Object.keys(query).length ? `?${new URLSearchParams(query).toString().replace(/=$/, '').replace(/=&/g, '&')}` : '';
  return fetch(base + p + qs, { method, headers: signed.headers, ...(body !== undefined && { body }) });
}

/** a SigV4 presigned GET URL (query-string auth, valid one hour) */
async function presignedGet(base: string, creds: { accessKeyId: string; secretAccessKey: string }, p: string): Promise<string> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const u = new URL(base);
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', sha256: Sha256, uriEscapePath: false, credentials: creds });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: p,
      query: {},
      headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn: 3600 },
  );
  const qs = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${base}${p}?${qs}`;
}

/** GET on a connection of its own; the body when 200 */
function getFresh(url: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(chunks) : undefined));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const gen = (size: number) => {
  let sent = 0;
  const chunk = Buffer.alloc(1024 * 1024, 'z');
  return new Readable({
    read() {
      if (sent >= size) this.push(null);
      else {
        sent += chunk.length;
        this.push(chunk);
      }
    },
  });
};

/** wrk against several URLs at once (connections split among them); req/s summed */
async function wrkAll(urls: string[], connections: number, script?: string): Promise<WrkResult> {
  const rs = await Promise.all(
    urls.map((u) =>
      wrk(u, { connections: Math.max(1, Math.floor(connections / urls.length)), seconds, threads: 1, ...(script && { script }) }),
    ),
  );
  return {
    reqPerSec: rs.reduce((n, r) => n + r.reqPerSec, 0),
    non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    requests: rs.reduce((n, r) => n + r.requests, 0),
  };
}

/** the PIDs of the cluster's gateways (radosgw) and OSDs, from the pid files scripts/ceph.sh's configuration names */
async function cephPids(dir: string): Promise<{ rgw: number[]; osd: number[] }> {
  const run = path.join(dir, 'run');
  const files = (await readdir(run).catch(() => [] as string[])).filter((f) => f.endsWith('.pid'));
  const pid = async (f: string) => Number((await readFile(path.join(run, f), 'utf8').catch(() => '')).trim());
  return {
    rgw: (await Promise.all(files.filter((f) => f.startsWith('client.rgw.')).map(pid))).filter((n) => n > 0),
    osd: (await Promise.all(files.filter((f) => f.startsWith('osd.')).map(pid))).filter((n) => n > 0),
  };
}

/** server CPU (user + system, /proc) per request of one load, for each group of PIDs: µs */
async function cpuPerRequest<T extends WrkResult>(
  groups: Record<string, number[]>,
  load: () => Promise<T>,
): Promise<T & { cpu: Record<string, number> }> {
  const sum = async (pids: number[]) => (await Promise.all(pids.map((p) => cpuSeconds(p)))).reduce((a, b) => a + b, 0);
  const before = Object.fromEntries(await Promise.all(Object.entries(groups).map(async ([k, v]) => [k, await sum(v)] as const)));
  const r = await load();
  const cpu: Record<string, number> = {};
  for (const [k, v] of Object.entries(groups)) cpu[k] = (((await sum(v)) - (before[k] ?? 0)) * 1e6) / r.requests;
  return { ...r, cpu };
}

const cpuText = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');

async function main(): Promise<void> {
  const dir = path.join(ROOT, `.osprey-test-bench-${randomBytes(4).toString('hex')}`);
  const nodes: Proc[] = [];
  const floors: Proc[] = [];
  let origin: http.Server | undefined;
  try {
    const t0 = Date.now();
    const out = await ceph(['start', dir, '--osds', '3', '--gateways', '2', '--owner-pid', String(process.pid)]);
    const field = (n: string) => new RegExp(`^${n}=(.*)$`, 'm').exec(out)?.[1] ?? '';
    const gateways = field('CEPH_ENDPOINTS').split(',');
    const creds = { accessKeyId: field('CEPH_ACCESS_KEY'), secretAccessKey: field('CEPH_SECRET_KEY') };
    console.log(`ceph: 1 mon, 3 OSDs (pool size 2), 2 gateways up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const rgw = new S3Client({
      endpoint: gateways[0],
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: creds,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });

    // straight to RGW: a public-read-write bucket with the same objects
    await rgw.send(new CreateBucketCommand({ Bucket: 'direct' }));
    await rgw.send(new PutBucketAclCommand({ Bucket: 'direct', ACL: 'public-read-write' }));
    await rgw.send(new PutObjectCommand({ Bucket: 'direct', Key: 'small', Body: Buffer.alloc(4096, 'a'), ACL: 'public-read' }));
    await new Upload({
      client: rgw,
      params: { Bucket: 'direct', Key: 'large', Body: gen(GiB), ACL: 'public-read' },
      partSize: 16 * 1024 * 1024,
      queueSize: 2,
    }).done();

    // two Osprey nodes on the same store, node N on gateway N
    const env = {
      OSPREY_ACCESS_KEY_ID: KEY,
      OSPREY_SECRET_ACCESS_KEY: SECRET,
      OSPREY_STORAGE_ACCESS_KEY_ID: creds.accessKeyId,
      OSPREY_STORAGE_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    for (const gw of gateways)
      nodes.push(
        await startOsprey(
          path.join(dir, 'unused'),
          0,
          ['--storage', 's3://osprey-bench', '--storage-endpoint', gw, '--origin-allow', '127.0.0.0/8'],
          env,
        ),
      );
    const [n1, n2] = nodes as [Proc, Proc];
    // context, not a target: the least a Node.js process does in Osprey's place, in front of gateway 1
    // (bench/floor-server.ts): a byte relay with no HTTP at all, and an HTTP proxy over undici
    const relay = await startFloor('tcp', new URL(gateways[0] ?? '').host);
    const hproxy = await startFloor('http', gateways[0] ?? '');
    floors.push(relay, hproxy);
    const r = await signedFetch(n1.url, 'PUT', '/bench', { 'x-amz-acl': 'public-read-write' });
    if (r.status !== 200) throw new Error(`create bucket: ${r.status} ${await r.text()}`);
    await fetch(`${n1.url}/bench/small`, { method: 'PUT', body: Buffer.alloc(4096, 'a') });
    const tPut = Date.now();
    const put = await fetch(`${n1.url}/bench/large`, {
      method: 'PUT',
      body: Readable.toWeb(gen(GiB)) as ReadableStream,
      duplex: 'half',
      headers: { 'content-length': String(GiB) },
    });
    if (put.status !== 200) throw new Error(`large PUT: ${put.status} ${await put.text()}`);
    const putMBps = GiB / 1e6 / ((Date.now() - tPut) / 1000);

    const lines: string[] = [];
    const say = (l: string) => {
      lines.push(l);
      console.log(l);
    };
    const row = (what: string, direct: number, one: number, two: number | undefined, unit: string, target?: string) =>
      say(
        `${what}: RGW ${fmt(direct, unit === 'MB/s' ? 1 : 0)} ${unit}; 1 node ${fmt(one, unit === 'MB/s' ? 1 : 0)} (${fmt(one / direct, 2)}x)` +
          (two === undefined ? '' : `; 2 nodes ${fmt(two, 0)} (${fmt(two / direct, 2)}x)`) +
          (target ? `  [target ${target}]` : ''),
      );

    // 4 KiB GET, anonymous, 64 connections in all
    // CPU per request (issue 19): RGW's own (radosgw, both gateways) and the OSDs', and Osprey's
    const pids = await cephPids(dir);
    const groups = (...osprey: Proc[]) => ({
      rgw: pids.rgw,
      osd: pids.osd,
      ...(osprey.length > 0 && { osprey: osprey.map((o) => o.child.pid ?? 0) }),
    });
    const dGet = await cpuPerRequest(groups(), () => wrkAll([`${gateways[0]}/direct/small`], 64));
    const dGet2 = await wrkAll(
      gateways.map((g) => `${g}/direct/small`),
      64,
    );
    // context, not a target: the same GET signed (a presigned URL), as every request Osprey sends
    // to its private store bucket is; RGW spends more per signed request than per anonymous one
    const dGetSigned = await wrkAll([await presignedGet(gateways[0] ?? '', creds, '/direct/small')], 64);
    const oGet = await cpuPerRequest(groups(n1), () => wrkAll([`${n1.url}/bench/small`], 64));
    const oGet2 = await wrkAll([`${n1.url}/bench/small`, `${n2.url}/bench/small`], 64);
    const fGetTcp = await wrkAll([`${relay.url}/direct/small`], 64);
    const fGetHttp = await wrkAll([`${hproxy.url}/direct/small`], 64);
    row('4 KiB GET req/s (64 conns)', dGet.reqPerSec, oGet.reqPerSec, oGet2.reqPerSec, 'req/s', '>= 0.8x');
    say(`  server CPU µs/request: straight to RGW: ${cpuText(dGet.cpu)}; through 1 node: ${cpuText(oGet.cpu)}`);
    say(`  (RGW through both gateways: ${fmt(dGet2.reqPerSec)} req/s; 2 nodes vs that: ${fmt(oGet2.reqPerSec / dGet2.reqPerSec, 2)}x)`);
    say(
      `  (RGW with signed GETs, a presigned URL: ${fmt(dGetSigned.reqPerSec)} req/s; 1 node vs that: ${fmt(oGet.reqPerSec / dGetSigned.reqPerSec, 2)}x)`,
    );
    say(
      `  (the floor, anonymous GETs to RGW through a bare Node.js process: a byte relay ${fmt(fGetTcp.reqPerSec)} req/s (${fmt(fGetTcp.reqPerSec / dGet.reqPerSec, 2)}x), an HTTP proxy over undici ${fmt(fGetHttp.reqPerSec)} req/s (${fmt(fGetHttp.reqPerSec / dGet.reqPerSec, 2)}x))`,
    );
    for (const [n, w] of [
      ['rgw', dGet],
      ['rgw x2', dGet2],
      ['rgw signed', dGetSigned],
      ['1 node', oGet],
      ['2 nodes', oGet2],
      ['floor relay', fGetTcp],
      ['floor proxy', fGetHttp],
    ] as const)
      if (w.non2xx) say(`  ${n}: ${w.non2xx} non-2xx responses!`);

    // 4 KiB PUT, anonymous into public-read-write buckets, 16 connections, rotating keys
    const lua = path.join(dir, 'put.lua');
    await writeFile(
      lua,
      `local n = 0\nwrk.method = "PUT"\nwrk.body = string.rep("p", 4096)\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, wrk.path .. "-" .. (n % 256))\nend\n`,
    );
    const dPut = await cpuPerRequest(groups(), () => wrkAll([`${gateways[0]}/direct/put`], 16, lua));
    const oPut = await cpuPerRequest(groups(n1), () => wrkAll([`${n1.url}/bench/put`], 16, lua));
    const oPut2 = await wrkAll([`${n1.url}/bench/put`, `${n2.url}/bench/put`], 16, lua);
    row('4 KiB PUT req/s (16 conns)', dPut.reqPerSec, oPut.reqPerSec, oPut2.reqPerSec, 'req/s');
    say(`  server CPU µs/request: straight to RGW: ${cpuText(dPut.cpu)}; through 1 node: ${cpuText(oPut.cpu)}`);
    for (const [n, w] of [
      ['rgw', dPut],
      ['1 node', oPut],
      ['2 nodes', oPut2],
    ] as const)
      if (w.non2xx) say(`  ${n} PUT: ${w.non2xx} non-2xx responses!`);

    // 1 GiB GET, one stream, best of two
    const best = async (url: string) => Math.max((await curlSpeed(url)).mbps, (await curlSpeed(url)).mbps);
    const dBig = await best(`${gateways[0]}/direct/large`);
    const oBig = await best(`${n1.url}/bench/large`);
    const fBigTcp = await best(`${relay.url}/direct/large`);
    const fBigHttp = await best(`${hproxy.url}/direct/large`);
    row('1 GiB GET MB/s (1 stream)', dBig, oBig, undefined, 'MB/s', '>= 0.9x');
    say(
      `  (the floor: a byte relay ${fmt(fBigTcp, 1)} MB/s (${fmt(fBigTcp / dBig, 2)}x), an HTTP proxy over undici ${fmt(fBigHttp, 1)} MB/s (${fmt(fBigHttp / dBig, 2)}x))`,
    );
    say(`1 GiB PUT through node 1 (streamed, multipart to the store): ${fmt(putMBps, 1)} MB/s`);

    // the cross-node herd: 100 GETs of one missing 1 MiB key, 50 per node, origin ~1 s
    let hits = 0;
    const body = randomBytes(1024 * 1024);
    origin = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-length': String(body.length) });
      let off = 0;
      const tick = () => {
        if (off >= body.length) return void res.end();
        res.write(body.subarray(off, off + 128 * 1024));
        off += 128 * 1024;
        setTimeout(tick, 120);
      };
      tick();
    });
    await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
    const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://127.0.0.1:${(origin.address() as AddressInfo).port}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
    const w = await signedFetch(n1.url, 'PUT', '/bench', {}, rules, { website: '' });
    if (w.status !== 200) throw new Error(`rules: ${w.status} ${await w.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const tHerd = Date.now();
    const bodies = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        // a fresh connection each: a kept-alive one the server is closing would fail the client, not Osprey
        return getFresh(`${(i % 2 ? n1 : n2).url}/bench/herd.bin`).catch(() => undefined);
      }),
    );
    const complete = bodies.filter((b) => b?.equals(body)).length;
    say(
      `cross-node herd: 100 GETs of one missing 1 MiB key over 2 nodes: ${hits} origin fetch(es), ${complete}/100 complete identical bodies, ${Date.now() - tHerd} ms  [target <= 2, aim 1]`,
    );

    const rss = await Promise.all(nodes.map((n) => peakRssMiB(n.child.pid ?? 0)));
    say(`peak RSS: node 1 ${fmt(rss[0] ?? NaN)} MiB, node 2 ${fmt(rss[1] ?? NaN)} MiB  [target < 150 MiB]`);
    console.log(
      `\nOsprey on Ceph RGW (16.2, 3 OSDs, 2 gateways), wrk ${seconds} s per run, all on this machine (${(await import('node:os')).cpus().length} cores):`,
    );
    for (const l of lines) console.log(l);
  } finally {
    origin?.close();
    for (const n of [...nodes, ...floors]) await n.stop();
    await ceph(['stop', dir]).catch((e: unknown) => console.error(e));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
