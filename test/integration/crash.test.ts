/**
 * kill -9 of the server during many concurrent uploads: after a restart every listed object's
 * bytes match its ETag, and no temp or orphan blob file is left behind.
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
import { s3, spawnOsprey, tmpDir } from '../helpers/osprey.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

/** A body that trickles out slowly so that the kill lands mid-upload. */
function slowBody(size: number, seed: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(64 * 1024, size - sent);
      sent += n;
      setTimeout(() => this.push(Buffer.alloc(n, seed & 0xff)), 5);
    },
  });
}

describe('crash safety', () => {
  it('kill -9 during 40 concurrent uploads leaves only whole objects and no orphan files', async () => {
    const dataDir = await tmpDir('osprey-crash-');
    let srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir]);
    let client = s3(srv, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await client.send(new CreateBucketCommand({ Bucket: 'crash' }));
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: 'crash', Key: `done-${i}`, Body: `complete ${i}` }));
    for (let i = 0; i < 3; i++) await client.send(new PutObjectCommand({ Bucket: 'crash', Key: `done-big-${i}`, Body: Buffer.alloc(100_000 + i, 'b') }));
    const uploads = Array.from({ length: 40 }, (_, i) =>
      client.send(new PutObjectCommand({ Bucket: 'crash', Key: `inflight-${i}`, Body: slowBody(2 * 1024 * 1024 + i * 1000, i), ContentLength: 2 * 1024 * 1024 + i * 1000 })).then(() => 'ok', () => 'failed'),
    );
    await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 400)));
    await srv.kill();
    const outcomes = await Promise.all(uploads);
    client.destroy();

    srv = await spawnOsprey(['--address', '127.0.0.1:0', '--data', dataDir]);
    client = s3(srv);
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'crash' }));
      const keys = (listed.Contents ?? []).map((o) => ({ key: o.Key ?? '', etag: o.ETag ?? '', size: o.Size ?? -1 }));
      for (let i = 0; i < 5; i++) assert.ok(keys.some((k) => k.key === `done-${i}`), `done-${i} survived`);
      for (const { key, etag, size } of keys) {
        const got = await client.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
        const bytes = Buffer.from(await got.Body?.transformToByteArray() ?? []);
        assert.equal(bytes.length, size, `${key} has its listed size`);
        assert.equal(`"${createHash('md5').update(bytes).digest('hex')}"`, etag, `${key} matches its ETag`);
      }
      // every upload the client saw succeed is there
      outcomes.forEach((o, i) => {
        if (o === 'ok') assert.ok(keys.some((k) => k.key === `inflight-${i}`), `acknowledged upload ${i} is listed`);
      });
      // no temp files, and every blob file belongs to a listed object
      const tmp = await filesUnder(path.join(dataDir, 'tmp')).catch(() => []);
      assert.deepEqual(tmp, []);
      // small objects live inline in the metadata row; every larger one has exactly one blob file
      const blobs = await filesUnder(path.join(dataDir, 'blobs'));
      const large = keys.filter((k) => k.size > INLINE_MAX).length;
      assert.ok(large > 0, 'some large objects were committed before the kill');
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
