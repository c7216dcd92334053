/**
 * src/streams writePooled, the loop behind every `writeInto` fast path: a pooled source gets at
 * most two buffers and reuses them; a source with buffers of its own still respects the
 * destination's backpressure; a failing source destroys the destination.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { writePooled } from '../../src/streams.ts';

/** A destination that takes each write one macrotask later, recording the bytes and its backlog. */
function slowSink(highWaterMark: number) {
  const got: Buffer[] = [];
  let maxBacklog = 0;
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  const origWrite = sink.write.bind(sink);
  sink.write = ((chunk: Buffer, cb?: (err?: Error | null) => void) => {
    const ok = origWrite(chunk, cb);
    maxBacklog = Math.max(maxBacklog, sink.writableLength);
    return ok;
  }) as typeof sink.write;
  return { sink, got, maxBacklog: () => maxBacklog };
}

const PIECE = 64 * 1024;
const body = Buffer.from(Array.from({ length: 64 * PIECE }, (_, i) => (i * 7) & 0xff));

describe('writePooled', () => {
  it('a pooled source fills at most two buffers, reused, and every byte arrives in order', async () => {
    const { sink, got } = slowSink(16 * 1024);
    const seen = new Set<Buffer>();
    let pos = 0;
    let counted = 0;
    await writePooled(
      sink,
      {
        bufferSize: PIECE,
        exhausted: () => pos >= body.length,
        next: async (buf) => {
          assert.ok(buf, 'a pooled source is given a buffer');
          seen.add(buf);
          const n = body.copy(buf, 0, pos, pos + buf.length);
          pos += n;
          return buf.subarray(0, n);
        },
      },
      (n) => (counted += n),
    );
    assert.ok(Buffer.concat(got).equals(body));
    assert.equal(counted, body.length);
    assert.ok(seen.size <= 2, `${seen.size} buffers`);
  });

  it('a source with buffers of its own is held back by the destination (its backlog stays near its highWaterMark)', async () => {
    const { sink, got, maxBacklog } = slowSink(16 * 1024);
    let pos = 0;
    await writePooled(
      sink,
      {
        next: async () => {
          if (pos >= body.length) return null;
          const piece = body.subarray(pos, pos + PIECE);
          pos += piece.length;
          return piece;
        },
      },
      () => undefined,
    );
    assert.ok(Buffer.concat(got).equals(body));
    // without waiting for 'drain' the whole 4 MiB would queue up at once
    assert.ok(maxBacklog() <= 16 * 1024 + PIECE, `backlog reached ${maxBacklog()} bytes`);
  });

  it('a failing source rejects and destroys the destination (never a clean, short end)', async () => {
    const { sink } = slowSink(16 * 1024);
    let calls = 0;
    await assert.rejects(
      writePooled(
        sink,
        {
          bufferSize: PIECE,
          next: async (buf) => {
            if (++calls === 3) throw new Error('disk gone');
            return buf ?? null;
          },
        },
        () => undefined,
      ),
      /disk gone/,
    );
    assert.ok(sink.destroyed);
    assert.equal(sink.writableFinished, false);
  });
});
