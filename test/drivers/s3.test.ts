/**
 * The conformance suite against the S3 driver on a real Ceph RGW, plus what only it promises:
 * its layout in the store, keys and metadata the store cannot hold, large bodies as multipart
 * uploads to the store that are aborted on failure, the sweep of a crashed node's uploads, and
 * the create-only lease.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3Error } from '../../src/errors.ts';
import { emptyMeta } from '../../src/storage/driver.ts';
import { openS3Driver } from '../../src/storage/s3/index.ts';
import type { S3Driver } from '../../src/storage/s3/index.ts';
import { sharedCeph } from '../helpers/ceph.ts';
import { describeDriver } from './conformance.ts';

const ceph = sharedCeph();
after(() => ceph.stop());

let n = 0;
/** unique per run: a cluster given with OSPREY_TEST_CEPH may hold earlier runs' data */
const RUN = Date.now().toString(36);
async function driver(opts: { prefix?: string; staleUploadMs?: number; singlePutMax?: number } = {}): Promise<S3Driver> {
  const c = await ceph.get();
  return openS3Driver({
    bucket: 'osprey-store',
    prefix: opts.prefix ?? `run-${process.pid}-${n++}`,
    endpoint: c.endpoint,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    minPartSize: 1024,
    ...(opts.staleUploadMs !== undefined && { staleUploadMs: opts.staleUploadMs }),
    ...(opts.singlePutMax !== undefined && { singlePutMax: opts.singlePutMax }),
  });
}

async function storeClient(): Promise<S3Client> {
  const c = await ceph.get();
  return new S3Client({
    endpoint: c.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

describeDriver('s3 (Ceph RGW)', async () => ({ driver: await driver(), cleanup: async () => {} }));

const isCode = (code: string) => (e: unknown) => e instanceof S3Error && e.code === code;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** a body of unknown length that fails after `failAt` bytes (when given) */
function chunked(data: Buffer, failAt?: number, chunk = 256 * 1024): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (failAt !== undefined && off >= failAt) return void this.destroy(new Error('client went away'));
      if (off >= data.length) return void this.push(null);
      this.push(data.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

describe('s3 driver specifics', () => {
  it('lays objects, buckets and configs out under the prefix; keys too long once prefixed and metadata over the limit are refused', async () => {
    const d = await driver({ prefix: `layout-${RUN}/p` });
    try {
      await d.createBucket('lay', 'public-read');
      await d.putObject('lay', 'dir/k', Readable.from([Buffer.from('x')]), { meta: emptyMeta() });
      await d.putBucketConfig('lay', 'website', '<x/>');
      const client = await storeClient();
      const keys = (await client.send(new ListObjectsV2Command({ Bucket: 'osprey-store', Prefix: `layout-${RUN}/p/` }))).Contents?.map(
        (o) => o.Key,
      ).sort();
      assert.deepEqual(
        keys,
        ['b/lay/c/website', 'b/lay/o/dir/k', 'buckets/lay', 'osprey/create-only-probe'].map((k) => `layout-${RUN}/p/${k}`),
      );
      // 1024 bytes is a valid Osprey key, but not once 'layout/p/b/lay/o/' is in front of it
      await assert.rejects(
        d.putObject('lay', 'k'.repeat(1024), Readable.from([Buffer.from('x')]), { meta: emptyMeta() }),
        isCode('KeyTooLongError'),
      );
      assert.equal(await d.headObject('lay', 'k'.repeat(1024)), undefined);
      await assert.rejects(d.createMultipartUpload('lay', 'k'.repeat(1020), emptyMeta()), isCode('KeyTooLongError'));
      const huge = { ...emptyMeta(), userMeta: { a: 'é'.repeat(2000) } };
      await assert.rejects(d.putObject('lay', 'meta', Readable.from([Buffer.from('x')]), { meta: huge }), isCode('MetadataTooLarge'));
      assert.equal(await d.headObject('lay', 'meta'), undefined);
      // non-ASCII metadata round-trips
      const meta = {
        headers: { 'content-disposition': 'attachment; filename="été.txt"' },
        userMeta: { név: 'ünnep ✓' },
        system: { 'x-oss-tag': 'MIRROR http://o/ä' },
      };
      await d.putObject('lay', 'utf', Readable.from([Buffer.from('x')]), { meta });
      assert.deepEqual((await d.headObject('lay', 'utf'))?.meta, meta);
    } finally {
      await d.close();
    }
  });

  it('a known length over the single-PUT limit: parts streamed straight from the body, whole or nothing', async () => {
    const d = await driver({ prefix: `known-${RUN}`, singlePutMax: 1024 * 1024 });
    try {
      await d.createBucket('big', 'private');
      const data = randomBytes(17 * 1024 * 1024 + 5);
      // chunks that do not divide the 8 MiB parts: parts end inside a chunk
      const info = await d.putObject('big', 'known', chunked(data, undefined, 100_000), { meta: emptyMeta(), size: data.length });
      assert.equal(info.size, data.length);
      assert.match(info.etag, /-3$/, 'three parts: 8 + 8 MiB + the rest');
      const got = await d.getObject('big', 'known');
      const hash = createHash('md5');
      for await (const c of got?.body ?? []) hash.update(c as Buffer);
      assert.equal(hash.digest('hex'), md5(data));
      // failures: short body, mid-body, checksum; nothing visible and no upload left in the store
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data.subarray(0, 9 * 1024 * 1024), undefined, 100_000), {
          meta: emptyMeta(),
          size: data.length,
        }),
        isCode('IncompleteBody'),
      );
      const boom = await d
        .putObject('big', 'failed', chunked(data, 12 * 1024 * 1024), { meta: emptyMeta(), size: data.length })
        .catch((e: unknown) => e);
      assert.equal((boom as Error).message, 'client went away');
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data), { meta: emptyMeta(), size: data.length, contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      assert.equal(await d.headObject('big', 'failed'), undefined);
      const client = await storeClient();
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'osprey-store', Prefix: `known-${RUN}/` }));
      assert.equal(uploads.Uploads?.length ?? 0, 0, 'failed uploads are aborted in the store');
    } finally {
      await d.close();
    }
  });

  it('large and unknown-length bodies: multipart to the store, whole or nothing, no upload left behind', async () => {
    const d = await driver({ prefix: `large-${RUN}` });
    try {
      await d.createBucket('big', 'private');
      const data = randomBytes(20 * 1024 * 1024 + 123);
      const meta = { ...emptyMeta(), headers: { 'content-type': 'x/y' } };
      const info = await d.putObject('big', 'unknown', chunked(data), {
        meta,
        systemAtEnd: () => ({ 'x-amz-checksum-crc32': 'AAAAAA==' }),
      });
      assert.equal(info.size, data.length);
      const got = await d.getObject('big', 'unknown', { start: 9 * 1024 * 1024 - 5, end: 9 * 1024 * 1024 + 5 });
      const chunks: Buffer[] = [];
      for await (const c of got?.body ?? []) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data.subarray(9 * 1024 * 1024 - 5, 9 * 1024 * 1024 + 6)));
      // the whole body streams (every part, in order, byte for byte) ...
      const whole = await d.getObject('big', 'unknown');
      assert.equal(whole?.bytes, undefined, 'a large body streams, it is not collected');
      const hash = createHash('md5');
      for await (const c of whole?.body ?? []) hash.update(c as Buffer);
      assert.equal(hash.digest('hex'), md5(data));
      // ... and a reader that leaves mid-body frees the store connection: later GETs still work
      for (let i = 0; i < 3; i++) {
        const left = await d.getObject('big', 'unknown');
        for await (const c of left?.body ?? []) {
          assert.ok((c as Buffer).length > 0);
          break;
        }
        assert.ok(left?.body.destroyed);
      }
      const again = await d.getObject('big', 'unknown', { start: 0, end: 99 });
      assert.ok(again?.bytes?.equals(data.subarray(0, 100)));
      const head = await d.headObject('big', 'unknown');
      assert.deepEqual(head?.meta, { ...meta, system: { 'x-amz-checksum-crc32': 'AAAAAA==' } }, 'late entries are stored with the object');
      // a known length streams as one PUT: its ETag is the MD5
      const known = await d.putObject('big', 'known', chunked(data.subarray(0, 3 * 1024 * 1024)), {
        meta: emptyMeta(),
        size: 3 * 1024 * 1024,
      });
      assert.equal(known.etag, md5(data.subarray(0, 3 * 1024 * 1024)));
      assert.equal((await d.headObject('big', 'known'))?.etag, known.etag);
      // failures: mid-body, checksum, over the cap; nothing visible and no upload left in the store
      const boom = await d.putObject('big', 'failed', chunked(data, 17 * 1024 * 1024), { meta: emptyMeta() }).catch((e: unknown) => e);
      assert.equal((boom as Error).message, 'client went away');
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data), { meta: emptyMeta(), contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data), { meta: emptyMeta(), size: data.length, contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data), { meta: emptyMeta(), maxSize: 10 * 1024 * 1024 }),
        isCode('EntityTooLarge'),
      );
      await assert.rejects(
        d.putObject('big', 'failed', chunked(data.subarray(0, 2 * 1024 * 1024)), { meta: emptyMeta(), size: 2 * 1024 * 1024 + 1 }),
        isCode('IncompleteBody'),
      );
      assert.equal(await d.headObject('big', 'failed'), undefined);
      const client = await storeClient();
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'osprey-store', Prefix: `large-${RUN}/` }));
      assert.deepEqual(uploads.Uploads ?? [], []);
      // an upload part of unknown length is spooled, then sent
      const up = await d.createMultipartUpload('big', 'mp', emptyMeta());
      const p1 = await d.uploadPart('big', 'mp', up.uploadId, 1, chunked(data.subarray(0, 2 * 1024 * 1024)), {});
      assert.equal(p1.etag, md5(data.subarray(0, 2 * 1024 * 1024)));
      await d.abortMultipartUpload('big', 'mp', up.uploadId);
    } finally {
      await d.close();
    }
  });

  it("the sweep aborts uploads of the driver own that a crashed node left, and keeps the clients'", async () => {
    const d = await driver({ prefix: `sweep-${RUN}`, staleUploadMs: 0 });
    try {
      await d.createBucket('sw', 'private');
      const client = await storeClient();
      const { CreateMultipartUploadCommand } = await import('@aws-sdk/client-s3');
      // what a node killed mid-upload leaves: a store upload without an Osprey upload document
      await client.send(new CreateMultipartUploadCommand({ Bucket: 'osprey-store', Key: `sweep-${RUN}/b/sw/o/orphan` }));
      const kept = await d.createMultipartUpload('sw', 'client-upload', emptyMeta());
      const r = await d.sweep(Date.now() + 1000);
      assert.equal(r.aborted, 1);
      const left = (await client.send(new ListMultipartUploadsCommand({ Bucket: 'osprey-store', Prefix: `sweep-${RUN}/` }))).Uploads?.map(
        (u) => u.UploadId,
      );
      assert.deepEqual(left, [kept.uploadId]);
    } finally {
      await d.close();
    }
  });

  it('leases: create-only across drivers, released, taken over once expired', async () => {
    const [a, b] = [await driver({ prefix: `lease-${RUN}` }), await driver({ prefix: `lease-${RUN}` })];
    try {
      const held = await Promise.all([a, b, a, b].map((d) => d.acquireLease('bk', 'key', 5000)));
      assert.equal(held.filter(Boolean).length, 1, 'exactly one winner');
      await held.find(Boolean)?.release();
      const again = await b.acquireLease('bk', 'key', 300);
      assert.ok(again);
      assert.equal(await a.acquireLease('bk', 'key', 5000), undefined);
      await new Promise((r) => setTimeout(r, 400));
      const taken = await a.acquireLease('bk', 'key', 5000);
      assert.ok(taken, 'an expired lease is taken over');
      await again.release(); // not ours any more: a no-op
      assert.equal(await b.acquireLease('bk', 'key', 5000), undefined);
      await taken.release();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('s3 driver: a body that fails before the driver reads it', () => {
  // issue #20: found by the S3 pass of mirror.test.ts (MIR-42): a DELETE during a mirror fill
  // destroys the fill's body while the driver still awaits its own checks, and with no listener
  // yet the 'error' event crashed the process.
  type Start = (body: Readable) => Promise<unknown>;
  for (const [name, prepare] of [
    [
      'putObject (create-only: a HEAD first)',
      async (d: S3Driver): Promise<Start> =>
        (body) =>
          d.putObject('early', 'k', body, { meta: emptyMeta(), ifNoneMatch: true }),
    ],
    [
      'uploadPart (its upload document read first)',
      async (d: S3Driver): Promise<Start> => {
        const u = await d.createMultipartUpload('early', 'k', emptyMeta());
        return (body) => d.uploadPart('early', 'k', u.uploadId, 1, body, {});
      },
    ],
  ] as const) {
    it(`${name}: refused with the body's error, nothing stored, no unhandled 'error'`, async () => {
      const d = await driver();
      await d.createBucket('early', 'private');
      const start = await prepare(d);
      const body = new Readable({ read() {} });
      const put = start(body);
      setImmediate(() => body.destroy(new Error('the client went away early')));
      await assert.rejects(put, /the client went away early|IncompleteBody/);
      assert.equal(await d.headObject('early', 'k'), undefined);
    });
  }
});
