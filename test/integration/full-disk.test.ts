/**
 * Issue #15, defect 4: a full disk must not wedge the store. On a small tmpfs filled to the last
 * byte, every write that needs room answers 503 ServiceUnavailable with an S3 error body and
 * leaves nothing partial (PUT small and large, multipart, copy, CreateBucket, a bucket
 * configuration, a mirror fill), while DELETE (single and multi-object) succeeds and frees room,
 * also after a restart on the full disk.
 *
 * Needs `mount -t tmpfs` (the tests run as root); where mounting is not permitted the test is
 * skipped with that reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';
import { fillMark, until } from '../helpers/wait.ts';

const ON_S3 = process.env.OSPREY_TEST_DRIVER === 's3';
const SIZE = 48 * 1024 * 1024;

/** A fresh tmpfs of SIZE bytes, or why there is none. */
function mountTmpfs(): { dir: string } | { skip: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osprey-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return {
      skip: `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}): the full-disk test needs root or CAP_SYS_ADMIN`,
    };
  }
}

const mounted = ON_S3 ? { skip: 'embedded store only: a full local disk' } : mountTmpfs();

/** Appends to `file` until the filesystem refuses even one byte more; returns the bytes written. */
function fillUp(file: string): number {
  const fd = openSync(file, 'a');
  let written = 0;
  try {
    for (const size of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0xff);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function free(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** The origin's body for a path: 4 MiB for 'big' (a file spool), 4 KiB for 'small' (a memory spool), else 1000 bytes; text that shows any byte out of place. */
function originBody(url: string): Buffer {
  const n = url.includes('big') ? 4 * 1024 * 1024 : url.includes('small') ? 4096 : 1000;
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + ((i * 7 + (i >> 12)) % 26);
  return b;
}

/**
 * A mirror fill on the full disk gets a proper answer: 503 with an S3 error body when the spool
 * found no room before its first byte went out, or else (the client was already being served)
 * the whole origin body, byte for byte; never a cut-off 200.
 */
async function expectFillAnswered(res: Promise<{ status: number; body: string }>, path: string): Promise<void> {
  const r = await res.catch((err: Error) => assert.fail(`the mirror fill of ${path} was cut off: ${err.message}`));
  if (r.status === 503) {
    await expectFull(Promise.resolve(r), `the mirror fill of ${path}`);
    return;
  }
  assert.equal(r.status, 200, `the mirror fill of ${path}: ${r.status} ${r.body.slice(0, 300)}`);
  const want = originBody(path).toString('latin1');
  assert.equal(r.body.length, want.length, `the mirror fill of ${path}: the whole body`);
  assert.ok(r.body === want, `the mirror fill of ${path}: the origin's bytes`);
}

async function expectFull(res: Promise<{ status: number; body: string }>, what: string): Promise<void> {
  const r = await res.catch((err: Error) => assert.fail(`${what}: ${err.message}`));
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.body}`);
  assert.equal(xmlField(r.body, 'Code'), 'ServiceUnavailable', `${what}: ${r.body}`);
  assert.ok(xmlField(r.body, 'Message'), `${what}: a message`);
  assert.ok(xmlField(r.body, 'RequestId'), `${what}: a request id`);
}

describe('a full disk (issue #15, defect 4)', { skip: 'skip' in mounted ? mounted.skip : false }, () => {
  const root = 'dir' in mounted ? mounted.dir : '';
  const dataDir = path.join(root, 'data');
  const filler = path.join(root, 'filler');
  let server: TestServer;
  let origin: http.Server;
  let originUrl = '';
  /** bytes the origin has sent of the slow body */
  let slowSent = 0;

  before(async () => {
    mkdirSync(dataDir);
    origin = http.createServer((req, res) => {
      const body = originBody(req.url ?? '');
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'text/plain' });
      if (!req.url?.includes('slow')) return void res.end(body);
      // 64 KiB every 20 ms: a fill that lasts over a second, so a second client can join it
      const tick = () => {
        if (res.destroyed) return;
        if (slowSent >= body.length) return void res.end();
        res.write(body.subarray(slowSent, slowSent + 64 * 1024));
        slowSent += 64 * 1024;
        setTimeout(tick, 20);
      };
      tick();
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    server = await startOsprey({ dataDir });
  });
  after(async () => {
    try {
      await server?.close();
      origin?.close();
    } finally {
      if (root) {
        try {
          execFileSync('umount', [root], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', root], { stdio: 'pipe' }); // something still open: detach it now, freed when closed
        }
        rmSync(root, { recursive: true, force: true });
      }
    }
  });

  it('answers 503 to every write, stores nothing partial, and DELETE frees room, also after a restart', async () => {
    const url = () => server.url;
    assert.equal((await rawSigned(url(), { method: 'PUT', path: '/full' })).status, 200);
    const website = `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><MirrorURL>${originUrl}/</MirrorURL><RedirectType>Mirror</RedirectType></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
    const w = await rawSigned(url(), { method: 'PUT', path: '/full', query: { website: '' }, body: website });
    assert.equal(w.status, 200, w.body);
    for (let i = 0; i < 20; i++)
      assert.equal((await rawSigned(url(), { method: 'PUT', path: `/full/small-${i}`, body: `small ${i}`.repeat(50) })).status, 200);
    for (let i = 0; i < 3; i++)
      assert.equal((await rawSigned(url(), { method: 'PUT', path: `/full/big-${i}`, body: Buffer.alloc(3 * 1024 * 1024, i) })).status, 200);
    const init = await rawSigned(url(), { method: 'POST', path: '/full/multi', query: { uploads: '' } });
    const uploadId = xmlField(init.body, 'UploadId') ?? '';
    assert.ok(uploadId, init.body);

    const blobsBefore = filesUnder(path.join(dataDir, 'blobs')).sort();
    const wrote = fillUp(filler);
    assert.ok(wrote > 0);
    assert.equal(free(root), 0, 'the disk is full to the last byte');

    // every write that needs room: 503 with an S3 error body
    await expectFull(rawSigned(url(), { method: 'PUT', path: '/full/new-small', body: 'tiny' }), 'a small PUT (kept in SQLite)');
    await expectFull(rawSigned(url(), { method: 'PUT', path: '/full/new-big', body: Buffer.alloc(1024 * 1024, 7) }), 'a 1 MiB PUT');
    await expectFull(
      rawSigned(url(), { method: 'PUT', path: '/full/new-copy', headers: { 'x-amz-copy-source': '/full/big-0' } }),
      'a copy',
    );
    await expectFull(
      rawSigned(url(), { method: 'PUT', path: '/full/multi', query: { partNumber: '1', uploadId }, body: Buffer.alloc(256 * 1024, 1) }),
      'an UploadPart',
    );
    await expectFull(rawSigned(url(), { method: 'POST', path: '/full/multi2', query: { uploads: '' } }), 'a CreateMultipartUpload');
    await expectFull(rawSigned(url(), { method: 'PUT', path: '/newbucket' }), 'a CreateBucket');
    await expectFull(
      rawSigned(url(), { method: 'PUT', path: '/full', query: { website: '' }, body: website.replace('index.html', 'home.html') }),
      'a bucket configuration',
    );
    // a mirror fill streams to its client while it spools: a small one (in memory, the store
    // refuses it) and a large one (its spool file finds no room) both get a proper answer
    // (expectFillAnswered), the fill ends 'failed', and nothing is stored
    const fills = await fillMark(url(), 'full');
    await expectFillAnswered(rawSigned(url(), { method: 'GET', path: '/full/mirrored-small' }), '/full/mirrored-small');
    await expectFillAnswered(rawSigned(url(), { method: 'GET', path: '/full/mirrored-big' }), '/full/mirrored-big');
    assert.deepEqual(await fills.wait(2), { failed: 2 });
    // a client that joins the fill after its spool found no room has had nothing yet: 503, while
    // the client already being served gets the whole body
    const slow = await fillMark(url(), 'full');
    const firstClient = rawSigned(url(), { method: 'GET', path: '/full/mirrored-slow-big' });
    // a quarter of the body sent: the spool's first write (which fails) was long before
    await until(() => slowSent >= 1024 * 1024, { what: 'the slow fill under way' });
    await expectFull(
      rawSigned(url(), { method: 'GET', path: '/full/mirrored-slow-big' }),
      'a client joining the fill after the spool found no room',
    );
    assert.ok(slowSent < 4 * 1024 * 1024, 'the second client joined while the fill was running');
    await expectFillAnswered(firstClient, '/full/mirrored-slow-big');
    assert.deepEqual(await slow.wait(), { failed: 1 });
    // nothing partial: none of the refused keys exists, no temp file is left
    for (const key of ['new-small', 'new-big', 'new-copy', 'mirrored-small', 'mirrored-big', 'mirrored-slow-big']) {
      assert.equal((await rawSigned(url(), { method: 'HEAD', path: `/full/${key}` })).status, 404, key);
    }
    assert.equal((await rawSigned(url(), { method: 'HEAD', path: '/newbucket' })).status, 404);
    // a spool file goes once its last reader is done (just after the answer ended)
    await until(() => filesUnder(path.join(dataDir, 'tmp')).length === 0, { what: 'no temp file left' });
    assert.deepEqual(filesUnder(path.join(dataDir, 'blobs')).sort(), blobsBefore, 'no blob file left by a refused write');
    // reads still work
    assert.equal((await rawSigned(url(), { method: 'GET', path: '/full/small-3' })).body, 'small 3'.repeat(50));

    // DELETE always works on the full disk: one key, then several at once
    assert.equal(free(root), 0);
    assert.equal((await rawSigned(url(), { method: 'DELETE', path: '/full/small-0' })).status, 204);
    const keys = ['small-1', 'small-2', 'big-0'].map((k) => `<Object><Key>${k}</Key></Object>`).join('');
    const multi = await rawSigned(url(), { method: 'POST', path: '/full', query: { delete: '' }, body: `<Delete>${keys}</Delete>` });
    assert.equal(multi.status, 200, multi.body);
    assert.doesNotMatch(multi.body, /<Error>/, multi.body);
    for (const k of ['small-0', 'small-1', 'small-2', 'big-0'])
      assert.equal((await rawSigned(url(), { method: 'HEAD', path: `/full/${k}` })).status, 404, k);
    // and it freed room: a new object fits again
    assert.ok(free(root) > 0, 'deleting a 3 MiB object freed room');
    assert.equal((await rawSigned(url(), { method: 'PUT', path: '/full/after-delete', body: 'fits again' })).status, 200);

    // a restart on a full disk: the server starts, and DELETE still works
    await server.close();
    fillUp(filler);
    assert.equal(free(root), 0, 'full again before the restart');
    server = await startOsprey({ dataDir });
    fillUp(filler); // whatever the start freed is taken again
    assert.equal(free(root), 0, 'full again after the restart');
    await expectFull(rawSigned(url(), { method: 'PUT', path: '/full/after-restart', body: 'tiny' }), 'a small PUT after the restart');
    assert.equal((await rawSigned(url(), { method: 'GET', path: '/full/small-4' })).status, 200);
    assert.equal((await rawSigned(url(), { method: 'DELETE', path: '/full/small-5' })).status, 204);
    assert.equal((await rawSigned(url(), { method: 'DELETE', path: '/full/big-1' })).status, 204);
    const del = await rawSigned(url(), {
      method: 'POST',
      path: '/full',
      query: { delete: '' },
      body: '<Delete><Object><Key>small-6</Key></Object><Object><Key>big-2</Key></Object></Delete>',
    });
    assert.equal(del.status, 200, del.body);
    assert.doesNotMatch(del.body, /<Error>/, del.body);
    assert.ok(free(root) > 0, 'the deletes freed room');
    assert.equal((await rawSigned(url(), { method: 'PUT', path: '/full/after-restart', body: 'fits' })).status, 200);
    assert.equal((await rawSigned(url(), { method: 'GET', path: '/full/after-restart' })).body, 'fits');

    // with room again, the same mirror fills work and are stored
    rmSync(filler);
    const again = await fillMark(url(), 'full');
    for (const key of ['mirrored-small', 'mirrored-big']) {
      const r = await rawSigned(url(), { method: 'GET', path: `/full/${key}` });
      assert.equal(r.status, 200, `${key}: ${r.body.slice(0, 300)}`);
      assert.ok(r.body === originBody(key).toString('latin1'), `${key}: the origin's bytes`);
    }
    assert.deepEqual(await again.wait(2), { stored: 2 });
    for (const key of ['mirrored-small', 'mirrored-big']) {
      const r = await rawSigned(url(), { method: 'GET', path: `/full/${key}` });
      assert.ok(r.status === 200 && r.body === originBody(key).toString('latin1'), `${key} stored whole`);
    }
  });
});
