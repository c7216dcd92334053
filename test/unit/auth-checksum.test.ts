/**
 * Unit tests for src/auth/crc.ts and src/auth/checksum.ts (CRC-32C and CRC-64/NVME against
 * bit-at-a-time references and published check values, split anywhere; unknown algorithms
 * ignored) and for the length rules of the aws-chunked decoder.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { checksumOf, ChecksumVerifier } from '../../src/auth/checksum.ts';
import { AwsChunkedDecoder } from '../../src/auth/sigv4-chunked.ts';
import type { AuthResult } from '../../src/auth/types.ts';
import { bodyVerifier } from '../../src/auth/verify.ts';
import { S3Error } from '../../src/errors.ts';
import { runThrough } from '../helpers/streams.ts';

/** Bit-at-a-time reflected CRC-64/NVME with BigInt: slow, obviously right, independent of the tables. */
function crc64Reference(data: Buffer): string {
  const poly = 0x9a6c9329ac4bc9b5n;
  const mask = 0xffffffffffffffffn;
  let c = mask;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE((c ^ mask) & mask);
  return out.toString('base64');
}

function crc32cReference(data: Buffer): string {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

const hex = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('hex');

const run = runThrough;

function pieces(b: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < b.length;) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % 23);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

function isS3(code: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof S3Error, `expected S3Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

const anonymousNone: AuthResult = { principal: { kind: 'anonymous' }, dialect: 's3', payload: { kind: 'none' } };
const unsignedTrailer: AuthResult = { principal: { kind: 'anonymous' }, dialect: 's3', payload: { kind: 'aws-chunked-unsigned-trailer' } };

function unsignedChunked(payload: Buffer, chunk: number, trailers: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < payload.length; i += chunk) {
    const c = payload.subarray(i, i + chunk);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`));
  return Buffer.concat(parts);
}

describe('auth checksum: CRC-64/NVME and CRC-32C', () => {
  it('check values of "123456789" (CRC catalogue): CRC-64/NVME ae8b14860a799888, CRC-32C e3069283', () => {
    assert.equal(hex(checksumOf('crc64nvme', Buffer.from('123456789'))), 'ae8b14860a799888');
    assert.equal(hex(checksumOf('crc32c', Buffer.from('123456789'))), 'e3069283');
  });

  it('empty input: both registers come back to zero', () => {
    assert.equal(hex(checksumOf('crc64nvme', Buffer.alloc(0))), '0000000000000000');
    assert.equal(hex(checksumOf('crc32c', Buffer.alloc(0))), '00000000');
  });

  it('every length 0..70 (slicing-by-8 tails) and random data agree with the bitwise references', () => {
    for (let n = 0; n <= 70; n++) {
      const b = randomBytes(n);
      assert.equal(checksumOf('crc64nvme', b), crc64Reference(b), `crc64nvme length ${n}`);
      assert.equal(checksumOf('crc32c', b), crc32cReference(b), `crc32c length ${n}`);
    }
    const big = randomBytes(100_003);
    assert.equal(checksumOf('crc64nvme', big), crc64Reference(big));
    assert.equal(checksumOf('crc32c', big), crc32cReference(big));
  });

  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256']) {
    it(`${alg}: a header checksum verifies across arbitrary splits; one changed byte -> XAmzContentChecksumMismatch`, async () => {
      const body = randomBytes(10_000);
      const headers = { [`x-amz-checksum-${alg}`]: checksumOf(alg, body)! };
      const v = bodyVerifier(anonymousNone, headers);
      assert.ok((await run(v.transforms, pieces(body, 7))).equals(body));
      assert.deepEqual(v.checksums(), headers);
      const bad = Buffer.from(body);
      bad[9999] = bad[9999]! ^ 0x80;
      await assert.rejects(run(bodyVerifier(anonymousNone, headers).transforms, pieces(bad, 8)), isS3('XAmzContentChecksumMismatch'));
    });
  }

  it('a crc64nvme trailer of an unsigned aws-chunked body verifies; a wrong one is refused', async () => {
    const body = randomBytes(5000);
    const headers = {
      'x-amz-trailer': 'x-amz-checksum-crc64nvme',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '5000',
    };
    const v = bodyVerifier(unsignedTrailer, headers);
    const wire = unsignedChunked(body, 1024, [`x-amz-checksum-crc64nvme:${checksumOf('crc64nvme', body)}`]);
    assert.ok((await run(v.transforms, pieces(wire, 3))).equals(body));
    assert.deepEqual(v.checksums(), { 'x-amz-checksum-crc64nvme': checksumOf('crc64nvme', body) });
    const wrong = unsignedChunked(body, 1024, [`x-amz-checksum-crc64nvme:${checksumOf('crc64nvme', body.subarray(1))}`]);
    await assert.rejects(run(bodyVerifier(unsignedTrailer, headers).transforms, [wrong]), isS3('XAmzContentChecksumMismatch'));
  });
});

describe('auth checksum: names that are not (known) checksums', () => {
  it('an unknown algorithm in a header is ignored: no verifier, nothing reported, no failure', async () => {
    const v = bodyVerifier(anonymousNone, { 'x-amz-checksum-xxhash64': 'AAAAAAAAAAA=' });
    assert.equal(v.transforms.length, 0);
    assert.deepEqual(v.checksums(), {});
  });

  it('an unknown algorithm announced as a trailer is ignored; a known one beside it is verified', async () => {
    const body = Buffer.from('hello world');
    const headers = { 'x-amz-trailer': 'x-amz-checksum-xxhash64, x-amz-checksum-crc32', 'content-encoding': 'aws-chunked' };
    const v = bodyVerifier(unsignedTrailer, headers);
    const wire = unsignedChunked(body, 4, ['x-amz-checksum-xxhash64:AAAAAAAAAAA=', `x-amz-checksum-crc32:${checksumOf('crc32', body)}`]);
    assert.ok((await run(v.transforms, [wire])).equals(body));
    assert.deepEqual(v.checksums(), { 'x-amz-checksum-crc32': checksumOf('crc32', body) });
  });

  it('x-amz-checksum-algorithm / -type / -mode are not checksums', () => {
    const v = bodyVerifier(anonymousNone, {
      'x-amz-checksum-algorithm': 'CRC32',
      'x-amz-checksum-type': 'FULL_OBJECT',
      'x-amz-checksum-mode': 'ENABLED',
    });
    assert.equal(v.transforms.length, 0);
  });

  it('the signed SHA-256 is checked before the checksums, and reported as XAmzContentSHA256Mismatch', async () => {
    const verifier = new ChecksumVerifier({
      payloadSha256: '0'.repeat(64),
      headers: new Map([['crc32', 'AAAAAA==']]),
      trailerAlgorithms: [],
    });
    await assert.rejects(run([verifier], [Buffer.from('x')]), isS3('XAmzContentSHA256Mismatch'));
  });
});

describe('auth chunked: lengths and framing limits', () => {
  const body = Buffer.alloc(3000, 0x61);
  const wire = unsignedChunked(body, 1000, []);

  it('the decoded total must equal x-amz-decoded-content-length', async () => {
    assert.ok((await run([new AwsChunkedDecoder(undefined, true, { decodedLength: 3000 })], [wire])).equals(body));
    await assert.rejects(run([new AwsChunkedDecoder(undefined, true, { decodedLength: 3001 })], [wire]), isS3('IncompleteBody'));
    await assert.rejects(run([new AwsChunkedDecoder(undefined, true, { decodedLength: 2999 })], [wire]), isS3('IncompleteBody'));
  });

  it('a chunk header larger than what is left of the declared length fails at once, before its data', async () => {
    const decoder = new AwsChunkedDecoder(undefined, true, { decodedLength: 10 });
    const failed = new Promise<unknown>((resolve) => decoder.on('error', resolve));
    decoder.write(Buffer.from('800\r\n'));
    assert.ok(isS3('IncompleteBody')(await failed));
  });

  it('chunk sizes up to 5 GiB are accepted in a header; larger ones are malformed', async () => {
    const ok = new AwsChunkedDecoder(undefined, true);
    ok.on('data', () => {});
    await new Promise<void>((resolve, reject) => ok.write(Buffer.from('140000000\r\nabc'), (err) => (err ? reject(err) : resolve())));
    ok.destroy();
    await assert.rejects(run([new AwsChunkedDecoder(undefined, true)], [Buffer.from('140000001\r\n')]), isS3('IncompleteBody'));
  });

  it('more than 16 trailers -> IncompleteBody (trailers are not buffered without bound)', async () => {
    const many = Array.from({ length: 17 }, (_, i) => `x-amz-meta-${i}:v`);
    await assert.rejects(run([new AwsChunkedDecoder(undefined, true)], [unsignedChunked(body, 1000, many)]), isS3('IncompleteBody'));
    assert.ok((await run([new AwsChunkedDecoder(undefined, true)], [unsignedChunked(body, 1000, many.slice(1))])).equals(body));
  });

  it('a body signed without trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) may not smuggle unsigned ones', async () => {
    const signing = {
      signingKey: randomBytes(32),
      amzDate: '20240101T000000Z',
      scope: '20240101/us-east-1/s3/aws4_request',
      seedSignature: 'a'.repeat(64),
    };
    const empty = createHash('sha256').update('').digest('hex');
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', signing.amzDate, signing.scope, signing.seedSignature, empty, empty].join('\n');
    const sig = createHmac('sha256', signing.signingKey).update(sts).digest('hex');
    const clean = Buffer.from(`0;chunk-signature=${sig}\r\n\r\n`);
    assert.equal((await run([new AwsChunkedDecoder(signing, false)], [clean])).length, 0);
    const smuggled = Buffer.from(`0;chunk-signature=${sig}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`);
    await assert.rejects(run([new AwsChunkedDecoder(signing, false)], [smuggled]), isS3('IncompleteBody'));
  });

  it('without a declared length, any total is accepted', async () => {
    assert.ok((await run([new AwsChunkedDecoder(undefined, true)], pieces(wire, 5))).equals(body));
  });
});
