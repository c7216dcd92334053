/**
 * A spool whose file finds no room (issue #15): the spool file is a link to /dev/full, where
 * every write fails with ENOSPC. A reader that already had bytes gets the rest, byte for byte
 * (relayed from memory, the writer held back by the slowest reader); a reader that had nothing
 * yet is refused (`ready` rejects: the HTTP layer answers 503); nothing holds a complete file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isOutOfSpace } from '../../src/errors.ts';
import { Spool } from '../../src/mirror/spool.ts';

async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** a spool on a "disk" that is full from the first byte */
async function fullSpool(): Promise<Spool> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-full-'));
  const link = path.join(dir, 'fill');
  await symlink('/dev/full', link);
  return Spool.create(link);
}

const outOfSpace = (spool: Spool) =>
  new Promise<void>((resolve) => {
    if (spool.outOfSpace) resolve();
    else spool.once('outOfSpace', () => resolve());
  });

describe('spool out of space (issue #15)', { skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, () => {
  it('a reader that already had bytes gets the whole body, relayed from memory; the writer waits for it', async () => {
    const spool = await fullSpool();
    const early = spool.reader();
    const firstData = new Promise<Buffer>((resolve) =>
      early.once('data', (c: Buffer) => {
        early.pause();
        resolve(c);
      }),
    );
    // 12 MiB: much more than the relay keeps in memory; the paused reader holds the writer back
    const chunks = Array.from({ length: 48 }, (_, i) => Buffer.alloc(256 * 1024, i + 1));
    let appended = 0;
    const writer = (async () => {
      for (const c of chunks) {
        await spool.append(c);
        appended++;
      }
      await spool.finish();
    })();
    const first = await firstData;
    await outOfSpace(spool);
    assert.ok(isOutOfSpace(spool.outOfSpace));
    // give the writer every chance to run ahead: it must stop while the reader is paused
    for (let i = 0; i < 50 && appended < chunks.length; i++) await new Promise((r) => setImmediate(r));
    assert.ok(appended < chunks.length, 'the writer waits for the slowest reader');
    early.resume();
    const rest = await drain(early);
    await writer;
    assert.ok(Buffer.concat([first, rest]).equals(Buffer.concat(chunks)), 'every byte, in order');
    assert.equal(spool.finalSize, 48 * 256 * 1024);
    await spool.release();
  });

  it('a reader that had nothing yet is refused with the out-of-space error (ready rejects)', async () => {
    const spool = await fullSpool();
    await spool.append(Buffer.alloc(64 * 1024, 1));
    await outOfSpace(spool);
    const late = spool.reader();
    await assert.rejects(late.ready(), (err) => isOutOfSpace(err));
    late.destroy();
    // the writer is not held back by nobody, and the spool ends cleanly
    await spool.append(Buffer.alloc(8 * 1024 * 1024, 2));
    await spool.finish();
    await spool.release();
  });

  it("'idle' when the last reader leaves before the end (the fill may stop); not after the end", async () => {
    const spool = await Spool.create(path.join(await mkdtemp(path.join(os.tmpdir(), 'spool-idle-')), 'fill'));
    let idle = 0;
    spool.on('idle', () => idle++);
    const a = spool.reader();
    const b = spool.reader();
    await spool.append(Buffer.alloc(1000, 1));
    a.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(idle, 0, 'one reader is still there');
    b.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(idle, 1);
    await spool.finish();
    await drain(spool.reader());
    assert.equal(idle, 1, 'a reader that read to the end is not a reader that left');
    await spool.release();
  });

  it('a reader that starts after the bytes it needs were relayed and dropped errors (never a clean short body)', async () => {
    const spool = await fullSpool();
    await spool.append(Buffer.alloc(64 * 1024, 1));
    await outOfSpace(spool);
    await spool.append(Buffer.alloc(8 * 1024 * 1024, 2));
    await spool.finish();
    await assert.rejects(drain(spool.reader()), (err) => isOutOfSpace(err));
    await spool.release();
  });
});
