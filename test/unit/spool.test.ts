import assert from 'node:assert/strict';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { SingleFlight } from '../../src/origin/single-flight.ts';
import { Spool } from '../../src/origin/spool.ts';

async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('spool: one writer, readers at their own pace (MIR-41)', () => {
  it('MIR-41 readers that join early, late and mid-way all get every byte', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const early = drain(spool.reader());
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(10_000, i));
    let midway: Promise<Buffer> | undefined;
    for (const [i, c] of chunks.entries()) {
      await spool.append(c);
      if (i === 10) midway = drain(spool.reader());
      await tick();
    }
    await spool.finish();
    const late = drain(spool.reader());
    const all = Buffer.concat(chunks);
    assert.deepEqual(await early, all);
    assert.deepEqual(await midway, all);
    assert.deepEqual(await late, all);
    await spool.release();
    await assert.rejects(stat(path.join(dir, 'fill')), { code: 'ENOENT' });
  });

  it('MIR-21 a range reader gets exactly its bytes, even before they arrive', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const ranged = drain(spool.reader(5, 14));
    await spool.append(Buffer.from('0123456789'));
    await tick();
    await spool.append(Buffer.from('abcdefghij'));
    await spool.finish();
    assert.equal((await ranged).toString(), '56789abcde');
    await spool.release();
  });

  it('MIR-22 a failed fill errors every unfinished reader (never a clean short body)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const r = drain(spool.reader());
    await spool.append(Buffer.from('partial'));
    await tick();
    spool.fail(new Error('origin closed mid-body'));
    await assert.rejects(r, /origin closed mid-body/);
    await spool.release();
  });

  it('MIR-41 a reader that is destroyed does not disturb the writer or other readers', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const gone = spool.reader();
    gone.destroy();
    const stays = drain(spool.reader());
    await spool.append(Buffer.from('still '));
    await spool.append(Buffer.from('here'));
    await spool.finish();
    assert.equal((await stays).toString(), 'still here');
    await spool.release();
  });
});

describe('spool in memory (small bodies of known length)', () => {
  it('MIR-41 early, mid-way and late readers and a range reader get their bytes; release frees the memory once readers are done', async () => {
    const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1000, i + 1));
    const all = Buffer.concat(chunks);
    const spool = Spool.memory(all.length);
    assert.equal(spool.memoryBytes, all.length);
    const early = drain(spool.reader());
    const range = drain(spool.reader(1500, 4499));
    let midway: Promise<Buffer> | undefined;
    for (const [i, c] of chunks.entries()) {
      await spool.append(c);
      if (i === 3) midway = drain(spool.reader());
      await tick();
    }
    await spool.finish();
    const late = spool.reader();
    let released = -1;
    spool.once('released', (n: number) => (released = n));
    await spool.release();
    assert.equal(released, -1, 'a reader still holds the memory');
    assert.deepEqual(await drain(late), all);
    assert.deepEqual(await early, all);
    assert.deepEqual(await midway, all);
    assert.deepEqual(await range, all.subarray(1500, 4500));
    assert.equal(released, all.length);
  });

  it('MIR-22 more bytes than announced fail the writer, and readers error instead of ending short', async () => {
    const spool = Spool.memory(100);
    const reader = drain(spool.reader());
    await spool.append(Buffer.alloc(60));
    await assert.rejects(spool.append(Buffer.alloc(60)), /not equal to expected/);
    spool.fail(new Error('origin sent too much'));
    await assert.rejects(reader, /too much/);
  });
});

describe('single-flight map', () => {
  it('MIR-41 joins the fill in flight and forgets it when it settles, failure included', async () => {
    const sf = new SingleFlight<string>();
    let starts = 0;
    let fail!: (e: Error) => void;
    const start = () => {
      starts++;
      return { value: `fill-${starts}`, done: new Promise((_r, rej) => (fail = rej)) };
    };
    const a = sf.join('b\0k', start);
    const b = sf.join('b\0k', start);
    assert.equal(a.leader, true);
    assert.equal(b.leader, false);
    assert.equal(b.value, 'fill-1');
    assert.equal(starts, 1);
    fail(new Error('origin down'));
    await tick();
    assert.equal(sf.size, 0);
    const c = sf.join('b\0k', start);
    assert.equal(c.leader, true);
    assert.equal(starts, 2);
  });
});
