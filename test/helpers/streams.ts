/**
 * Push `pieces` through a chain of transforms (exactly as the HTTP layer chains the body verifiers)
 * and collect what comes out; rejects with the chain's error.
 */
import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export async function runThrough(transforms: Transform[], pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline([Readable.from(pieces.filter((p) => p.length > 0), { objectMode: false }), ...transforms, sink]);
  return Buffer.concat(out);
}
