/**
 * The conformance suite against the embedded fs+SQLite driver, plus what only it promises:
 * blob names never come from keys, and crash leftovers are cleaned at open.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { emptyMeta } from '../../src/storage/driver.ts';
import { openFsDriver } from '../../src/storage/fs/index.ts';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { describeDriver } from './conformance.ts';

const tmpDir = (prefix: string) => mkdtemp(path.join(os.tmpdir(), prefix));

describeDriver('fs', {
  async make() {
    const dir = await tmpDir('osprey-fs-');
    const driver = await openFsDriver({ dir, minPartSize: 1024 });
    return { driver, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

async function allFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('fs driver specifics', () => {
  it('blob file names never contain the key, and hostile keys stay inside the data dir', async () => {
    const dir = await tmpDir('osprey-fs-');
    const d = await openFsDriver({ dir });
    await d.createBucket('b-one', 'private');
    for (const key of ['../../etc/passwd', 'secret-name', '/abs/path']) await d.putObject('b-one', key, Readable.from([Buffer.alloc(20_000, 'x')]), { meta: emptyMeta() });
    const files = await allFiles(dir);
    assert.equal(files.filter((f) => f.includes(`${path.sep}blobs${path.sep}`)).length, 3);
    for (const f of files) {
      assert.ok(f.startsWith(dir + path.sep), f);
      assert.doesNotMatch(f, /passwd|secret-name|abs/);
    }
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reopening cleans temp files, uncommitted blobs and uncollected garbage', async () => {
    const dir = await tmpDir('osprey-fs-');
    let d = await openFsDriver({ dir });
    await d.createBucket('b-one', 'private');
    await d.putObject('b-one', 'kept', Readable.from([Buffer.alloc(100_000, 'k')]), { meta: emptyMeta() });
    await d.close();
    const before = await allFiles(path.join(dir, 'blobs'));
    assert.equal(before.length, 1);
    // simulate a crash: a half-written temp file, a renamed-but-uncommitted blob, an uncollected garbage blob
    await writeFile(path.join(dir, 'tmp', 'aaaa'), 'half');
    const pending = 'ab'.repeat(16);
    const garbage = 'cd'.repeat(16);
    for (const id of [pending, garbage]) {
      await mkdir(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)), { recursive: true });
      await writeFile(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'orphan');
    }
    const db = new Database(path.join(dir, 'meta.sqlite'));
    db.prepare('INSERT INTO pending_blobs (id) VALUES (?)').run(pending);
    db.prepare('INSERT INTO garbage (id) VALUES (?)').run(garbage);
    db.close();
    d = await openFsDriver({ dir });
    assert.deepEqual(await allFiles(path.join(dir, 'tmp')), []);
    assert.deepEqual(await allFiles(path.join(dir, 'blobs')), before);
    const got = await d.getObject('b-one', 'kept');
    const chunks: Buffer[] = [];
    for await (const c of got?.body ?? Readable.from([])) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(Buffer.alloc(100_000, 'k')));
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });
});
