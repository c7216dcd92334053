/**
 * Graceful shutdown of a real `osprey serve` process: on SIGTERM it stops accepting, lets a
 * request in flight finish within the budget (--shutdown-timeout), aborts a fill that would
 * outlast it without storing anything partial, and exits 0.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnOsprey, tmpDir } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { until } from '../helpers/wait.ts';

const PIECE = Buffer.alloc(64 * 1024, 5);

/** /o/quick.bin: 8 pieces over ~400 ms. /o/endless.bin: announces 100 MiB, sends a piece every 100 ms. */
async function startOrigin(): Promise<{ url: string; asked: Set<string>; close(): void }> {
  const asked = new Set<string>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    asked.add(p);
    const total = p === '/o/quick.bin' ? 8 : p === '/o/endless.bin' ? 1600 : 0;
    if (total === 0) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(total * PIECE.length) });
    let sent = 0;
    const timer = setInterval(
      () => {
        if (res.destroyed) return clearInterval(timer);
        res.write(PIECE);
        if (++sent === total) {
          clearInterval(timer);
          res.end();
        }
      },
      p === '/o/quick.bin' ? 50 : 100,
    );
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/o/`,
    asked,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function get(url: string): Promise<{ status: number; bytes: number; error?: string }> {
  try {
    const r = await fetch(url);
    return { status: r.status, bytes: (await r.arrayBuffer()).byteLength };
  } catch (err) {
    return { status: 0, bytes: 0, error: String(err) };
  }
}

describe('graceful shutdown (SIGTERM)', () => {
  let origin: { url: string; asked: Set<string>; close(): void };
  let dataDir: string;
  before(async () => {
    origin = await startOrigin();
    dataDir = await tmpDir();
  });
  after(async () => {
    origin.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes what fits in the budget, aborts the rest without storing it, exits 0', async () => {
    const args = ['--data', dataDir, '--address', '127.0.0.1:0', '--origin-allow', '127.0.0.0/8', '--shutdown-timeout', '1500'];
    const server = await spawnOsprey(args);
    try {
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/shut', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
      const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
        <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/shut', query: { website: '' }, body: rules })).status, 200);

      const quick = get(`${server.url}/shut/quick.bin`);
      const endless = get(`${server.url}/shut/endless.bin`);
      // both fills are under way (the origin has been asked for both) when SIGTERM arrives
      await until(() => origin.asked.has('/o/quick.bin') && origin.asked.has('/o/endless.bin'), { what: 'both fills to reach the origin' });
      const started = Date.now();
      const code = await server.stop();
      const took = Date.now() - started;
      assert.equal(code, 0, 'exit code after SIGTERM');
      assert.ok(took < 6000, `stopped in ${took} ms`);
      assert.ok(took >= 1000, `waited for the budget (${took} ms) while a request was in flight`);
      const q = await quick;
      assert.equal(q.status, 200);
      assert.equal(q.bytes, 8 * PIECE.length, 'the request that fit in the budget got its whole body');
      const e = await endless;
      assert.ok(e.error !== undefined || e.bytes < 1600 * PIECE.length, 'the endless one was cut');
      // new connections are refused once stopped
      assert.equal((await get(`${server.url}/shut/quick.bin`)).status, 0);
    } finally {
      if (server.child.exitCode === null) await server.kill();
    }

    // after a restart: the finished fill is stored, the aborted one left nothing behind
    const again = await spawnOsprey(['--data', dataDir, '--address', '127.0.0.1:0']);
    try {
      const quick = await rawSigned(again.url, { method: 'HEAD', path: '/shut/quick.bin' });
      assert.equal(quick.status, 200);
      assert.equal(quick.headers['content-length'], String(8 * PIECE.length));
      assert.equal((await rawSigned(again.url, { method: 'HEAD', path: '/shut/endless.bin' })).status, 404);
      const spool = await readdir(path.join(dataDir, 'tmp')).catch(() => []);
      assert.deepEqual(
        spool.filter((f) => f.startsWith('mirror-')),
        [],
        'no spool file left',
      );
    } finally {
      await again.stop();
    }
  });
});
