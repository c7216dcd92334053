/**
 * Stream helpers for tests: push pieces through a chain of transforms, and a client that leaves
 * mid-body.
 */
import http from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Push `pieces` through a chain of transforms (exactly as the HTTP layer chains the body verifiers)
 * and collect what comes out; rejects with the chain's error.
 */
export async function runThrough(transforms: Transform[], pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline([
    Readable.from(
      pieces.filter((p) => p.length > 0),
      { objectMode: false },
    ),
    ...transforms,
    sink,
  ]);
  return Buffer.concat(out);
}

/** A client that GETs `url`, takes the first piece of the body and goes away (the socket is destroyed). */
export function getThenLeave(url: string, timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    setTimeout(() => reject(new Error(`no data from ${url}`)), timeoutMs).unref();
  });
}
