/**
 * src/storage/file-range: both ways of consuming a FileRangeStream (as a Readable, and
 * writeInto an HTTP response over a real socket) give exactly the bytes of the ranges; a file
 * shorter than its range and a client that goes away mid-body end in an error, never a clean
 * short answer; 'close' comes exactly once whichever way it ends.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { getThenLeave } from '../helpers/streams.ts';
import { FileRangeStream } from '../../src/storage/file-range.ts';
import type { FileRange } from '../../src/storage/file-range.ts';

let dir: string;
let a: Buffer;
let b: Buffer;
let fa: string;
let fb: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'osprey-file-range-'));
  a = randomBytes(3 * 1024 * 1024 + 17);
  b = randomBytes(700 * 1024 + 3);
  fa = path.join(dir, 'a');
  fb = path.join(dir, 'b');
  await writeFile(fa, a);
  await writeFile(fb, b);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expected(ranges: FileRange[]): Buffer {
  return Buffer.concat(ranges.map((r) => (r.path === fa ? a : b).subarray(r.start, r.end + 1)));
}

function closes(s: FileRangeStream): () => number {
  let n = 0;
  s.on('close', () => n++);
  return () => n;
}

/** Serves one FileRangeStream per request through writeInto; resolves the outcome of each. */
async function serve(make: () => FileRangeStream, length?: number) {
  const outcomes: Promise<{ err?: Error; closed: () => number; bytes: number }>[] = [];
  const server = http.createServer((_req, res) => {
    const s = make();
    const closed = closes(s);
    let bytes = 0;
    if (length !== undefined) res.setHeader('content-length', String(length));
    outcomes.push(
      s
        .writeInto(res, (n) => (bytes += n))
        .then(
          () => ({ closed, bytes }),
          (err: Error) => ({ err, closed, bytes }),
        ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { server, url, outcomes };
}

const cases: [string, () => FileRange[], number][] = [
  ['one range, several chunks', () => [{ path: fa, start: 0, end: a.length - 1 }], 1024 * 1024],
  [
    'two files, partial ranges',
    () => [
      { path: fa, start: 5, end: a.length - 1 },
      { path: fb, start: 0, end: 1000 },
    ],
    256 * 1024,
  ],
  ['a small piece, chunk larger than the body', () => [{ path: fb, start: 10, end: 4105 }], 1024 * 1024],
  ['empty', () => [], 1024],
];

describe('FileRangeStream as a Readable', () => {
  for (const [name, ranges, chunk] of cases) {
    it(name, async () => {
      const s = new FileRangeStream(ranges(), chunk);
      const closed = closes(s);
      const parts: Buffer[] = [];
      for await (const piece of s) parts.push(piece as Buffer);
      assert.ok(Buffer.concat(parts).equals(expected(ranges())));
      await new Promise((r) => setImmediate(r));
      assert.equal(closed(), 1);
    });
  }

  it('a file shorter than its range is an error, not a short body', async () => {
    const s = new FileRangeStream([{ path: fb, start: 0, end: b.length + 99 }], 64 * 1024);
    const closed = closes(s);
    await assert.rejects(async () => {
      for await (const _ of s) void _;
    }, /unexpected end of file/);
    await new Promise((r) => setImmediate(r));
    assert.equal(closed(), 1);
  });
});

describe('FileRangeStream.writeInto an HTTP response', () => {
  for (const [name, ranges, chunk] of cases) {
    it(name, async () => {
      const want = expected(ranges());
      const { server, url, outcomes } = await serve(() => new FileRangeStream(ranges(), chunk), want.length);
      try {
        const res = await fetch(url);
        const got = Buffer.from(await res.arrayBuffer());
        assert.equal(res.status, 200);
        assert.ok(got.equals(want), `got ${got.length} bytes, want ${want.length}`);
        const out = await outcomes[0];
        assert.equal(out?.err, undefined);
        assert.equal(out?.bytes, want.length);
        assert.equal(out?.closed(), 1);
      } finally {
        server.close();
      }
    });
  }

  it('a file shorter than its range aborts the response (the client sees an error, never a clean short body)', async () => {
    const { server, url, outcomes } = await serve(
      () => new FileRangeStream([{ path: fb, start: 0, end: b.length + 99 }], 64 * 1024),
      b.length + 100,
    );
    try {
      await assert.rejects(async () => {
        const res = await fetch(url);
        await res.arrayBuffer();
      });
      const out = await outcomes[0];
      assert.match(String(out?.err), /unexpected end of file/);
      assert.equal(out?.closed(), 1);
    } finally {
      server.close();
    }
  });

  it('a client that goes away mid-body ends the write with an error, and the stream closes', async () => {
    const { server, url, outcomes } = await serve(
      () => new FileRangeStream([{ path: fa, start: 0, end: a.length - 1 }], 64 * 1024),
      a.length,
    );
    try {
      await getThenLeave(url);
      const out = await outcomes[0];
      assert.ok(out?.err, 'writeInto must reject');
      assert.ok((out?.bytes ?? 0) < a.length);
      await new Promise((r) => setImmediate(r));
      assert.equal(out?.closed(), 1);
    } finally {
      server.close();
    }
  });

  it('refuses a stream that was already read', async () => {
    const s = new FileRangeStream([{ path: fb, start: 0, end: 10 }], 1024);
    s.read();
    await assert.rejects(
      s.writeInto(new PassThrough(), () => undefined),
      /already read/,
    );
    s.destroy();
  });
});
