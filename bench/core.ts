/**
 * Core benchmark (issue: core server). Against a fresh Osprey and an nginx serving the same files
 * from disk, in one run: 4 KiB GET req/s (64 connections, anonymous public-read), 1 GiB GET MB/s,
 * 4 KiB PUT req/s (anonymous, public-read-write), and Osprey's peak RSS.
 *
 *   node --import tsx bench/core.ts [--seconds 10]
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { cpuSeconds, curlSpeed, fmt, peakRssMiB, startNginx, startOsprey, withCpu, wrk } from './lib.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 10) || 10;
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const GiB = 1024 ** 3;

async function signedFetch(
  base: string,
  method: string,
  p: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Response> {
  // Bench set-up uses presigned-style owner requests through the AWS SDK signer.
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
    query: {},
    headers: { host: u.host, ...headers },
    ...(body !== undefined && { body }),
  });
  return fetch(base + p, { method, headers: signed.headers, ...(body !== undefined && { body }) });
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-bench-'));
  const osprey = await startOsprey(path.join(work, 'data'), 0, [], { OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET });
  const www = path.join(work, 'www', 'bench');
  const nginx = await startNginx(path.join(work, 'nginx'), 18080 + Math.floor(Math.random() * 1000), `root ${path.join(work, 'www')};`);
  try {
    const r = await signedFetch(osprey.url, 'PUT', '/bench', { 'x-amz-acl': 'public-read-write' });
    if (r.status !== 200) throw new Error(`create bucket: ${r.status} ${await r.text()}`);
    await import('node:fs/promises').then((fs) => fs.mkdir(www, { recursive: true }));
    const small = Buffer.alloc(4096, 'a');
    await fetch(`${osprey.url}/bench/small`, { method: 'PUT', body: small });
    await writeFile(path.join(www, 'small'), small);
    // 1 GiB object: anonymous PUT streamed from a generator, and the same bytes on nginx's disk.
    const gen = () => {
      let sent = 0;
      const chunk = Buffer.alloc(1024 * 1024, 'z');
      return new Readable({
        read() {
          if (sent >= GiB) this.push(null);
          else {
            sent += chunk.length;
            this.push(chunk);
          }
        },
      });
    };
    const put = await fetch(`${osprey.url}/bench/large`, {
      method: 'PUT',
      body: Readable.toWeb(gen()) as ReadableStream,
      duplex: 'half',
      headers: { 'content-length': String(GiB) },
    });
    if (put.status !== 200) throw new Error(`large PUT: ${put.status}`);
    await pipeline(gen(), createWriteStream(path.join(www, 'large')));
    // nginx's workers run as an unprivileged user: let them reach the files
    for (const d of [work, path.join(work, 'www'), www]) await chmod(d, 0o755);

    const results: string[] = [];
    // every rate with the server's CPU (user + system, /proc) per operation beside it (issue 19)
    const oPid = osprey.child.pid ?? 0;
    const nPid = nginx.child.pid ?? 0;
    const oGet = await withCpu(
      oPid,
      () => wrk(`${osprey.url}/bench/small`, { connections: 64, seconds }),
      (w) => w.requests,
    );
    const nGet = await withCpu(
      nPid,
      () => wrk(`${nginx.url}/bench/small`, { connections: 64, seconds }),
      (w) => w.requests,
    );
    results.push(
      `4 KiB GET, 64 connections (a public-read bucket without rules; bench/hit.ts has the bucket with a Mirror rule): osprey ${fmt(oGet.reqPerSec)} req/s (${fmt(oGet.cpuUsPerOp)} µs CPU/request), nginx ${fmt(nGet.reqPerSec)} req/s (${fmt(nGet.cpuUsPerOp)} µs), ratio ${fmt(oGet.reqPerSec / nGet.reqPerSec, 2)} (target >= 0.30)${oGet.non2xx ? `, ${oGet.non2xx} non-2xx!` : ''}`,
    );
    const oBig: number[] = [];
    const nBig: number[] = [];
    let oCpu = 0;
    let nCpu = 0;
    for (let i = 0; i < 3; i++) {
      const o0 = await cpuSeconds(oPid);
      oBig.push((await curlSpeed(`${osprey.url}/bench/large`)).mbps);
      oCpu += (await cpuSeconds(oPid)) - o0;
      const n0 = await cpuSeconds(nPid);
      nBig.push((await curlSpeed(`${nginx.url}/bench/large`)).mbps);
      nCpu += (await cpuSeconds(nPid)) - n0;
    }
    const best = (a: number[]) => Math.max(...a);
    results.push(
      `1 GiB GET (best of 3): osprey ${fmt(best(oBig))} MB/s (${fmt((oCpu / 3) * 1000)} ms CPU/GiB, mean), nginx ${fmt(best(nBig))} MB/s (${fmt((nCpu / 3) * 1000)} ms CPU/GiB), ratio ${fmt(best(oBig) / best(nBig), 2)} (target >= 0.70)`,
    );
    const script = path.join(work, 'put.lua');
    await writeFile(
      script,
      `counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format("PUT", "/bench/put-" .. counter, {["Content-Length"] = "4096"}, string.rep("p", 4096))\nend\n`,
    );
    const oPut = await withCpu(
      oPid,
      () => wrk(`${osprey.url}`, { connections: 16, seconds, script }),
      (w) => w.requests,
    );
    results.push(
      `4 KiB PUT, 16 connections: osprey ${fmt(oPut.reqPerSec)} req/s (${fmt(oPut.cpuUsPerOp)} µs CPU/request)${oPut.non2xx ? ` (${oPut.non2xx} non-2xx!)` : ''}`,
    );
    results.push(`osprey peak RSS over the whole run: ${fmt(await peakRssMiB(osprey.child.pid ?? 0))} MiB (target < 150)`);
    process.stdout.write(
      `\nOsprey core benchmark (${seconds}s per load, ${os.cpus().length} cores, node ${process.version})\n` +
        results.map((l) => `- ${l}`).join('\n') +
        '\n',
    );
  } finally {
    await osprey.stop();
    await nginx.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
