/**
 * @module storage/fs/meta
 * The SQLite side of the embedded store: schema, migrations (PRAGMA user_version) and prepared
 * statements. Keys are TEXT with BINARY collation, so index order is UTF-8 byte order, which is
 * the order S3 lists in.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';

/**
 * MIGRATIONS[i] takes a database from user_version i to i + 1. Append, never edit: a data dir
 * written by an older Osprey is brought up to date at open, in one transaction per step.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY, created INTEGER NOT NULL, acl TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS bucket_configs (
    bucket TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (bucket, name)
  ) WITHOUT ROWID;
  -- segments: JSON [{id, size}] of blob files whose concatenation is the body; inline: the body
  -- itself for small objects (segments is then [])
  CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    modified INTEGER NOT NULL, meta TEXT NOT NULL, segments TEXT NOT NULL, inline BLOB,
    PRIMARY KEY (bucket, key)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS uploads (
    bucket TEXT NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL, initiated INTEGER NOT NULL, meta TEXT NOT NULL,
    PRIMARY KEY (bucket, key, upload_id)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS uploads_by_id ON uploads (upload_id);
  CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY (upload_id, part_number)
  ) WITHOUT ROWID;
  -- blobs renamed into place whose commit has not happened yet (crash between rename and commit)
  CREATE TABLE IF NOT EXISTS pending_blobs (id TEXT PRIMARY KEY) WITHOUT ROWID;
  -- blobs no longer referenced, to unlink once no reader holds them
  CREATE TABLE IF NOT EXISTS garbage (id TEXT PRIMARY KEY) WITHOUT ROWID;
  `,
  // 2: small bodies move out of the objects table into `bodies`, keyed by rowid. In the WITHOUT
  // ROWID objects b-tree a 4 KiB inline body made every cell spill to overflow pages, and SQLite
  // reads a whole cell to compare its key: a miss lookup or a commit read ~9 overflow pages. The
  // objects b-tree now holds metadata only, so lookups and listings stay compact; a body is read
  // only by the GET of its own row. (SQLite alone, a miss lookup plus a create-only commit of a
  // 4 KiB row: 93-123 against 140-174 µs; a rowid objects table with a unique index on (bucket,
  // key) was faster there, 62-89 µs, but a 1,000-key listing page at 1M keys then read one table
  // row per key: 44 to 65 ms.) This migration was briefly (unreleased) that rowid table.
  `
  CREATE TABLE bodies (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
  CREATE TABLE objects_v2 (
    bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    modified INTEGER NOT NULL, meta TEXT NOT NULL, segments TEXT NOT NULL,
    body INTEGER, -- bodies.id of the body kept in the database (objects up to INLINE_MAX), else NULL
    PRIMARY KEY (bucket, key)
  ) WITHOUT ROWID;
  -- the n-th inline body in key order becomes bodies.id n (no temporary copy of the bodies)
  INSERT INTO bodies (id, data)
    SELECT row_number() OVER (ORDER BY bucket, key), inline FROM objects WHERE inline IS NOT NULL;
  INSERT INTO objects_v2 (bucket, key, size, etag, modified, meta, segments, body)
    SELECT bucket, key, size, etag, modified, meta, segments,
      CASE WHEN inline IS NULL THEN NULL ELSE count(inline) OVER (ORDER BY bucket, key ROWS UNBOUNDED PRECEDING) END
    FROM objects;
  DROP TABLE objects;
  ALTER TABLE objects_v2 RENAME TO objects;
  `,
];

export interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  modified: number;
  meta: string;
  segments: string;
  /** bodies.id of the body kept in the database, for objects of at most INLINE_MAX bytes (no blob file) */
  body: number | null;
  /** that body itself, read only by objectGet (NULL AS inline elsewhere) */
  inline: Buffer | null;
}

export interface UploadRow {
  bucket: string;
  key: string;
  upload_id: string;
  initiated: number;
  meta: string;
}

export interface PartRow {
  upload_id: string;
  part_number: number;
  blob: string;
  size: number;
  etag: string;
  modified: number;
}

export interface BucketRow {
  name: string;
  created: number;
  acl: string;
}

export function openDb(file: string): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a commit survives a process crash (kill -9); only a power loss may drop
    // the last transactions, never corrupt the database.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new Error('PRAGMA user_version did not return a number');
  if (version > MIGRATIONS.length)
    throw new Error(`the data dir was written by a newer Osprey (schema ${version}, this one knows ${MIGRATIONS.length})`);
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Columns of an object row without the inline body: HEAD and listings never read the bytes. */
const OBJECT_HEAD = 'bucket, key, size, etag, modified, meta, segments, body, NULL AS inline';

export function statements(db: Db) {
  const s = <P extends unknown[], R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  return {
    ping: s<[], { ok: number }>('SELECT 1 AS ok'),
    bucketGet: s<[string], BucketRow>('SELECT * FROM buckets WHERE name = ?'),
    bucketList: s<[], BucketRow>('SELECT * FROM buckets ORDER BY name'),
    bucketInsert: s<[string, number, string]>('INSERT INTO buckets (name, created, acl) VALUES (?, ?, ?)'),
    bucketDelete: s<[string]>('DELETE FROM buckets WHERE name = ?'),
    bucketSetAcl: s<[string, string]>('UPDATE buckets SET acl = ? WHERE name = ?'),
    bucketHasObjects: s<[string], { one: number }>('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1'),
    configGet: s<[string, string], { value: string }>('SELECT value FROM bucket_configs WHERE bucket = ? AND name = ?'),
    configPut: s<[string, string, string]>(
      'INSERT INTO bucket_configs (bucket, name, value) VALUES (?, ?, ?) ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value',
    ),
    configDelete: s<[string, string]>('DELETE FROM bucket_configs WHERE bucket = ? AND name = ?'),
    configDeleteAll: s<[string]>('DELETE FROM bucket_configs WHERE bucket = ?'),
    objectGet: s<[string, string], ObjectRow>(
      'SELECT o.bucket, o.key, o.size, o.etag, o.modified, o.meta, o.segments, o.body, b.data AS inline ' +
        'FROM objects o LEFT JOIN bodies b ON b.id = o.body WHERE o.bucket = ? AND o.key = ?',
    ),
    objectHead: s<[string, string], ObjectRow>(`SELECT ${OBJECT_HEAD} FROM objects WHERE bucket = ? AND key = ?`),
    objectUpsert: s<[string, string, number, string, number, string, string, number | bigint | null]>(
      'INSERT INTO objects (bucket, key, size, etag, modified, meta, segments, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, modified = excluded.modified, ' +
        'meta = excluded.meta, segments = excluded.segments, body = excluded.body',
    ),
    bodyInsert: s<[Buffer]>('INSERT INTO bodies (data) VALUES (?)'),
    bodyDelete: s<[number]>('DELETE FROM bodies WHERE id = ?'),
    objectDelete: s<[string, string]>('DELETE FROM objects WHERE bucket = ? AND key = ?'),
    objectSetMeta: s<[string, string, string]>('UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?'),
    /** Range scans for listings (read lazily with iterate(): the caller stops at the prefix end). */
    objectsAfter: s<[string, string], ObjectRow>(`SELECT ${OBJECT_HEAD} FROM objects WHERE bucket = ? AND key > ? ORDER BY key`),
    objectsFrom: s<[string, string], ObjectRow>(`SELECT ${OBJECT_HEAD} FROM objects WHERE bucket = ? AND key >= ? ORDER BY key`),
    uploadInsert: s<[string, string, string, number, string]>(
      'INSERT INTO uploads (bucket, key, upload_id, initiated, meta) VALUES (?, ?, ?, ?, ?)',
    ),
    uploadGet: s<[string], UploadRow>('SELECT * FROM uploads WHERE upload_id = ?'),
    uploadDelete: s<[string]>('DELETE FROM uploads WHERE upload_id = ?'),
    uploadsOfBucket: s<[string], { upload_id: string }>('SELECT upload_id FROM uploads WHERE bucket = ?'),
    /** (key, upload_id) > (?, ?) as a row value, so SQLite seeks in the primary key instead of scanning the bucket. */
    uploadsAfter: s<[string, string, string], UploadRow>(
      'SELECT * FROM uploads WHERE bucket = ? AND (key, upload_id) > (?, ?) ORDER BY key, upload_id',
    ),
    partGet: s<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
    partUpsert: s<[string, number, string, number, string, number]>(
      'INSERT INTO parts (upload_id, part_number, blob, size, etag, modified) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (upload_id, part_number) DO UPDATE SET blob = excluded.blob, size = excluded.size, etag = excluded.etag, modified = excluded.modified',
    ),
    partsOf: s<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
    partsPage: s<[string, number, number], PartRow>(
      'SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?',
    ),
    partsDelete: s<[string]>('DELETE FROM parts WHERE upload_id = ?'),
    pendingAdd: s<[string]>('INSERT OR IGNORE INTO pending_blobs (id) VALUES (?)'),
    pendingDelete: s<[string]>('DELETE FROM pending_blobs WHERE id = ?'),
    pendingAll: s<[], { id: string }>('SELECT id FROM pending_blobs'),
    garbageAdd: s<[string]>('INSERT OR IGNORE INTO garbage (id) VALUES (?)'),
    garbageDelete: s<[string]>('DELETE FROM garbage WHERE id = ?'),
    garbageAll: s<[], { id: string }>('SELECT id FROM garbage'),
  };
}

export type Statements = ReturnType<typeof statements>;
