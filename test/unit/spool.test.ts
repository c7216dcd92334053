import assert from 'node:assert/strict';
import { mkdtemp, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { getThenLeave } from '../helpers/streams.ts';
import { SingleFlight } from '../../src/mirror/single-flight.ts';
import { Spool } from '../../src/mirror/spool.ts';

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

  it('a release before the writer has finished (the store gave up first) still feeds the readers every byte', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    for (let round = 0; round < 20; round++) {
      const spool = await Spool.create(path.join(dir, `fill${round}`));
      const got = drain(spool.reader());
      const chunks = Array.from({ length: 12 }, (_, i) => Buffer.alloc(64 * 1024, i + round));
      for (const [i, c] of chunks.entries()) {
        await spool.append(c);
        // the store's end: released while bytes are still on their way to the file
        if (i === 3) void spool.release();
        await new Promise((r) => setImmediate(r));
      }
      await spool.finish();
      assert.deepEqual(await got, Buffer.concat(chunks), `round ${round}`);
    }
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

describe('spool tail: the newest bytes are also kept in memory', () => {
  it('MIR-41 a reader that keeps up is served from memory; one that falls behind the tail reads the file; both get every byte', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const keepsUp = drain(spool.reader());
    // 12 MiB of distinct chunks: more than the 2 MiB tail, so the late reader must start from the file
    const chunks = Array.from({ length: 48 }, (_, i) => Buffer.alloc(256 * 1024, i + 1));
    for (const c of chunks) await spool.append(c);
    const late = drain(spool.reader());
    const ranged = drain(spool.reader(300_000, 11_000_000));
    await spool.finish();
    const all = Buffer.concat(chunks);
    assert.ok((await keepsUp).equals(all));
    assert.ok((await late).equals(all));
    assert.ok((await ranged).equals(all.subarray(300_000, 11_000_001)));
    await spool.release();
  });

  it('MIR-22 a reader served from memory still never gets the last byte before the fill is checked', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const r = spool.reader();
    const got: Buffer[] = [];
    r.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise<Error | undefined>((resolve) => {
      r.once('end', () => resolve(undefined));
      r.once('error', resolve);
    });
    await spool.append(Buffer.from('whole body'));
    await tick();
    assert.equal(Buffer.concat(got).toString(), 'whole bod');
    spool.fail(new Error('Content-MD5 mismatch'));
    assert.match(String(await ended), /Content-MD5 mismatch/);
    await spool.release();
  });

  it('a disowned spool keeps its file on release (it became a blob); readers still finish through the open file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    for (let i = 0; i < 24; i++) await spool.append(Buffer.alloc(256 * 1024, i));
    await spool.finish();
    const late = drain(spool.reader());
    spool.disown();
    await spool.release();
    assert.equal((await late).length, 24 * 256 * 1024);
    assert.equal((await stat(path.join(dir, 'fill'))).size, 24 * 256 * 1024);
  });
});

describe('spool file opened in the background', () => {
  it('an empty body: finish() returns once the file exists (it may become the blob), and release removes it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'empty'));
    await spool.finish();
    assert.equal((await stat(path.join(dir, 'empty'))).size, 0);
    assert.deepEqual(await drain(spool.reader()), Buffer.alloc(0));
    await spool.release();
    await assert.rejects(stat(path.join(dir, 'empty')), { code: 'ENOENT' });
  });

  it('MIR-22 a file that cannot be created fails the writer and its readers (never a clean short body)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'no-such-dir', 'fill'));
    const reader = drain(spool.reader());
    const body = Buffer.alloc(300_000, 7);
    await assert.rejects(
      async () => {
        for (let i = 0; i < 20; i++) await spool.append(body);
        await spool.finish();
      },
      { code: 'ENOENT' },
    );
    await assert.rejects(reader, { code: 'ENOENT' });
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

  it('MIR-22 a body whose every byte is in waits for the check whole: one piece, not all but the last byte and then that byte', async () => {
    const spool = Spool.memory(4096);
    const reader = spool.reader();
    await spool.append(Buffer.alloc(4096, 7));
    const pieces: number[] = [];
    const read = (async () => {
      for await (const c of reader) pieces.push((c as Buffer).length);
    })();
    await tick();
    assert.deepEqual(pieces, [], 'nothing before the fill is checked');
    await spool.finish();
    await read;
    assert.deepEqual(pieces, [4096]);
    await spool.release();
  });

  it('MIR-22 a reader taken whole gets its bytes in one piece only once the fill is checked (finish), and the memory goes after', async () => {
    const spool = Spool.memory(10);
    const whole = spool.reader().whole();
    const range = spool.reader(2, 5).whole();
    assert.ok(whole && range);
    let settled = false;
    void whole.then(() => (settled = true));
    await spool.append(Buffer.from('0123456789'));
    await tick();
    assert.equal(settled, false, 'every byte is there, but the fill is not checked yet');
    let released = -1;
    spool.once('released', (n: number) => (released = n));
    await spool.finish();
    assert.equal((await whole).toString(), '0123456789');
    assert.equal((await range).toString(), '2345');
    await spool.release();
    assert.equal(released, 10);
  });

  it('MIR-22 a reader taken whole rejects when the fill fails or the reader is destroyed; a file spool has no whole()', async () => {
    const spool = Spool.memory(10);
    const failed = spool.reader().whole();
    await spool.append(Buffer.from('01234'));
    spool.fail(new Error('origin went away'));
    await assert.rejects(failed!, /went away/);
    const other = Spool.memory(10);
    const reader = other.reader();
    const gone = reader.whole();
    reader.destroy(new Error('a write of the key won'));
    await assert.rejects(gone!, /key won/);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const file = await Spool.create(path.join(dir, 'fill'));
    const fileReader = file.reader();
    assert.equal(fileReader.whole(), undefined);
    // a reader holds the spool's file open until it ends or is destroyed (release waits for it)
    fileReader.destroy();
    file.fail(new Error('done'));
    await file.release();
    await assert.rejects(stat(path.join(dir, 'fill')), { code: 'ENOENT' });
  });
});

/** An HTTP server whose one request is answered by `reader.writeInto`; resolves the outcome. */
async function serveReader(make: () => ReturnType<Spool['reader']>) {
  let outcome!: Promise<{ err?: Error; bytes: number }>;
  const server = http.createServer((_req, res) => {
    let bytes = 0;
    outcome = make()
      .writeInto(res, (n) => (bytes += n))
      .then(
        () => ({ bytes }),
        (err: Error) => ({ err, bytes }),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, outcome: () => outcome };
}

describe('spool reader written into an HTTP response (reused buffers)', () => {
  it('MIR-41 a file spool: every byte, sent while the writer is still appending; the file goes after release', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const chunks = Array.from({ length: 12 }, (_, i) => Buffer.alloc(100_000, i));
    const { server, url, outcome } = await serveReader(() => spool.reader());
    try {
      const got = fetch(url).then(async (r) => Buffer.from(await r.arrayBuffer()));
      for (const c of chunks) {
        await spool.append(c);
        await tick();
      }
      await spool.finish();
      assert.deepEqual(await got, Buffer.concat(chunks));
      assert.deepEqual(await outcome(), { bytes: 1_200_000 });
      await spool.release();
      await assert.rejects(stat(path.join(dir, 'fill')), { code: 'ENOENT' });
    } finally {
      server.close();
    }
  });

  it('MIR-21 a range of a memory spool', async () => {
    const spool = Spool.memory(20);
    const { server, url, outcome } = await serveReader(() => spool.reader(5, 14));
    try {
      const got = fetch(url).then((r) => r.text());
      await spool.append(Buffer.from('0123456789'));
      await tick();
      await spool.append(Buffer.from('abcdefghij'));
      await spool.finish();
      assert.equal(await got, '56789abcde');
      assert.equal((await outcome()).err, undefined);
      await spool.release();
    } finally {
      server.close();
    }
  });

  it('MIR-22 a failed fill aborts the response: the client sees an error, never a clean short body', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const { server, url, outcome } = await serveReader(() => spool.reader());
    try {
      const got = fetch(url).then((r) => r.arrayBuffer());
      await spool.append(Buffer.alloc(300_000, 1));
      await tick();
      spool.fail(new Error('origin closed mid-body'));
      await assert.rejects(got);
      assert.match(String((await outcome()).err), /origin closed mid-body/);
      await spool.release();
      await assert.rejects(stat(path.join(dir, 'fill')), { code: 'ENOENT' });
    } finally {
      server.close();
    }
  });

  it('MIR-41 a client that leaves while its reader waits for the writer: the reader stops at once, the fill goes on', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const { server, url, outcome } = await serveReader(() => spool.reader());
    try {
      await spool.append(Buffer.alloc(50_000, 2));
      await getThenLeave(url);
      // the writer appends nothing more: the reader must not wait for it
      const out = await Promise.race([outcome(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000))]);
      assert.notEqual(out, 'hung');
      assert.ok(out !== 'hung' && out.err);
      const other = drain(spool.reader());
      await spool.append(Buffer.alloc(10, 3));
      await spool.finish();
      assert.equal((await other).length, 50_010);
      await spool.release();
      await assert.rejects(stat(path.join(dir, 'fill')), { code: 'ENOENT' });
    } finally {
      server.close();
    }
  });

  it('a reader that keeps up writes the chunks held in memory several at once (one writev), not one write each (issue 19)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    const spool = await Spool.create(path.join(dir, 'fill'));
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const writes: number[] = [];
    const got: Buffer[] = [];
    const dst = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        writes.push(1);
        got.push(chunk);
        setImmediate(cb);
      },
      writev(batch, cb) {
        writes.push(batch.length);
        for (const { chunk } of batch) got.push(chunk as Buffer);
        setImmediate(cb);
      },
    });
    // 1 MiB in memory before the reader starts: it has all but the last byte at once, the rest at the end
    for (const c of chunks) await spool.append(c);
    const done = spool.reader().writeInto(dst, () => {});
    await tick();
    await spool.finish();
    await done;
    assert.deepEqual(Buffer.concat(got), Buffer.concat(chunks));
    assert.ok(writes.length <= 3, `${writes.length} writes for 16 chunks: ${writes.join(', ')}`);
    await spool.release();
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
