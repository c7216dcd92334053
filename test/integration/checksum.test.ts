/**
 * Checksums and signed chunks over HTTP, end to end: a wrong `x-amz-checksum-*` (header or
 * aws-chunked trailer) stores nothing; checksums come back when asked (`x-amz-checksum-mode:
 * ENABLED`); `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies signed chunk by chunk with AWS's own
 * signer; a client that goes away mid-PUT leaves nothing.
 *
 * The AWS SDK for JavaScript v3 never sends signed chunks (a stream goes as
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer), so the signed-chunk bodies are built
 * here: the seed signature by @smithy/signature-v4 (the SDK's signer) over the request, each
 * chunk's signature by the same signer's `sign(stringToSign)` with the derived key.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ON_S3, s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';
import { until } from '../helpers/wait.ts';

const BUCKET = 'sums';
const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const crc32b64 = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(b));
  return out.toString('base64');
};

interface Answer {
  status: number;
  body: string;
}

/** Send `wire` as the body of a request with exactly these headers (already signed). */
function send(baseUrl: string, method: string, urlPath: string, headers: Record<string, string>, wire: Buffer): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: urlPath, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(wire);
  });
}

/**
 * PUT `pieces` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the request signed by @smithy/signature-v4,
 * every chunk (and the final empty one) signed with the previous signature. `tamper` may change the
 * wire bytes after signing; `headers` are extra signed headers (e.g. an x-amz-checksum-*).
 */
async function signedChunkPut(
  server: TestServer,
  key: string,
  pieces: Buffer[],
  opts: { headers?: Record<string, string>; tamper?: (wire: Buffer) => void } = {},
): Promise<Answer> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const decoded = pieces.reduce((n, p) => n + p.length, 0);
  const signingDate = new Date();
  // the wire length is known before signing: every chunk header carries a 64-hex signature
  const chunkHeader = (n: number) => `${n.toString(16)};chunk-signature=${'0'.repeat(64)}\r\n`.length;
  const wireLength = [...pieces, Buffer.alloc(0)].reduce((n, p) => n + chunkHeader(p.length) + p.length + 2, 0);
  const urlPath = `/${BUCKET}/${key}`;
  const signed = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: urlPath,
      query: {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(decoded),
        'content-length': String(wireLength),
        ...opts.headers,
      },
    },
    { signingDate },
  );
  const headers = signed.headers as Record<string, string>;
  let prev = /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')?.[1] ?? '';
  assert.equal(prev.length, 64, 'a seed signature');
  const longDate = headers['x-amz-date'] ?? '';
  const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const parts: Buffer[] = [];
  for (const piece of [...pieces, Buffer.alloc(0)]) {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', longDate, scope, prev, sha256hex(''), sha256hex(piece)].join('\n');
    prev = await signer.sign(toSign, { signingDate });
    parts.push(Buffer.from(`${piece.length.toString(16)};chunk-signature=${prev}\r\n`), piece, Buffer.from('\r\n'));
  }
  const wire = Buffer.concat(parts);
  assert.equal(wire.length, wireLength);
  opts.tamper?.(wire);
  return send(server.url, 'PUT', urlPath, headers, wire);
}

/** aws-chunked with an unsigned trailer (what the AWS SDK sends for a stream), built by hand so the trailer can lie. */
async function trailerPut(server: TestServer, key: string, body: Buffer, trailer: string): Promise<Answer> {
  const half = body.length >> 1;
  const wire = Buffer.concat([
    Buffer.from(`${half.toString(16)}\r\n`),
    body.subarray(0, half),
    Buffer.from('\r\n'),
    Buffer.from(`${(body.length - half).toString(16)}\r\n`),
    body.subarray(half),
    Buffer.from('\r\n'),
    Buffer.from(`0\r\n${trailer}\r\n\r\n`),
  ]);
  const r = await rawSigned(server.url, {
    method: 'PUT',
    path: `/${BUCKET}/${key}`,
    body: wire,
    headers: {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-trailer': trailer.slice(0, trailer.indexOf(':')),
      'x-amz-decoded-content-length': String(body.length),
    },
  });
  return { status: r.status, body: r.body };
}

describe('checksums and signed chunks over HTTP', () => {
  let server: TestServer;
  let client: S3Client;
  before(async () => {
    server = await startOsprey();
    client = s3(server);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
  });
  after(async () => {
    client.destroy();
    await server.close();
  });

  async function absent(key: string): Promise<void> {
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: `/${BUCKET}/${key}` })).status, 404, `${key}: nothing stored`);
  }

  it('a wrong x-amz-checksum-* header stores nothing (raw HTTP and the AWS SDK); the right one is stored and returned', async () => {
    const body = randomBytes(50_000);
    const wrongSha = createHash('sha256').update('other').digest('base64');
    const raw = await rawSigned(server.url, {
      method: 'PUT',
      path: `/${BUCKET}/hdr-wrong`,
      body,
      headers: { 'x-amz-checksum-sha256': wrongSha },
    });
    assert.equal(raw.status, 400, raw.body);
    assert.equal(xmlField(raw.body, 'Code'), 'XAmzContentChecksumMismatch');
    await absent('hdr-wrong');
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk-wrong', Body: body, ChecksumCRC32: crc32b64(Buffer.from('other')) })),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException, String(err));
        assert.equal(err.name, 'XAmzContentChecksumMismatch');
        return true;
      },
    );
    await absent('sdk-wrong');
    const ok = await rawSigned(server.url, {
      method: 'PUT',
      path: `/${BUCKET}/hdr-right`,
      body,
      headers: { 'x-amz-checksum-crc32': crc32b64(body) },
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.headers['x-amz-checksum-crc32'], crc32b64(body));
  });

  it('a wrong checksum in an aws-chunked trailer stores nothing; the right one is stored', async () => {
    const body = randomBytes(40_000);
    const wrong = await trailerPut(server, 'trl-wrong', body, `x-amz-checksum-crc32:${crc32b64(Buffer.from('other'))}`);
    assert.equal(wrong.status, 400, wrong.body);
    assert.equal(xmlField(wrong.body, 'Code'), 'XAmzContentChecksumMismatch');
    await absent('trl-wrong');
    const sha = createHash('sha256').update(body).digest('base64');
    const wrongSha = await trailerPut(
      server,
      'trl-wrong-sha',
      body,
      `x-amz-checksum-sha256:${createHash('sha256').update('x').digest('base64')}`,
    );
    assert.equal(wrongSha.status, 400, wrongSha.body);
    await absent('trl-wrong-sha');
    const right = await trailerPut(server, 'trl-right', body, `x-amz-checksum-sha256:${sha}`);
    assert.equal(right.status, 200, right.body);
    const got = await rawSigned(server.url, {
      method: 'HEAD',
      path: `/${BUCKET}/trl-right`,
      headers: { 'x-amz-checksum-mode': 'ENABLED' },
    });
    assert.equal(got.headers['x-amz-checksum-sha256'], sha);
    assert.equal(got.headers.etag, `"${md5hex(body)}"`);
  });

  it('checksums are returned when asked (x-amz-checksum-mode: ENABLED), on GET and HEAD, with the AWS SDK', async () => {
    const body = randomBytes(70_000);
    const sha = createHash('sha256').update(body).digest('base64');
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'asked', Body: body, ChecksumAlgorithm: 'SHA256' }));
    assert.equal(put.ChecksumSHA256, sha);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'asked', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumSHA256, sha);
    const get = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'asked', ChecksumMode: 'ENABLED' }));
    assert.equal(get.ChecksumSHA256, sha);
    assert.equal(md5hex(Buffer.from((await get.Body?.transformToByteArray()) ?? [])), md5hex(body));
    // not asked: not sent (S3's behaviour)
    const plain = await rawSigned(server.url, { method: 'HEAD', path: `/${BUCKET}/asked` });
    assert.equal(plain.headers['x-amz-checksum-sha256'], undefined);
    // a range never carries the whole object's checksum
    const ranged = await rawSigned(server.url, {
      path: `/${BUCKET}/asked`,
      headers: { 'x-amz-checksum-mode': 'ENABLED', range: 'bytes=0-9' },
    });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['x-amz-checksum-sha256'], undefined);
  });

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: signed chunks are stored; a changed byte or a wrong checksum header stores nothing', async () => {
    const pieces = [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(1234)];
    const whole = Buffer.concat(pieces);
    const ok = await signedChunkPut(server, 'chunks-ok', pieces);
    assert.equal(ok.status, 200, ok.body);
    const back = await rawSigned(server.url, { method: 'HEAD', path: `/${BUCKET}/chunks-ok` });
    assert.equal(back.headers.etag, `"${md5hex(whole)}"`);
    assert.equal(back.headers['content-length'], String(whole.length));

    // one data byte of the second chunk changed after signing
    const tampered = await signedChunkPut(server, 'chunks-tampered', pieces, {
      tamper: (wire) => {
        const at = wire.indexOf(pieces[1]!.subarray(0, 32));
        wire[at + 100] = (wire[at + 100] ?? 0) ^ 0xff;
      },
    });
    assert.equal(tampered.status, 403, tampered.body);
    assert.equal(xmlField(tampered.body, 'Code'), 'SignatureDoesNotMatch');
    await absent('chunks-tampered');

    const badSum = await signedChunkPut(server, 'chunks-badsum', pieces, {
      headers: { 'x-amz-checksum-crc32': crc32b64(Buffer.from('other')) },
    });
    assert.equal(badSum.status, 400, badSum.body);
    assert.equal(xmlField(badSum.body, 'Code'), 'XAmzContentChecksumMismatch');
    await absent('chunks-badsum');
    const goodSum = await signedChunkPut(server, 'chunks-sum', pieces, { headers: { 'x-amz-checksum-crc32': crc32b64(whole) } });
    assert.equal(goodSum.status, 200, goodSum.body);
  });

  it('a client that disconnects mid-PUT leaves no object and no temp file (plain body and aws-chunked)', async () => {
    const metric = async () => {
      const text = await (await fetch(`${server.url}/-/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('osprey_requests_total{op="PutObject"'))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    const url = new URL(server.url);
    const size = 4 * 1024 * 1024;
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const chunkedWire = `${size.toString(16)}\r\n`.length + size + 2 + '0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'.length;
    const variants: [string, Record<string, string>, Buffer][] = [
      ['left-plain', { 'content-length': String(size), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, Buffer.alloc(0)],
      [
        'left-chunked',
        {
          'content-length': String(chunkedWire),
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(size),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        },
        Buffer.from(`${size.toString(16)}\r\n`),
      ],
    ];
    for (const [key, extra, prefix] of variants) {
      const before = await metric();
      const signed = await signer.sign({
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: `/${BUCKET}/${key}`,
        query: {},
        headers: { host: url.host, ...extra },
      });
      await new Promise<void>((resolve) => {
        const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path: `/${BUCKET}/${key}`, headers: signed.headers });
        req.on('error', () => resolve());
        req.write(Buffer.concat([prefix, randomBytes(1024 * 1024)]), () => {
          // a second write so the server is surely reading the body, then go away
          req.write(randomBytes(512 * 1024), () => {
            req.destroy();
            resolve();
          });
        });
      });
      // the server has finished with the request (it counts it when the exchange closes)
      await until(async () => (await metric()) > before, { what: `the cut PutObject of ${key} to be over` });
      await absent(key);
      // the embedded store's temp files live in the data dir (the S3 driver's multipart upload is aborted in the store)
      if (!ON_S3)
        await until(async () => (await readdir(path.join(server.dataDir, 'tmp'))).length === 0, { what: 'the temp file to be removed' });
    }
  });
});
