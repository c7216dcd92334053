/**
 * kill -9 of the server during many concurrent uploads, at a moment chosen by state (some uploads
 * acknowledged, others mid-body): after a restart every acknowledged upload is there, every listed
 * object holds exactly the bytes sent, and no temp or orphan blob file is left behind.
 */
import { ListObjectsV2Command, GetObjectCommand, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { INLINE_MAX } from '../../src/storage/fs/commit.ts';
import { fsOnly, s3, spawnOsprey, tmpDir } from '../helpers/osprey.ts';
import { seededBytes, seededDigest, seededStream } from '../helpers/seeded.ts';
import { until } from '../helpers/wait.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

/** A seeded body that trickles out (64 KiB every 40 ms), so that it is still arriving at the kill. */
function slowBody(seed: number, size: number): Readable {
  return Readable.from(
    (async function* () {
      for await (const c of seededStream(seed, size, 64 * 1024)) {
        await new Promise((r) => setTimeout(r, 40));
        yield c as Buffer;
      }
    })(),
  );
}

const FAST = 20;
const SLOW = 20;
const fastSize = (i: number) => 200_000 + i * 1000;
const slowSize = (i: number) => 2 * 1024 * 1024 + i * 1000;

describe('crash safety', { skip: fsOnly("kill -9 of the embedded store's commit, then reads its database and files") }, () => {
  it('kill -9 while some uploads are acknowledged and others are mid-body leaves only whole objects and no orphan files', async () => {
    const dataDir = await tmpDir('osprey-crash-');
    let srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir]);
    let client = s3(srv, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await client.send(new CreateBucketCommand({ Bucket: 'crash' }));
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: 'crash', Key: `done-${i}`, Body: `complete ${i}` }));
    // seeds 1000+ for the finished objects, i for fast-i, 100+i for slow-i: every body is distinct
    const expected = new Map<string, { size: number; md5: string }>();
    const acked = new Set<string>();
    const uploads: Promise<unknown>[] = [];
    const put = (key: string, seed: number, size: number, body: Readable | Buffer) => {
      expected.set(key, { size, md5: seededDigest(seed, size) });
      const p = client.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body, ContentLength: size })).then(
        () => acked.add(key),
        () => undefined,
      );
      uploads.push(p);
      return p;
    };
    for (let i = 0; i < 3; i++) await put(`done-big-${i}`, 1000 + i, 100_000 + i, seededBytes(1000 + i, 100_000 + i));
    for (let i = 0; i < SLOW; i++) void put(`slow-${i}`, 100 + i, slowSize(i), slowBody(100 + i, slowSize(i)));
    for (let i = 0; i < FAST; i++) void put(`fast-${i}`, i, fastSize(i), seededBytes(i, fastSize(i)));
    // the kill lands on a known state, not after a guessed pause: at least half the fast uploads
    // acknowledged, and slow ones mid-body (their temp files on disk), none of them acknowledged
    await until(
      async () =>
        [...acked].filter((k) => k.startsWith('fast-')).length >= FAST / 2 && (await filesUnder(path.join(dataDir, 'tmp'))).length >= 3,
      { timeoutMs: 60_000, what: 'acknowledged fast uploads and slow uploads mid-body' },
    );
    await srv.kill();
    await Promise.all(uploads);
    client.destroy();
    const ackedUploads = [...acked].filter((k) => k.startsWith('fast-') || k.startsWith('slow-'));
    process.stdout.write(`# acknowledged before the kill: ${ackedUploads.length} of ${FAST + SLOW}\n`);
    assert.ok(ackedUploads.length >= FAST / 2, `acknowledged before the kill: ${ackedUploads.length}`);
    assert.ok(ackedUploads.length < FAST + SLOW, 'some uploads were cut by the kill');

    srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir]);
    client = s3(srv);
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'crash' }));
      const keys = (listed.Contents ?? []).map((o) => ({ key: o.Key ?? '', etag: o.ETag ?? '', size: o.Size ?? -1 }));
      for (let i = 0; i < 5; i++)
        assert.ok(
          keys.some((k) => k.key === `done-${i}`),
          `done-${i} survived`,
        );
      // every upload the client saw succeed is there
      for (const key of acked)
        assert.ok(
          keys.some((k) => k.key === key),
          `acknowledged upload ${key} is listed`,
        );
      for (const { key, etag, size } of keys) {
        const got = await client.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
        const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
        assert.equal(bytes.length, size, `${key} has its listed size`);
        const md5 = createHash('md5').update(bytes).digest('hex');
        assert.equal(`"${md5}"`, etag, `${key} matches its ETag`);
        // listed means whole: exactly the bytes that were sent (an upload whose answer the kill cut may be there, but whole)
        const want = expected.get(key);
        if (want) assert.deepEqual({ size, md5 }, want, `${key} holds exactly the bytes sent`);
      }
      // no temp files, and every blob file belongs to a listed object
      const tmp = await filesUnder(path.join(dataDir, 'tmp'));
      assert.deepEqual(tmp, []);
      // small objects live inline in the metadata row; every larger one has exactly one blob file
      const blobs = await filesUnder(path.join(dataDir, 'blobs'));
      const large = keys.filter((k) => k.size > INLINE_MAX).length;
      assert.ok(
        ackedUploads.every((k) => (expected.get(k)?.size ?? 0) > INLINE_MAX),
        'the acknowledged uploads have blob files',
      );
      assert.equal(blobs.length, large, `blob files (${blobs.length}) = objects over ${INLINE_MAX} bytes (${large})`);
    } finally {
      client.destroy();
      await srv.stop();
    }
    // the metadata database is intact
    const db = new Database(path.join(dataDir, 'meta.sqlite'), { readonly: true });
    assert.equal((db.pragma('integrity_check') as { integrity_check: string }[])[0]?.integrity_check, 'ok');
    db.close();
  });
});
