/**
 * The conformance suite against the embedded fs+SQLite driver, plus what only it promises: blob
 * names never come from keys, blobs are collected when un-referenced (but not under a reader),
 * and a crash's leftovers are cleaned at the next open.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { emptyMeta } from '../../src/storage/driver.ts';
import type { FsDriver } from '../../src/storage/fs/index.ts';
import { openFsDriver } from '../../src/storage/fs/index.ts';
import { compareUtf8, prefixEnd } from '../../src/storage/fs/list.ts';
import { describeDriver } from './conformance.ts';

const tmpDir = () => mkdtemp(path.join(os.tmpdir(), 'osprey-fs-'));

describeDriver('fs', async () => {
  const dir = await tmpDir();
  const driver = await openFsDriver({ dir, minPartSize: 1024 });
  return { driver, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Bodies above the inline limit, so that they get a blob file. */
const big = (fill: string, n = 100_000) => Readable.from([Buffer.alloc(n, fill)]);

async function withDriver(fn: (d: FsDriver, dir: string) => Promise<void>): Promise<void> {
  const dir = await tmpDir();
  const d = await openFsDriver({ dir, minPartSize: 1024 });
  try {
    await d.createBucket('b-one', 'private');
    await fn(d, dir);
  } finally {
    await d.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function tableCounts(dir: string): { pending: number; garbage: number } {
  const db = new Database(path.join(dir, 'meta.sqlite'), { readonly: true });
  try {
    const count = (t: string) => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${t}`).get()?.n;
    return { pending: count('pending_blobs') ?? -1, garbage: count('garbage') ?? -1 };
  } finally {
    db.close();
  }
}

/** The collection that follows a reader's close runs in the background: wait for it, briefly. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), 'condition reached within 1 s');
}

// schema 1 as Osprey wrote it before schema 2 (meta.ts MIGRATIONS[0], copied here, not imported)
const SCHEMA_1 = `
  CREATE TABLE buckets (name TEXT PRIMARY KEY, created INTEGER NOT NULL, acl TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE bucket_configs (bucket TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (bucket, name)) WITHOUT ROWID;
  CREATE TABLE objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    modified INTEGER NOT NULL, meta TEXT NOT NULL, segments TEXT NOT NULL, inline BLOB,
    PRIMARY KEY (bucket, key)
  ) WITHOUT ROWID;
  CREATE TABLE uploads (
    bucket TEXT NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL, initiated INTEGER NOT NULL, meta TEXT NOT NULL,
    PRIMARY KEY (bucket, key, upload_id)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX uploads_by_id ON uploads (upload_id);
  CREATE TABLE parts (
    upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY (upload_id, part_number)
  ) WITHOUT ROWID;
  CREATE TABLE pending_blobs (id TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE garbage (id TEXT PRIMARY KEY) WITHOUT ROWID;`;

describe('fs driver specifics', () => {
  it('blob file names never contain the key, and hostile keys stay inside the data dir', () =>
    withDriver(async (d, dir) => {
      const keys = ['../../etc/passwd', 'secret-name', '/abs/path', '..\\..\\win', 'a\0b'];
      for (const key of keys) await d.putObject('b-one', key, big('x'), { meta: emptyMeta() });
      const all = await files(dir);
      const blobs = all.filter((f) => f.startsWith(path.join(dir, 'blobs') + path.sep));
      assert.equal(blobs.length, keys.length);
      for (const f of blobs) assert.match(path.relative(dir, f), /^blobs[/\\][0-9a-f]{2}[/\\][0-9a-f]{2}[/\\][0-9a-f]{32}$/);
      for (const f of all) {
        assert.ok(f.startsWith(dir + path.sep), f);
        assert.doesNotMatch(f, /passwd|secret-name|abs|win/);
      }
      for (const key of keys) assert.equal((await d.headObject('b-one', key))?.key, key);
    }));

  it('overwrites, deletes, replaced parts, unlisted parts and aborts leave no blob behind', () =>
    withDriver(async (d, dir) => {
      await d.putObject('b-one', 'k', big('1'), { meta: emptyMeta() });
      await d.putObject('b-one', 'k', big('2'), { meta: emptyMeta() });
      assert.equal((await files(path.join(dir, 'blobs'))).length, 1);
      await d.deleteObject('b-one', 'k');
      assert.deepEqual(await files(path.join(dir, 'blobs')), []);
      const up = await d.createMultipartUpload('b-one', 'mp', emptyMeta());
      await d.uploadPart('b-one', 'mp', up.uploadId, 1, big('r'), {});
      const p1 = await d.uploadPart('b-one', 'mp', up.uploadId, 1, big('a'), {});
      const p2 = await d.uploadPart('b-one', 'mp', up.uploadId, 2, big('b'), {});
      await d.uploadPart('b-one', 'mp', up.uploadId, 3, big('unlisted'), {});
      assert.equal((await files(path.join(dir, 'blobs'))).length, 3);
      await d.completeMultipartUpload('b-one', 'mp', up.uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: p2.etag },
      ]);
      assert.equal((await files(path.join(dir, 'blobs'))).length, 2, 'the object keeps its two parts, without copying');
      const ab = await d.createMultipartUpload('b-one', 'ab', emptyMeta());
      await d.uploadPart('b-one', 'ab', ab.uploadId, 1, big('x'), {});
      await d.abortMultipartUpload('b-one', 'ab', ab.uploadId);
      await d.createBucket('b-two', 'private');
      const gone = await d.createMultipartUpload('b-two', 'k', emptyMeta());
      await d.uploadPart('b-two', 'k', gone.uploadId, 1, big('y'), {});
      await d.deleteBucket('b-two');
      assert.equal((await files(path.join(dir, 'blobs'))).length, 2);
      assert.deepEqual(tableCounts(dir), { pending: 0, garbage: 0 });
    }));

  it('a blob un-referenced while a reader holds it is unlinked when the reader closes', () =>
    withDriver(async (d, dir) => {
      await d.putObject('b-one', 'k', big('1', 2_000_000), { meta: emptyMeta() });
      const [v1] = await files(path.join(dir, 'blobs'));
      const got = await d.getObject('b-one', 'k');
      await d.putObject('b-one', 'k', big('2'), { meta: emptyMeta() });
      assert.ok((await files(path.join(dir, 'blobs'))).includes(v1 ?? ''), 'kept for the reader');
      assert.equal(tableCounts(dir).garbage, 1, 'still recorded as garbage in case of a crash');
      got?.body.resume();
      await new Promise((resolve) => got?.body.once('close', resolve));
      await eventually(() => tableCounts(dir).garbage === 0);
      assert.ok(!(await files(path.join(dir, 'blobs'))).includes(v1 ?? ''), 'unlinked after the reader');
      // a multi-segment reader destroyed before its first read releases too
      const up = await d.createMultipartUpload('b-one', 'mp', emptyMeta());
      const p1 = await d.uploadPart('b-one', 'mp', up.uploadId, 1, big('a'), {});
      const p2 = await d.uploadPart('b-one', 'mp', up.uploadId, 2, big('b'), {});
      await d.completeMultipartUpload('b-one', 'mp', up.uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: p2.etag },
      ]);
      const held = await d.getObject('b-one', 'mp');
      await d.deleteObject('b-one', 'mp');
      held?.body.destroy();
      await eventually(() => tableCounts(dir).garbage === 0);
      assert.equal((await files(path.join(dir, 'blobs'))).length, 1);
    }));

  it('a failed body leaves no temp file, blob or pending record', () =>
    withDriver(async (d, dir) => {
      let n = 0;
      // past the inline limit, so a temp file exists when the body fails
      const failing = new Readable({
        read() {
          if (n++ < 3) this.push(Buffer.alloc(64 * 1024, 1));
          else this.destroy(new Error('gone'));
        },
      });
      await assert.rejects(d.putObject('b-one', 'k', failing, { meta: emptyMeta() }), /gone/);
      await assert.rejects(d.putObject('b-one', 'k', big('x'), { meta: emptyMeta(), size: 5 }), { code: 'IncompleteBody' });
      await assert.rejects(d.putObject('b-one', 'k', big('x'), { meta: emptyMeta(), contentMd5: Buffer.alloc(16) }), { code: 'BadDigest' });
      assert.deepEqual(await files(path.join(dir, 'tmp')), []);
      assert.deepEqual(await files(path.join(dir, 'blobs')), []);
      assert.deepEqual(tableCounts(dir), { pending: 0, garbage: 0 });
    }));

  it('reopening cleans temp files, uncommitted blobs and uncollected garbage, and keeps objects', async () => {
    const dir = await tmpDir();
    let d = await openFsDriver({ dir });
    await d.createBucket('b-one', 'private');
    await d.putObject('b-one', 'kept', big('k'), { meta: emptyMeta() });
    await d.putObject('b-one', 'small', Readable.from([Buffer.from('inline')]), { meta: emptyMeta() });
    await d.close();
    const before = await files(path.join(dir, 'blobs'));
    assert.equal(before.length, 1);
    // simulate a crash: a half-written temp file, a renamed-but-uncommitted blob, an uncollected garbage blob
    await writeFile(path.join(dir, 'tmp', 'ab'.repeat(16)), 'half');
    const pending = 'ab'.repeat(16);
    const garbage = 'cd'.repeat(16);
    for (const id of [pending, garbage]) {
      await mkdir(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)), { recursive: true });
      await writeFile(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'orphan');
    }
    const db = new Database(path.join(dir, 'meta.sqlite'));
    db.prepare('INSERT INTO pending_blobs (id) VALUES (?)').run(pending);
    db.prepare('INSERT INTO garbage (id) VALUES (?)').run(garbage);
    db.prepare('INSERT INTO garbage (id) VALUES (?)').run('ef'.repeat(16)); // its file is already gone
    db.close();
    d = await openFsDriver({ dir });
    try {
      assert.deepEqual(await files(path.join(dir, 'tmp')), []);
      assert.deepEqual(await files(path.join(dir, 'blobs')), before);
      assert.deepEqual(tableCounts(dir), { pending: 0, garbage: 0 });
      const chunks: Buffer[] = [];
      for await (const c of (await d.getObject('b-one', 'kept'))?.body ?? Readable.from([])) chunks.push(Buffer.from(c as Buffer));
      assert.ok(Buffer.concat(chunks).equals(Buffer.alloc(100_000, 'k')));
      assert.equal((await d.getObject('b-one', 'small'))?.bytes?.toString(), 'inline');
    } finally {
      await d.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('adoptFile: a finished file becomes the object (moved, not copied); a refused adoption leaves no file, blob or record', () =>
    withDriver(async (d, dir) => {
      const body = Buffer.alloc(200_000, 'm');
      const md5 = createHash('md5').update(body).digest();
      const spool = async (name: string) => {
        const f = path.join(dir, 'tmp', name);
        await writeFile(f, body);
        return f;
      };
      const info = await d.adoptFile('b-one', 'moved', await spool('s1'), { meta: emptyMeta(), size: body.length, md5, ifNoneMatch: true });
      assert.equal(info?.etag, md5.toString('hex'));
      const got = await d.getObject('b-one', 'moved');
      assert.ok(got);
      const parts: Buffer[] = [];
      for await (const c of got.body) parts.push(c as Buffer);
      assert.ok(Buffer.concat(parts).equals(body));
      // MIR-42: the key exists now: a create-only adoption is refused and its file goes
      await assert.rejects(
        d.adoptFile('b-one', 'moved', await spool('s2'), { meta: emptyMeta(), size: body.length, md5, ifNoneMatch: true }),
        { code: 'PreconditionFailed' },
      );
      // a write of the key won while the file was synced: nothing is stored
      assert.equal(
        await d.adoptFile('b-one', 'unwanted', await spool('s3'), { meta: emptyMeta(), size: body.length, md5, wanted: () => false }),
        undefined,
      );
      assert.equal(await d.headObject('b-one', 'unwanted'), undefined);
      await eventually(() => tableCounts(dir).pending === 0);
      const left = await files(dir);
      assert.deepEqual(
        left.filter((f) => f.startsWith(path.join(dir, 'tmp') + path.sep)),
        [],
      );
      assert.equal(left.filter((f) => f.startsWith(path.join(dir, 'blobs') + path.sep)).length, 1, 'only the adopted object has a blob');
    }));

  it('keeps a schema version and refuses a data dir from a newer version', async () => {
    const dir = await tmpDir();
    try {
      await (await openFsDriver({ dir })).close();
      const db = new Database(path.join(dir, 'meta.sqlite'));
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      db.pragma('user_version = 99');
      db.close();
      await assert.rejects(openFsDriver({ dir }), /newer/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('PUTs whose bodies end together commit together, each row checked on its own: a refused create-only row fails alone, a client write wins over a fill either way round', () =>
    withDriver(async (d, dir) => {
      const small = (text: string) => Readable.from([Buffer.from(text)]);
      await d.putObject('b-one', 'exists', small('first'), { meta: emptyMeta() });
      // started in one turn: their commits are queued together
      const results = await Promise.allSettled([
        d.putObject('b-one', 'a', small('a'), { meta: emptyMeta() }),
        d.putObject('b-one', 'exists', small('fill'), { meta: emptyMeta(), ifNoneMatch: true }),
        d.putObject('b-one', 'large', big('l'), { meta: emptyMeta() }),
        // a client write then a fill of one key: the fill is refused (MIR-42)
        d.putObject('b-one', 'k1', small('client'), { meta: emptyMeta() }),
        d.putObject('b-one', 'k1', small('fill'), { meta: emptyMeta(), ifNoneMatch: true }),
        // a fill then a client write: the client's overwrites it
        d.putObject('b-one', 'k2', small('fill'), { meta: emptyMeta(), ifNoneMatch: true }),
        d.putObject('b-one', 'k2', small('client'), { meta: emptyMeta() }),
        d.putObject('b-one', 'b', small('b'), { meta: emptyMeta() }),
      ]);
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code)),
        ['ok', 'PreconditionFailed', 'ok', 'ok', 'PreconditionFailed', 'ok', 'ok', 'ok'],
      );
      const text = async (key: string) => (await d.getObject('b-one', key))?.bytes?.toString();
      assert.deepEqual(
        [await text('a'), await text('exists'), await text('k1'), await text('k2'), await text('b')],
        ['a', 'first', 'client', 'client', 'b'],
      );
      assert.equal((await d.headObject('b-one', 'large'))?.size, 100_000);
      assert.deepEqual(tableCounts(dir), { pending: 0, garbage: 0 });
    }));

  it('a row whose write SQLite fails fails alone; when SQLite rolls the whole group back, every other row is committed again alone', () =>
    withDriver(async (d) => {
      // fault injection: the upsert of key `boom` fails, once as a plain statement error (its
      // savepoint rolls back) and once after SQLite itself rolled back the group's transaction
      const inner = d as unknown as { db: Database.Database; st: { objectUpsert: { run: (...args: unknown[]) => unknown } } };
      const upsert = inner.st.objectUpsert;
      const run = upsert.run.bind(upsert);
      let mode: 'statement' | 'transaction' = 'statement';
      upsert.run = (...args: unknown[]) => {
        if (args[1] === 'boom') {
          if (mode === 'transaction' && inner.db.inTransaction) inner.db.exec('ROLLBACK');
          throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        }
        return run(...args);
      };
      const small = (text: string) => Readable.from([Buffer.from(text)]);
      for (const m of ['statement', 'transaction'] as const) {
        mode = m;
        const keys = [`${m}-1`, 'boom', `${m}-2`, `${m}-3`];
        // create-only, as fills are: a row written twice would refuse itself
        const results = await Promise.allSettled(
          keys.map((k) => d.putObject('b-one', k, small(k), { meta: emptyMeta(), ifNoneMatch: true })),
        );
        assert.deepEqual(
          results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code)),
          ['ok', 'SQLITE_FULL', 'ok', 'ok'],
          m,
        );
        for (const k of keys.filter((k) => k !== 'boom')) assert.equal((await d.getObject('b-one', k))?.bytes?.toString(), k);
        assert.equal(await d.headObject('b-one', 'boom'), undefined);
      }
    }));

  it('opens a data dir written with schema 1 (objects WITHOUT ROWID, bodies inline): every object, its metadata and body read back the same', async () => {
    const dir = await tmpDir();
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    const blobFile = async (id: string, body: Buffer) => {
      await mkdir(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)), { recursive: true });
      await writeFile(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), body);
    };
    const small = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
    const large = [Buffer.alloc(70_000, 'p'), Buffer.alloc(30_000, 'q')];
    const ids = ['1a'.repeat(16), '2b'.repeat(16), '3c'.repeat(16)];
    const meta = {
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=60' },
      userMeta: { colour: 'blue' },
      system: { 'x-oss-mirror': 'origin' },
      acl: 'public-read',
    };
    const objects = [
      { key: 'small', body: small, segments: [], inline: small, meta },
      { key: 'empty', body: Buffer.alloc(0), segments: [], inline: Buffer.alloc(0), meta: emptyMeta() },
      { key: 'dir/é/\u{1F600}', body: Buffer.from('unicode key'), segments: [], inline: Buffer.from('unicode key'), meta: emptyMeta() },
      {
        key: 'large',
        body: Buffer.concat(large),
        segments: [
          { id: ids[0] ?? '', size: 70_000 },
          { id: ids[1] ?? '', size: 30_000 },
        ],
        inline: null,
        meta,
      },
    ];
    await blobFile(ids[0] ?? '', large[0] ?? Buffer.alloc(0));
    await blobFile(ids[1] ?? '', large[1] ?? Buffer.alloc(0));
    await blobFile(ids[2] ?? '', Buffer.alloc(2048, 'r'));
    const db = new Database(path.join(dir, 'meta.sqlite'));
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA_1);
    db.pragma('user_version = 1');
    db.prepare('INSERT INTO buckets VALUES (?, ?, ?)').run('b-one', 1_700_000_000_000, 'private');
    db.prepare('INSERT INTO bucket_configs VALUES (?, ?, ?)').run('b-one', 'mirror', '{"rules":[]}');
    const insert = db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    objects.forEach((o, i) =>
      insert.run(
        'b-one',
        o.key,
        o.body.length,
        md5(o.body),
        1_700_000_000_000 + i,
        JSON.stringify(o.meta),
        JSON.stringify(o.segments),
        o.inline,
      ),
    );
    db.prepare('INSERT INTO uploads VALUES (?, ?, ?, ?, ?)').run(
      'b-one',
      'mpu',
      'upload-1',
      1_700_000_000_000,
      JSON.stringify(emptyMeta()),
    );
    db.prepare('INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)').run('upload-1', 1, ids[2] ?? '', 2048, 'e'.repeat(32), 1_700_000_000_000);
    db.close();

    const read = async (d: FsDriver, key: string): Promise<Buffer> => {
      const got = await d.getObject('b-one', key);
      assert.ok(got, key);
      const chunks: Buffer[] = [];
      for await (const c of got.body) chunks.push(Buffer.from(c as Buffer));
      return Buffer.concat(chunks);
    };
    let d = await openFsDriver({ dir, minPartSize: 1024 });
    try {
      for (const [i, o] of objects.entries()) {
        assert.ok((await read(d, o.key)).equals(o.body), o.key);
        assert.deepEqual(await d.headObject('b-one', o.key), {
          bucket: 'b-one',
          key: o.key,
          size: o.body.length,
          etag: md5(o.body),
          lastModified: new Date(1_700_000_000_000 + i),
          meta: o.meta,
        });
      }
      assert.deepEqual(
        (await d.listObjects('b-one', { prefix: '', maxKeys: 100 })).objects.map((o) => o.key),
        ['dir/é/\u{1F600}', 'empty', 'large', 'small'],
      );
      assert.equal(await d.getBucketConfig('b-one', 'mirror'), '{"rules":[]}');
      assert.deepEqual(
        (await d.listParts('b-one', 'mpu', 'upload-1', { partNumberMarker: 0, maxParts: 10 })).parts.map((p) => p.size),
        [2048],
      );
      // the migrated table takes writes as before: create-only refused on an old key, an overwrite frees the old blobs
      await assert.rejects(d.putObject('b-one', 'small', Readable.from([Buffer.from('x')]), { meta: emptyMeta(), ifNoneMatch: true }), {
        code: 'PreconditionFailed',
      });
      await d.putObject('b-one', 'large', Readable.from([Buffer.from('now small')]), { meta: emptyMeta() });
      await d.putObject('b-one', 'new', Readable.from([Buffer.from('new')]), { meta: emptyMeta() });
      // a body row goes with its object: replaced, then deleted
      await d.putObject('b-one', 'gone', Readable.from([Buffer.from('one')]), { meta: emptyMeta() });
      await d.putObject('b-one', 'gone', Readable.from([Buffer.from('two')]), { meta: emptyMeta() });
      await d.deleteObject('b-one', 'gone');
      await d.deleteObject('b-one', 'empty');
      await eventually(() => tableCounts(dir).garbage === 0);
    } finally {
      await d.close();
    }
    const check = new Database(path.join(dir, 'meta.sqlite'), { readonly: true });
    try {
      const columns = check
        .prepare<[], { name: string }>('PRAGMA table_info(objects)')
        .all()
        .map((c) => c.name);
      assert.deepEqual(
        columns,
        ['bucket', 'key', 'size', 'etag', 'modified', 'meta', 'segments', 'body'],
        'bodies moved out of the objects table',
      );
      // one body row per object kept in the database: small, the unicode key, large (now small) and new
      assert.equal(check.prepare<[], { n: number }>('SELECT count(*) AS n FROM bodies').get()?.n, 4);
    } finally {
      check.close();
    }
    d = await openFsDriver({ dir });
    try {
      assert.equal((await read(d, 'large')).toString(), 'now small');
      assert.ok((await read(d, 'small')).equals(small));
      assert.deepEqual(await files(path.join(dir, 'blobs')), [path.join(dir, 'blobs', '3c', '3c', ids[2] ?? '')]);
    } finally {
      await d.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a migration that fails half-way leaves the data dir as it was (one transaction), and the next open migrates it', async () => {
    const dir = await tmpDir();
    try {
      const db = new Database(path.join(dir, 'meta.sqlite'));
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA_1);
      db.pragma('user_version = 1');
      db.prepare('INSERT INTO buckets VALUES (?, ?, ?)').run('b-one', 1_700_000_000_000, 'private');
      db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        'b-one',
        'k',
        2,
        'e'.repeat(32),
        1,
        JSON.stringify(emptyMeta()),
        '[]',
        Buffer.from('hi'),
      );
      // in the way of the migration's second statement: its first (CREATE TABLE bodies) must be undone
      db.exec('CREATE TABLE objects_v2 (x)');
      db.close();
      await assert.rejects(openFsDriver({ dir }), /objects_v2 already exists/);
      const check = new Database(path.join(dir, 'meta.sqlite'));
      try {
        assert.equal(check.pragma('user_version', { simple: true }), 1);
        const tables = check.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
        assert.ok(!tables.some((t) => t.name === 'bodies'), 'no bodies table left behind');
        assert.equal(check.prepare<[], { n: number }>('SELECT count(*) AS n FROM objects WHERE inline IS NOT NULL').get()?.n, 1);
        check.exec('DROP TABLE objects_v2');
      } finally {
        check.close();
      }
      const d = await openFsDriver({ dir });
      try {
        assert.equal((await d.getObject('b-one', 'k'))?.bytes?.toString(), 'hi');
      } finally {
        await d.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('orders and seeks in UTF-8 byte order', () => {
    assert.ok(compareUtf8('\uFF01', '\u{1F600}') < 0);
    assert.ok(compareUtf8('Z', 'a') < 0 && compareUtf8('~', 'é') < 0 && compareUtf8('a', 'a') === 0);
    assert.equal(prefixEnd('dir/'), 'dir0');
    assert.equal(prefixEnd('a\u{10FFFF}'), 'b');
    assert.equal(prefixEnd('\uD7FF'), '\uE000');
    assert.equal(prefixEnd('\u{10FFFF}'), undefined);
    assert.equal(prefixEnd(''), undefined);
    for (const s of ['dir/', 'é', '\u{1F600}x', 'a\u{FFFF}']) {
      const end = prefixEnd(s) ?? '';
      for (const k of [s, `${s}\u{10FFFF}\u{10FFFF}`, `${s}zzz`]) assert.ok(compareUtf8(k, end) < 0, `${k} < ${end}`);
      assert.ok(compareUtf8(s, end) < 0);
    }
  });
});
