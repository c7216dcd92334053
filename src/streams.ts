/**
 * @module streams
 * `pipe(src, ...transforms, dst)`: what stream.pipeline does for us (backpressure, every stream
 * destroyed on the first error, a promise of the end), without the AbortController that Node 20's
 * pipeline creates and aborts on every call, whose DOMException showed up as a few per cent of
 * CPU on small requests.
 */
import { finished } from 'node:stream';
import type { Readable, Writable } from 'node:stream';

type Middle = Readable & Writable;

/** Resolves when `dst` has finished; rejects with the first error (or premature close) of any stream. */
export function pipe(src: Readable, ...rest: [...Middle[], Writable]): Promise<void> {
  const streams: (Readable | Writable)[] = [src, ...rest];
  const dst = rest[rest.length - 1] as Writable;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      for (const s of streams) s.destroy();
      reject(err);
    };
    let from: Readable = src;
    for (const next of rest) {
      from.pipe(next);
      if (next !== dst) from = next as Middle;
    }
    for (const s of streams) {
      finished(s, (err) => {
        if (err) fail(err);
        else if (s === dst && !settled) {
          settled = true;
          resolve();
        }
      });
    }
  });
}

/**
 * A body that can write itself into a destination better than a pipe would (for example with
 * buffers it reuses), ending it; it resolves when `dst` has finished and rejects, with both
 * destroyed, on the first error.
 */
export interface SelfWriting {
  writeInto(dst: Writable, onBytes: (n: number) => void): Promise<void>;
}

export function isSelfWriting(s: object): s is SelfWriting {
  return typeof (s as Partial<SelfWriting>).writeInto === 'function';
}

/** Where `writePooled` gets its bytes. */
export interface PooledSource {
  /**
   * The next bytes, read into `buf` when one is given (a source without `bufferSize` gets none and
   * returns buffers of its own), or null at the end. An array: buffers of the source's own (not
   * `buf`), written together (one writev) and then held back by `dst`'s backpressure.
   */
  next(buf: Buffer | undefined): Promise<Buffer | Buffer[] | null>;
  /** size of the buffers to reuse; undefined: the source hands out its own */
  bufferSize?: number;
  /** true when nothing is left to read (saves allocating a buffer for nothing) */
  exhausted?(): boolean;
  /** `dst` went away: a `next` that is waiting for data must give up */
  abandon?(err: Error): void;
}

/** Buffers in flight: one being filled while the other is being sent. */
const POOL = 2;

/**
 * The `SelfWriting` loop: writes `src`'s bytes into `dst` through at most two buffers it reuses,
 * each going back to the pool when `dst` has taken it (its write callback): no per-chunk
 * allocation, and backpressure by construction. A source without `bufferSize` (its own buffers),
 * or a batch of the source's own buffers, waits for 'drain' instead. Ends `dst` and resolves when it has finished; on
 * any failure (the source's, or `dst` closing or failing first) destroys `dst` and rejects.
 */
export async function writePooled(dst: Writable, src: PooledSource, onBytes: (n: number) => void): Promise<void> {
  let gone: Error | undefined;
  const free: Buffer[] = [];
  let made = 0;
  let waiter: (() => void) | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const onGone = (err?: Error) => {
    gone ??= err ?? Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    wake();
    src.abandon?.(gone);
  };
  const onClose = () => {
    if (!dst.writableFinished) onGone();
  };
  dst.on('error', onGone);
  dst.on('close', onClose);
  try {
    for (;;) {
      if (src.exhausted?.()) break;
      let buf: Buffer | undefined;
      if (src.bufferSize !== undefined) {
        if (free.length === 0 && made < POOL) {
          free.push(Buffer.allocUnsafeSlow(src.bufferSize));
          made++;
        }
        while (free.length === 0 && !gone) await new Promise<void>((resolve) => (waiter = resolve));
        if (gone) throw gone;
        buf = free.pop();
      }
      const piece = await src.next(buf);
      if (gone) throw gone;
      if (!piece) break;
      if (Array.isArray(piece)) {
        if (buf) free.push(buf);
        let n = 0;
        let more = true;
        dst.cork();
        for (const p of piece) {
          n += p.length;
          more = dst.write(p);
        }
        dst.uncork();
        onBytes(n);
        if (!more) await waitDrain(dst, () => gone);
        if (gone) throw gone;
        continue;
      }
      onBytes(piece.length);
      const more = dst.write(piece, () => {
        if (buf) free.push(buf);
        wake();
      });
      // a source with buffers of its own is held back by dst's own backpressure instead of the pool
      if (!buf && !more) await waitDrain(dst, () => gone);
      if (gone) throw gone;
    }
    await new Promise<void>((resolve, reject) => {
      // write callbacks still wake the waiter: re-arm until dst finishes or goes away
      const check = () => {
        if (gone) reject(gone);
        else waiter = check;
      };
      dst.end(() => (gone ? reject(gone) : resolve()));
      check();
    });
  } catch (err) {
    dst.destroy();
    throw err;
  } finally {
    dst.off('error', onGone);
    dst.off('close', onClose);
  }
}

/** Resolves on dst's 'drain', or as soon as `gone()` says dst went away (its close/error handlers ran). */
function waitDrain(dst: Writable, gone: () => Error | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      dst.off('drain', done);
      dst.off('close', done);
      dst.off('error', done);
      resolve();
    };
    // nothing to wait for when dst took it all already: a write that returned false while dst was
    // corked may have been flushed by uncork(), and then no 'drain' follows (Node 24's
    // ServerResponse: a spool reader's batched write hung there)
    if (gone() || dst.destroyed || !dst.writableNeedDrain) return resolve();
    dst.on('drain', done);
    dst.on('close', done);
    dst.on('error', done);
  });
}
