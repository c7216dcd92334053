/**
 * Seeded pseudo-random bodies of any size, generated as they stream (AES-128-CTR keystream of a
 * seed: native speed, no memory held), and their digests computed the same way. A body of
 * constant bytes checked by its length cannot tell a shifted, repeated or torn body from the right
 * one; a seeded body checked by its hash can.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const ZEROS = Buffer.alloc(1024 * 1024);

function keystream(seed: number) {
  const key = createHash('sha256').update(`osprey-test-seed-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

/** `size` seeded bytes, as a stream, in pieces of at most `piece` bytes (default 1 MiB). */
export function seededStream(seed: number, size: number, piece = ZEROS.length): Readable {
  const cipher = keystream(seed);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(piece, size - sent, ZEROS.length);
      sent += n;
      this.push(cipher.update(ZEROS.subarray(0, n)));
    },
  });
}

/** The same bytes as `seededStream(seed, size)`, whole (for small bodies). */
export function seededBytes(seed: number, size: number): Buffer {
  const cipher = keystream(seed);
  const out: Buffer[] = [];
  for (let left = size; left > 0; left -= ZEROS.length) out.push(cipher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length))));
  return Buffer.concat(out);
}

/** Hex digest (`md5` by default, the S3 ETag of a single-part object) of the seeded body. */
export function seededDigest(seed: number, size: number, algorithm = 'md5'): string {
  const cipher = keystream(seed);
  const h = createHash(algorithm);
  for (let left = size; left > 0; left -= ZEROS.length) h.update(cipher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length))));
  return h.digest('hex');
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same sequence for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
