/**
 * kill -9 of Osprey during a large mirror fill: after a restart there is no object, no temp or
 * spool file, and the next GET mirrors the object whole.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fsOnly, spawnOsprey, tmpDir } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { seededDigest, seededStream } from '../helpers/seeded.ts';
import { until } from '../helpers/wait.ts';

const SIZE = 24 * 1024 * 1024;

function chunkAt(off: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((off + i) * 13) & 0xff;
  return b;
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'NaN') / 1024;
}

describe('mirror crash safety and memory', () => {
  it(
    'a 1 GiB object is mirrored with flat memory (peak RSS under 200 MiB) and stored whole',
    { skip: fsOnly('1 GiB through a one-machine Ceph takes minutes; over 64 MiB the S3 driver stores a multipart ETag (README, Limits)') },
    async () => {
      const GIB = 1024 ** 3;
      // seeded pseudo-random bytes, checked by hash: a shifted, repeated or torn body fails
      const want = seededDigest(42, GIB);
      const origin = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-length': String(GIB) });
        const body = seededStream(42, GIB);
        body.pipe(res);
        res.on('close', () => body.destroy());
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
      const dataDir = await tmpDir('osprey-mirror-mem-');
      const srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir, '--origin-allow', '127.0.0.0/8']);
      try {
        assert.equal(
          (await rawSigned(srv.url, { method: 'PUT', path: '/mem-mirror', headers: { 'x-amz-acl': 'public-read' } })).status,
          200,
        );
        const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
        assert.equal((await rawSigned(srv.url, { method: 'PUT', path: '/mem-mirror', query: { website: '' }, body: rules })).status, 200);
        const res = await fetch(`${srv.url}/mem-mirror/huge.bin`);
        assert.equal(res.status, 200);
        let n = 0;
        const got = createHash('md5');
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
          n += c.length;
          got.update(c);
        }
        assert.equal(n, GIB);
        assert.equal(got.digest('hex'), want, 'the client got the origin bytes');
        const head = await until(
          async () => {
            const h = await rawSigned(srv.url, { method: 'HEAD', path: '/mem-mirror/huge.bin' });
            return h.status === 200 ? h : undefined;
          },
          { timeoutMs: 60_000, what: 'the 1 GiB fill to be stored' },
        );
        assert.equal(head.headers['content-length'], String(GIB));
        assert.equal(head.headers.etag, `"${want}"`, 'the stored object is the origin body (its MD5)');
        const peak = await peakRssMiB(srv.child.pid ?? 0);
        process.stdout.write(`# peak RSS while mirroring 1 GiB: ${peak.toFixed(0)} MiB\n`);
        assert.ok(peak < 200, `peak RSS ${peak.toFixed(0)} MiB`);
      } finally {
        await srv.stop();
        origin.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );

  it(
    'MIR-24 kill -9 mid-fill leaves nothing partial; the next GET mirrors it whole',
    { skip: fsOnly('times the kill by the spool file in the data dir (the S3 driver spools under the system temp dir)') },
    async () => {
      let slow = true;
      const origin = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/octet-stream' });
        let off = 0;
        const tick = () => {
          if (off >= SIZE) return res.end();
          const n = Math.min(1024 * 1024, SIZE - off);
          res.write(chunkAt(off, n));
          off += n;
          setTimeout(tick, slow ? 100 : 0);
        };
        tick();
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
      const dataDir = await tmpDir('osprey-mirror-crash-');
      const args = ['--address', '127.0.0.1:0', '--data', dataDir, '--origin-allow', '127.0.0.0/8'];
      let srv = await spawnOsprey(args);
      try {
        assert.equal(
          (await rawSigned(srv.url, { method: 'PUT', path: '/big-mirror', headers: { 'x-amz-acl': 'public-read' } })).status,
          200,
        );
        const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
        assert.equal((await rawSigned(srv.url, { method: 'PUT', path: '/big-mirror', query: { website: '' }, body: rules })).status, 200);
        // start the fill, read a little, then kill the server
        const res = await fetch(`${srv.url}/big-mirror/large.bin`);
        const reader = res.body?.getReader();
        await reader?.read();
        // the kill lands mid-body: the fill's spool file holds a few MiB (of 24) on disk
        await until(
          async () => {
            for (const f of await readdir(path.join(dataDir, 'tmp')))
              if (((await stat(path.join(dataDir, 'tmp', f)).catch(() => undefined))?.size ?? 0) >= 2 * 1024 * 1024) return true;
            return false;
          },
          { timeoutMs: 30_000, what: 'the spool file to hold 2 MiB' },
        );
        await srv.kill();
        await reader?.cancel().catch(() => {});

        slow = false;
        srv = await spawnOsprey(args);
        const tmpFiles = await readdir(path.join(dataDir, 'tmp'));
        assert.deepEqual(tmpFiles, [], 'no temp or spool file after the restart');
        const head = await rawSigned(srv.url, { method: 'HEAD', path: '/big-mirror/large.bin', anonymous: true });
        assert.notEqual(head.status, 200, 'no partial object');
        const again = await fetch(`${srv.url}/big-mirror/large.bin`);
        assert.equal(again.status, 200);
        const got = Buffer.from(await again.arrayBuffer());
        assert.equal(got.length, SIZE);
        assert.equal(createHash('md5').update(got).digest('hex'), createHash('md5').update(chunkAt(0, SIZE)).digest('hex'));
        const stored = await until(
          async () => {
            const h = await rawSigned(srv.url, { method: 'HEAD', path: '/big-mirror/large.bin' });
            return h.status === 200 ? h : undefined;
          },
          { what: 'the second fill to be stored' },
        );
        assert.equal(stored.headers['content-length'], String(SIZE));
        assert.match(String(stored.headers['x-oss-tag']), /^MIRROR http:\/\/127\.0\.0\.1:\d+\/large\.bin$/);
      } finally {
        await srv.stop();
        origin.close();
      }
    },
  );
});
