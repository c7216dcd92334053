/**
 * Multipart upload with the AWS SDK v3: lib-storage streaming a 64 MiB body, and the low-level
 * calls (list parts, list uploads, abort, complete with bad parts).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes, generated as a stream (never the whole body in memory). */
function patternStream(total: number, chunk = MiB): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(chunk, total - sent);
      const b = Buffer.alloc(n);
      for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE(((sent + i) * 2654435761) >>> 0, i);
      sent += n;
      this.push(b);
    },
  });
}

async function hashOf(stream: Readable): Promise<string> {
  const h = createHash('md5');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

describe('multipart uploads with the AWS SDK v3', () => {
  let server: TestServer;
  let client: S3Client;
  before(async () => {
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'mpu-bucket' }));
  });
  after(async () => {
    client.destroy();
    await server.close();
  });

  it('lib-storage uploads a 64 MiB stream in parts; the object reads back identical', async () => {
    const size = 64 * MiB + 12345;
    const upload = new Upload({
      client,
      params: { Bucket: 'mpu-bucket', Key: 'big.bin', Body: patternStream(size), ContentType: 'application/x-big' },
      partSize: 8 * MiB,
      queueSize: 3,
    });
    const res = await upload.done();
    assert.match(res.ETag ?? '', /^"[0-9a-f]{32}-9"$/);
    const head = await client.send(new HeadObjectCommand({ Bucket: 'mpu-bucket', Key: 'big.bin' }));
    assert.equal(head.ContentLength, size);
    assert.equal(head.ContentType, 'application/x-big');
    const got = await client.send(new GetObjectCommand({ Bucket: 'mpu-bucket', Key: 'big.bin' }));
    assert.equal(await hashOf(got.Body as Readable), await hashOf(patternStream(size)));
    const range = await client.send(
      new GetObjectCommand({ Bucket: 'mpu-bucket', Key: 'big.bin', Range: `bytes=${8 * MiB - 2}-${8 * MiB + 1}` }),
    );
    const expected = Buffer.alloc(4);
    for (let i = 0; i < 4; i++) {
      const off = 8 * MiB - 2 + i;
      const word = ((off - (off % 4)) * 2654435761) >>> 0;
      const wb = Buffer.alloc(4);
      wb.writeUInt32LE(word);
      expected[i] = wb[off % 4] ?? 0;
    }
    assert.deepEqual(Buffer.from((await range.Body?.transformToByteArray()) ?? []), expected);
  });

  it('composes parts by hand: MD5-of-MD5s ETag, list parts, list uploads, bad parts refused, abort', async () => {
    const up = await client.send(new CreateMultipartUploadCommand({ Bucket: 'mpu-bucket', Key: 'manual', Metadata: { k: 'v' } }));
    const uploadId = up.UploadId ?? '';
    const p1 = Buffer.alloc(5 * MiB, 1);
    const p2 = Buffer.from('tail');
    // parts arrive out of order, as lib-storage sends them
    const r2 = await client.send(
      new UploadPartCommand({ Bucket: 'mpu-bucket', Key: 'manual', UploadId: uploadId, PartNumber: 2, Body: p2 }),
    );
    const r1 = await client.send(
      new UploadPartCommand({ Bucket: 'mpu-bucket', Key: 'manual', UploadId: uploadId, PartNumber: 1, Body: p1 }),
    );
    const parts = await client.send(new ListPartsCommand({ Bucket: 'mpu-bucket', Key: 'manual', UploadId: uploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, p1.length],
        [2, 4],
      ],
    );
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'mpu-bucket' }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === uploadId && u.Key === 'manual'));

    const bad = client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'mpu-bucket',
        Key: 'manual',
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: '"00000000000000000000000000000000"' },
            { PartNumber: 2, ETag: r2.ETag },
          ],
        },
      }),
    );
    await assert.rejects(bad, (e: unknown) => e instanceof S3ServiceException && e.name === 'InvalidPart');
    const order = client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'mpu-bucket',
        Key: 'manual',
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 2, ETag: r2.ETag },
            { PartNumber: 1, ETag: r1.ETag },
          ],
        },
      }),
    );
    await assert.rejects(order, (e: unknown) => e instanceof S3ServiceException && e.name === 'InvalidPartOrder');

    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'mpu-bucket',
        Key: 'manual',
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: r1.ETag },
            { PartNumber: 2, ETag: r2.ETag },
          ],
        },
      }),
    );
    const expected =
      createHash('md5')
        .update(Buffer.concat([createHash('md5').update(p1).digest(), createHash('md5').update(p2).digest()]))
        .digest('hex') + '-2';
    assert.equal(done.ETag, `"${expected}"`);
    const head = await client.send(new HeadObjectCommand({ Bucket: 'mpu-bucket', Key: 'manual' }));
    assert.equal(head.ContentLength, p1.length + 4);
    assert.deepEqual(head.Metadata, { k: 'v' });

    const up2 = await client.send(new CreateMultipartUploadCommand({ Bucket: 'mpu-bucket', Key: 'aborted' }));
    await client.send(new UploadPartCommand({ Bucket: 'mpu-bucket', Key: 'aborted', UploadId: up2.UploadId, PartNumber: 1, Body: 'x' }));
    await client.send(new AbortMultipartUploadCommand({ Bucket: 'mpu-bucket', Key: 'aborted', UploadId: up2.UploadId }));
    await assert.rejects(
      client.send(new ListPartsCommand({ Bucket: 'mpu-bucket', Key: 'aborted', UploadId: up2.UploadId })),
      (e: unknown) => e instanceof S3ServiceException && e.name === 'NoSuchUpload',
    );
    await assert.rejects(
      client.send(new HeadObjectCommand({ Bucket: 'mpu-bucket', Key: 'aborted' })),
      (e: unknown) => e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404,
    );
  });

  it('refuses a too-small non-last part', async () => {
    const up = await client.send(new CreateMultipartUploadCommand({ Bucket: 'mpu-bucket', Key: 'small' }));
    const a = await client.send(
      new UploadPartCommand({ Bucket: 'mpu-bucket', Key: 'small', UploadId: up.UploadId, PartNumber: 1, Body: 'tiny' }),
    );
    const b = await client.send(
      new UploadPartCommand({ Bucket: 'mpu-bucket', Key: 'small', UploadId: up.UploadId, PartNumber: 2, Body: 'tiny' }),
    );
    await assert.rejects(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'mpu-bucket',
          Key: 'small',
          UploadId: up.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.ETag },
              { PartNumber: 2, ETag: b.ETag },
            ],
          },
        }),
      ),
      (e: unknown) => e instanceof S3ServiceException && e.name === 'EntityTooSmall',
    );
  });
});
