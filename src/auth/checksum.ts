/**
 * @module auth/checksum
 * Verifies, while the body streams, what the client said about it: the signed payload hash
 * (x-amz-content-sha256) and `x-amz-checksum-*` values given as headers or as trailers. A
 * mismatch is raised when the stream ends, so a consumer that commits only on a clean end stores
 * nothing.
 */
import { Crc32c } from '@aws-crypto/crc32c';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { S3Error } from '../errors.js';

interface Digest {
  update(b: Buffer): void;
  /** base64 of the big-endian digest, as S3 returns checksums */
  base64(): string;
}

function crc32Digest(): Digest {
  let v = 0;
  return {
    update: (b) => {
      v = crc32(b, v);
    },
    base64: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(v >>> 0);
      return out.toString('base64');
    },
  };
}

function crc32cDigest(): Digest {
  const c = new Crc32c();
  return {
    update: (b) => c.update(b),
    base64: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(c.digest() >>> 0);
      return out.toString('base64');
    },
  };
}

function hashDigest(alg: 'sha1' | 'sha256'): Digest {
  const h = createHash(alg);
  return { update: (b) => h.update(b), base64: () => h.digest('base64') };
}

export const CHECKSUM_ALGORITHMS: Record<string, () => Digest> = {
  crc32: crc32Digest,
  crc32c: crc32cDigest,
  sha1: () => hashDigest('sha1'),
  sha256: () => hashDigest('sha256'),
};

export interface ChecksumRequest {
  /** hex SHA-256 the signature covered (x-amz-content-sha256), if any */
  payloadSha256?: string;
  /** algorithm -> expected base64 value, from headers */
  headers: Map<string, string>;
  /** algorithms announced by x-amz-trailer, whose values come from `trailers()` at the end */
  trailerAlgorithms: string[];
  trailers?: () => Map<string, string>;
}

export class ChecksumVerifier extends Transform {
  private readonly sha256 = createHash('sha256');
  private readonly digests = new Map<string, Digest>();
  /** verified checksum headers, filled when the stream ends */
  readonly verified: Record<string, string> = {};

  constructor(private readonly spec: ChecksumRequest) {
    super();
    for (const alg of new Set([...spec.headers.keys(), ...spec.trailerAlgorithms])) {
      const make = CHECKSUM_ALGORITHMS[alg];
      if (make) this.digests.set(alg, make());
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.spec.payloadSha256) this.sha256.update(chunk);
    for (const d of this.digests.values()) d.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.spec.payloadSha256 && this.sha256.digest('hex') !== this.spec.payloadSha256) {
      cb(new S3Error('XAmzContentSHA256Mismatch'));
      return;
    }
    const trailers = this.spec.trailers?.() ?? new Map<string, string>();
    for (const [alg, digest] of this.digests) {
      const expected = this.spec.headers.get(alg) ?? trailers.get(`x-amz-checksum-${alg}`);
      if (expected === undefined) {
        cb(new S3Error('InvalidRequest', { message: `The x-amz-checksum-${alg} trailer announced in x-amz-trailer did not arrive.` }));
        return;
      }
      const actual = digest.base64();
      if (actual !== expected.trim()) {
        cb(new S3Error('XAmzContentChecksumMismatch', { message: `The provided 'x-amz-checksum-${alg}' does not match what was computed.` }));
        return;
      }
      this.verified[`x-amz-checksum-${alg}`] = actual;
    }
    cb();
  }
}
