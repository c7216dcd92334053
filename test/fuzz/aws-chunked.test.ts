/**
 * Fuzz: the aws-chunked body decoder (src/auth/sigv4-chunked.ts AwsChunkedDecoder, and the chain
 * src/auth/verify.ts bodyVerifier builds around it). Bodies are encoded here, independently of
 * src/auth, from sigv4-streaming.html and sigv4-streaming-trailers.html: signed with chunk
 * signatures (the signing key comes from src/auth/sigv4.ts signingKey, the request's own key
 * derivation), and STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-sha256 trailer.
 * Invariants: a correct encoding, cut into random pieces, decodes to exactly the original bytes;
 * a corrupted or cut one ends in an S3Error (never another exception, never a hang), or — when the
 * edit did not matter (e.g. hex digits in upper case) — still in exactly the original bytes.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { Transform } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AwsChunkedDecoder } from '../../src/auth/sigv4-chunked.ts';
import { signingKey } from '../../src/auth/sigv4.ts';
import type { ChunkSigning } from '../../src/auth/types.ts';
import { bodyVerifier } from '../../src/auth/verify.ts';
import { runThrough } from '../helpers/streams.ts';
import { fuzz, resultOrS3ErrorAsync, settlesWithin } from './budget.ts';

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const sha256hex = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const hmacHex = (k: Buffer, d: string) => createHmac('sha256', k).update(d, 'utf8').digest('hex');

const AMZ_DATE = '20240615T083000Z';
const SCOPE = '20240615/us-east-1/s3/aws4_request';
const SIGNING_KEY = signingKey('fuzz/secret+key', '20240615', 'us-east-1', 's3');

/** Cut `payload` into chunks of the given sizes (cycled), the last one whatever is left. */
function chunksOf(payload: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  for (let k = 0; i < payload.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length] ?? payload.length);
    out.push(payload.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** hex-size;chunk-signature=SIG\r\n DATA \r\n … 0;chunk-signature=SIG\r\n [trailers + x-amz-trailer-signature] \r\n */
function encodeSigned(
  payload: Buffer,
  sizes: number[],
  s: ChunkSigning,
  trailers: [string, string][] | undefined,
  upperHex: boolean,
): Buffer {
  const parts: Buffer[] = [];
  let prev = s.seedSignature;
  for (const chunk of [...chunksOf(payload, sizes), Buffer.alloc(0)]) {
    const sig = hmacHex(s.signingKey, ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, prev, EMPTY_SHA256, sha256hex(chunk)].join('\n'));
    const hex = chunk.length.toString(16);
    parts.push(Buffer.from(`${upperHex ? hex.toUpperCase() : hex};chunk-signature=${sig}\r\n`));
    if (chunk.length > 0) parts.push(chunk, Buffer.from('\r\n'));
    prev = sig;
  }
  if (trailers) {
    const canonical = trailers.map(([k, v]) => `${k}:${v}\n`).join('');
    const sig = hmacHex(s.signingKey, ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, prev, sha256hex(canonical)].join('\n'));
    for (const [k, v] of trailers) parts.push(Buffer.from(`${k}:${v}\r\n`));
    parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** hex-size\r\n DATA \r\n … 0\r\n trailers \r\n */
function encodeUnsigned(payload: Buffer, sizes: number[], trailers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunksOf(payload, sizes)) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n'));
  for (const [k, v] of trailers) parts.push(Buffer.from(`${k}:${v}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Cut `buf` at the given points (sorted, deduplicated) into the pieces a socket might deliver. */
function splitAt(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}

async function decode(transforms: Transform[], pieces: Buffer[]) {
  return resultOrS3ErrorAsync(() => settlesWithin(runThrough(transforms, pieces), 3000, 'the aws-chunked decoder'));
}

const payload = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 5000 })).map((a) => Buffer.from(a));
const chunkSizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })), { minLength: 1, maxLength: 6 });
const splitPoints = fc.array(fc.nat(), { maxLength: 12 });
const seed = fc.stringMatching(/^[0-9a-f]{64}$/);
const signing = seed.map((seedSignature): ChunkSigning => ({ signingKey: SIGNING_KEY, amzDate: AMZ_DATE, scope: SCOPE, seedSignature }));

/** edits to the encoded bytes: flip a byte, insert or delete bytes, cut the tail, duplicate a slice */
const corruption = fc.oneof(
  fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 1, max: 255 })),
  fc.tuple(
    fc.constant('insert' as const),
    fc.nat(),
    fc.constantFrom('\r\n', '\n', ';', '0', 'f', ':', ' ', 'x', '0\r\n\r\n', ';chunk-signature='),
  ),
  fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 4 })),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('dup' as const), fc.nat(), fc.integer({ min: 1, max: 80 })),
);
function corrupt(buf: Buffer, [kind, at, arg]: [string, number, number | string]): Buffer {
  const i = at % buf.length;
  switch (kind) {
    case 'flip': {
      const out = Buffer.from(buf);
      out[i] = (out[i]! ^ Number(arg)) & 0xff;
      return out;
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, i), Buffer.from(String(arg), 'latin1'), buf.subarray(i)]);
    case 'delete':
      return Buffer.concat([buf.subarray(0, i), buf.subarray(i + Number(arg))]);
    case 'cut':
      return buf.subarray(0, i);
    default:
      return Buffer.concat([buf.subarray(0, i + Number(arg)), buf.subarray(i)]);
  }
}

describe('fuzz: aws-chunked decoder', () => {
  it('signed: a correct encoding in random pieces decodes to exactly the original bytes', async () => {
    await fuzz(
      fc.asyncProperty(
        payload,
        chunkSizes,
        splitPoints,
        signing,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (body, sizes, points, s, withTrailer, upperHex, declare) => {
          const trailers: [string, string][] | undefined = withTrailer
            ? [['x-amz-checksum-sha256', createHash('sha256').update(body).digest('base64')]]
            : undefined;
          const encoded = encodeSigned(body, sizes, s, trailers, upperHex);
          const decoder = new AwsChunkedDecoder(s, withTrailer, declare ? { decodedLength: body.length } : {});
          const r = await decode([decoder], splitAt(encoded, points));
          assert.ok(r.ok, r.ok ? '' : `${r.err.code}: ${r.err.message}`);
          assert.ok(r.value.equals(body), `decoded ${r.value.length} bytes, sent ${body.length}`);
          assert.equal(decoder.decodedBytes, body.length);
          assert.deepEqual([...decoder.trailers], trailers ?? []);
        },
      ),
      { ms: 800, minRuns: 30 },
    );
  });

  it('unsigned trailer: a correct encoding through bodyVerifier decodes exactly and checks the trailer checksum', async () => {
    await fuzz(
      fc.asyncProperty(payload, chunkSizes, splitPoints, fc.boolean(), async (body, sizes, points, declare) => {
        const sum = createHash('sha256').update(body).digest('base64');
        const encoded = encodeUnsigned(body, sizes, [['x-amz-checksum-sha256', sum]]);
        const headers = {
          'x-amz-trailer': 'x-amz-checksum-sha256',
          ...(declare && { 'x-amz-decoded-content-length': String(body.length) }),
        };
        const chain = bodyVerifier(
          { principal: { kind: 'anonymous' }, dialect: 's3', payload: { kind: 'aws-chunked-unsigned-trailer' } },
          headers,
        );
        const r = await decode(chain.transforms, splitAt(encoded, points));
        assert.ok(r.ok, r.ok ? '' : `${r.err.code}: ${r.err.message}`);
        assert.ok(r.value.equals(body));
        assert.equal(chain.checksums()['x-amz-checksum-sha256'], sum);
      }),
      { ms: 600, minRuns: 30 },
    );
  });

  it('signed: corrupted framing, data or signatures end in an S3Error, or in exactly the original bytes', async () => {
    await fuzz(
      fc.asyncProperty(
        payload,
        chunkSizes,
        splitPoints,
        signing,
        fc.boolean(),
        corruption,
        async (body, sizes, points, s, withTrailer, edit) => {
          const trailers: [string, string][] | undefined = withTrailer ? [['x-amz-checksum-crc32', 'AAAAAA==']] : undefined;
          const encoded = encodeSigned(body, sizes, s, trailers, false);
          const bad = corrupt(encoded, edit);
          const r = await decode([new AwsChunkedDecoder(s, withTrailer)], splitAt(bad, points));
          if (r.ok) assert.ok(r.value.equals(body), `a corrupted signed body (${edit.join(' ')}) decoded to other bytes`);
        },
      ),
      { ms: 1000, minRuns: 50 },
    );
  });

  it('unsigned trailer: corruption ends in an S3Error, or in exactly the original bytes (the checksum holds)', async () => {
    await fuzz(
      fc.asyncProperty(payload, chunkSizes, splitPoints, corruption, async (body, sizes, points, edit) => {
        const encoded = encodeUnsigned(body, sizes, [['x-amz-checksum-sha256', createHash('sha256').update(body).digest('base64')]]);
        const chain = bodyVerifier(
          { principal: { kind: 'anonymous' }, dialect: 's3', payload: { kind: 'aws-chunked-unsigned-trailer' } },
          { 'x-amz-trailer': 'x-amz-checksum-sha256' },
        );
        const r = await decode(chain.transforms, splitAt(corrupt(encoded, edit), points));
        if (r.ok) assert.ok(r.value.equals(body), `a corrupted body (${edit.join(' ')}) passed its checksum with other bytes`);
      }),
      { ms: 700, minRuns: 50 },
    );
  });

  it('any strict prefix of a body is refused, and a wrong x-amz-decoded-content-length too', async () => {
    await fuzz(
      fc.asyncProperty(
        payload,
        chunkSizes,
        signing,
        fc.nat(),
        fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
        async (body, sizes, s, cut, delta) => {
          const encoded = encodeSigned(body, sizes, s, undefined, false);
          const prefix = encoded.subarray(0, cut % encoded.length);
          const r1 = await decode([new AwsChunkedDecoder(s, false)], [prefix]);
          assert.equal(r1.ok, false, `a body cut to ${prefix.length} of ${encoded.length} bytes was accepted`);
          if (body.length + delta < 0) return;
          const r2 = await decode([new AwsChunkedDecoder(s, false, { decodedLength: body.length + delta })], [encoded]);
          assert.equal(r2.ok, false, `decodedLength ${body.length + delta} accepted for ${body.length} bytes`);
          if (!r2.ok) assert.equal(r2.err.code, 'IncompleteBody');
        },
      ),
      { ms: 600, minRuns: 30 },
    );
  });

  it('arbitrary bytes end in an S3Error or decode (unsigned), never another exception', async () => {
    const soup = fc
      .array(
        fc.oneof(
          fc.constantFrom('0', '1', 'a', 'F', '\r\n', '\n', ';', 'chunk-signature=', '=', ':', 'x-amz-checksum-crc32:', ' '),
          fc.string({ maxLength: 4 }),
        ),
        { maxLength: 30 },
      )
      .map((p) => Buffer.from(p.join(''), 'latin1'));
    await fuzz(
      fc.asyncProperty(
        fc.oneof(
          soup,
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        ),
        splitPoints,
        fc.option(signing, { nil: undefined }),
        async (bytes, points, s) => {
          await decode([new AwsChunkedDecoder(s, true)], splitAt(bytes, points));
        },
      ),
      { ms: 500, minRuns: 50 },
    );
  });
});
