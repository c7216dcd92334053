/**
 * @module auth/checksum
 * Verifies, while the body streams, what the client said about it: the signed payload hash
 * (x-amz-content-sha256) and `x-amz-checksum-*` values given as headers or as trailers. A
 * mismatch is raised when the stream ends, so a consumer that commits only on a clean end stores
 * nothing. The five algorithms S3 defines are computed (crc32, crc32c, crc64nvme, sha1, sha256);
 * an algorithm name Osprey does not know is ignored (neither verified nor stored), not refused.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { S3Error } from '../errors.js';
import { crc32cUpdate, crc64nvmeUpdate } from './crc.js';

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
  let v = 0xffffffff;
  return {
    update: (b) => {
      v = crc32cUpdate(v, b);
    },
    base64: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE((v ^ 0xffffffff) >>> 0);
      return out.toString('base64');
    },
  };
}

/** CRC-64/NVME: S3's default checksum since 2025 (check value of "123456789": 0xAE8B14860A799888). */
function crc64nvmeDigest(): Digest {
  let reg: [number, number] = [0xffffffff, 0xffffffff];
  return {
    update: (b) => {
      reg = crc64nvmeUpdate(reg, b);
    },
    base64: () => {
      const out = Buffer.alloc(8);
      out.writeUInt32BE((reg[0] ^ 0xffffffff) >>> 0, 0);
      out.writeUInt32BE((reg[1] ^ 0xffffffff) >>> 0, 4);
      return out.toString('base64');
    },
  };
}

function hashDigest(alg: 'sha1' | 'sha256'): Digest {
  const h = createHash(alg);
  return { update: (b) => h.update(b), base64: () => h.digest('base64') };
}

/** The algorithms of x-amz-checksum-<alg> (API_PutObject.html lists exactly these five). */
export const CHECKSUM_ALGORITHMS: Record<string, () => Digest> = {
  crc32: crc32Digest,
  crc32c: crc32cDigest,
  crc64nvme: crc64nvmeDigest,
  sha1: () => hashDigest('sha1'),
  sha256: () => hashDigest('sha256'),
};

/** Base64 checksum of a whole buffer (tests, and callers that already hold the bytes). */
export function checksumOf(alg: string, data: Buffer): string | undefined {
  const make = CHECKSUM_ALGORITHMS[alg];
  if (!make) return undefined;
  const d = make();
  d.update(data);
  return d.base64();
}

export interface ChecksumRequest {
  /** hex SHA-256 the signature covered (x-amz-content-sha256), if any */
  payloadSha256?: string;
  /** algorithm -> expected base64 value, from headers */
  headers: Map<string, string>;
  /** algorithms announced by x-amz-trailer, whose values come from `trailers()` at the end */
  trailerAlgorithms: string[];
  trailers?: () => Map<string, string>;
}

/** Header names under x-amz-checksum- that are not checksums (CreateMultipartUpload, GetObject). */
const NOT_CHECKSUMS = new Set(['algorithm', 'type', 'mode']);

/**
 * The checksums a request announces: `x-amz-checksum-<alg>` headers with their values, and the
 * algorithms whose values `x-amz-trailer` says will follow the body. Unknown algorithms dropped.
 */
export function announcedChecksums(headers: Record<string, string | string[] | undefined>): {
  headers: Map<string, string>;
  trailerAlgorithms: string[];
} {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const alg = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase())?.[1];
    if (alg && !NOT_CHECKSUMS.has(alg) && alg in CHECKSUM_ALGORITHMS && typeof value === 'string') values.set(alg, value);
  }
  const trailer = headers['x-amz-trailer'];
  const trailerAlgorithms = (Array.isArray(trailer) ? trailer.join(',') : (trailer ?? ''))
    .split(',')
    .map((t) => /^x-amz-checksum-([a-z0-9]+)$/.exec(t.trim().toLowerCase())?.[1])
    .filter((a): a is string => a !== undefined && a in CHECKSUM_ALGORITHMS);
  return { headers: values, trailerAlgorithms };
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
        cb(
          new S3Error('XAmzContentChecksumMismatch', { message: `The provided 'x-amz-checksum-${alg}' does not match what was computed.` }),
        );
        return;
      }
      this.verified[`x-amz-checksum-${alg}`] = actual;
    }
    cb();
  }
}
