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
