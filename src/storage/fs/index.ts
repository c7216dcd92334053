/**
 * @module storage/fs
 * The embedded driver: object bytes in blob files under random names, metadata in SQLite.
 *
 * Visibility: an object appears only in the one synchronous transaction that writes its row,
 * after the body was received, checked, fsynced and renamed into the blob tree (commit.ts).
 * Concurrent writers of one key each receive into their own blob; the last commit wins whole.
 * Crash safety: a blob is recorded in `pending_blobs` before it is renamed into place, and the
 * commit transaction removes that record; blobs an overwrite or delete un-references are recorded
 * in `garbage` in that same transaction, then unlinked (blobs.ts). At open, tmp/ is emptied and
 * every pending or garbage blob is unlinked. No directory scans.
 * Readers keep the version they opened: see the reference counts in blobs.ts.
 * Small bodies (up to INLINE_MAX) live in the database (the `bodies` table, beside the object's
 * row: the objects b-tree stays compact), and getObject also hands them out as `bytes`, so a small
 * GET is one SQLite query.
 * Group commit: the PUTs (and mirror fills) whose bodies end in the same turn of the event loop
 * commit in one transaction, each row in a savepoint of its own (its conditions checked there,
 * its failure undoing only itself); each is answered only once that transaction has committed.
 */
import type { Database as Db } from 'better-sqlite3';
import { mkdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { isOutOfSpace, S3Error } from '../../errors.js';
import type {
  BucketInfo,
  ByteRange,
  CannedAcl,
  DriverCapabilities,
  ListOptions,
  ListResult,
  ListUploadsOptions,
  MultipartUpload,
  AdoptOptions,
  ObjectInfo,
  ObjectMeta,
  PartInfo,
  PutOptions,
  StorageDriver,
} from '../driver.js';
import { MIN_PART_SIZE } from '../multipart.js';
import { Blobs, isCode } from './blobs.js';
import { keptInline, place, receive } from './commit.js';
import type { ReceiveOptions, Received } from './commit.js';
import { listObjects, listUploads } from './list.js';
import { lockDataDir } from './lock.js';
import type { DataDirLock } from './lock.js';
import type { BucketRow, ObjectRow, PartRow, Statements, UploadRow } from './meta.js';
import { openDb, statements } from './meta.js';
import { assembleParts, newUploadId } from './parts.js';
import { Paths } from './paths.js';
import { Reserve } from './reserve.js';
import { metaJson, parseSegments, toBucket, toInfo, toPart, toUpload } from './rows.js';

export interface FsDriverOptions {
  dir: string;
  /** smallest part except the last in CompleteMultipartUpload (S3: 5 MiB) */
  minPartSize?: number;
  /** room kept for deletes on a full disk (reserve.ts; default RESERVE_BYTES) */
  reserveBytes?: number;
}

/** memory for recently read small objects */
const HOT_BYTES = 32 * 1024 * 1024;

function hotCost(row: ObjectRow): number {
  return (row.inline?.length ?? 0) + row.meta.length + 256;
}

interface QueuedCommit {
  row: ObjectRow;
  blob: string | undefined;
  ifNoneMatch: boolean;
  resolve: (freed: string[]) => void;
  reject: (err: unknown) => void;
}

type Outcome = { freed: string[] } | { error: unknown };

function settle(c: QueuedCommit, commit: () => string[]): void {
  try {
    c.resolve(commit());
  } catch (err) {
    c.reject(err);
  }
}

export function openFsDriver(opts: FsDriverOptions): Promise<FsDriver> {
  return FsDriver.open(opts);
}

export class FsDriver implements StorageDriver {
  readonly name = 'fs';
  readonly capabilities: DriverCapabilities = { createOnly: true };
  private readonly blobs: Blobs;
  private readonly st: Statements;
  /**
   * Bucket rows and bucket configs, cached (null: known absent). This process is the only writer
   * of the data dir and every write below goes through the cache, so it is never stale.
   */
  private readonly bucketCache = new Map<string, BucketRow | null>();
  private readonly configCache = new Map<string, string | null>();
  private readonly hot = new Map<string, { row: ObjectRow; info: ObjectInfo }>();
  private hotBytes = 0;
  /** putObject commits waiting for the next group transaction (flushCommits) */
  private queued: QueuedCommit[] = [];
  /**
   * The commit transactions, made once: better-sqlite3's db.transaction() builds a new wrapper on
   * each call, which was ~7 % of the store's CPU in a cold fill.
   */
  private readonly commitTx: (
    row: ObjectRow,
    blob: string | undefined,
    ifNoneMatch: boolean,
    wanted?: () => boolean,
  ) => string[] | undefined;
  private readonly groupTx: (batch: readonly QueuedCommit[]) => Outcome[];

  private constructor(
    private readonly paths: Paths,
    private readonly db: Db,
    private readonly minPartSize: number,
    private readonly lock: DataDirLock,
    private readonly reserve: Reserve,
  ) {
    this.st = statements(db);
    this.blobs = new Blobs(paths, this.st, () => this.db.open);
    this.commitTx = db.transaction((row: ObjectRow, blob: string | undefined, ifNoneMatch: boolean, wanted?: () => boolean) => {
      if (wanted && !wanted()) return undefined;
      // checked again here, atomically with the write: the bucket or key may have changed while the body streamed
      this.requireBucket(row.bucket);
      if (blob !== undefined) this.st.pendingDelete.run(blob);
      return this.writeObject(row, ifNoneMatch);
    });
    this.groupTx = db.transaction((batch: readonly QueuedCommit[]) => {
      const outcomes: Outcome[] = [];
      for (const c of batch) {
        // an error SQLite answers by rolling the whole transaction back (SQLITE_FULL, IOERR, BUSY)
        // would leave the next rows to autocommit one by one: stop, and redo them all alone
        if (!this.db.inTransaction) throw new Error('the group transaction was rolled back');
        try {
          outcomes.push({ freed: this.commitPut(c.row, c.blob, c.ifNoneMatch) });
        } catch (error) {
          outcomes.push({ error });
        }
      }
      if (!this.db.inTransaction) throw new Error('the group transaction was rolled back');
      return outcomes;
    });
  }

  /**
   * Takes the data dir's lock before anything else (lock.ts): the cleanup below assumes no other
   * process works in the dir. A dir in use throws DataDirInUse.
   */
  static async open(opts: FsDriverOptions): Promise<FsDriver> {
    const paths = new Paths(opts.dir);
    await mkdir(paths.root, { recursive: true });
    const lock = lockDataDir(paths.root);
    let db: Db | undefined;
    try {
      await mkdir(paths.blobs, { recursive: true });
      // temp files are only ever bodies still being received: after a restart none can finish
      await rm(paths.tmp, { recursive: true, force: true });
      await mkdir(paths.tmp, { recursive: true });
      // on a full disk SQLite needs room to open its log: the reserve gives it (and grows back below)
      const reserve = new Reserve(paths.reserve, opts.reserveBytes);
      await reserve.releaseIfLow(paths.root);
      db = openDb(paths.db);
      const driver = new FsDriver(paths, db, opts.minPartSize ?? MIN_PART_SIZE, lock, reserve);
      await driver.blobs.recover();
      // before the first request, so that a disk that fills up right away still has it (a stat
      // when it is whole; 8 MiB written once when it is not)
      await reserve.refill();
      return driver;
    } catch (err) {
      db?.close();
      lock.release();
      throw err;
    }
  }

  async ping(): Promise<void> {
    if (this.st.ping.get()?.ok !== 1) throw new Error('the metadata database did not answer');
  }

  async close(): Promise<void> {
    this.flushCommits();
    await this.reserve.settled();
    if (this.db.open) this.db.close();
    this.lock.release();
  }

  /**
   * Runs a transaction that frees room (a delete of any kind). On a full disk SQLite may find no
   * room to log it (SQLITE_FULL): then the reserve is released and the transaction runs again, so
   * a delete always works. Once the freed blobs are gone, `roomFreed` grows the reserve back.
   */
  private freeing<T>(tx: () => T): T {
    try {
      return tx();
    } catch (err) {
      if (!isOutOfSpace(err) || !this.reserve.release()) throw err;
      return tx();
    }
  }

  private async collectFreed(ids: readonly string[]): Promise<void> {
    await this.blobs.collect(ids);
    void this.reserve.refill();
  }

  // ---- buckets -------------------------------------------------------------------------------

  private bucketRow(name: string): BucketRow | undefined {
    let row = this.bucketCache.get(name);
    if (row === undefined) {
      row = this.st.bucketGet.get(name) ?? null;
      if (this.bucketCache.size > 10_000) this.bucketCache.clear();
      this.bucketCache.set(name, row);
    }
    return row ?? undefined;
  }

  private forgetBucket(name: string): void {
    this.bucketCache.delete(name);
    for (const k of this.configCache.keys()) if (k.startsWith(`${name}\0`)) this.configCache.delete(k);
  }

  private requireBucket(name: string): void {
    if (!this.bucketRow(name)) throw new S3Error('NoSuchBucket', { bucket: name });
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.st.bucketList.all().map(toBucket);
  }

  async createBucket(name: string, acl: CannedAcl): Promise<BucketInfo> {
    const created = Date.now();
    this.forgetBucket(name);
    try {
      this.st.bucketInsert.run(name, created, acl);
    } catch (err) {
      if (isCode(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new S3Error('BucketAlreadyOwnedByYou', { bucket: name });
      throw err;
    }
    return { name, created: new Date(created), acl };
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    const row = this.bucketRow(name);
    return row && toBucket(row);
  }

  async deleteBucket(name: string): Promise<void> {
    const freed = this.freeing(
      this.db.transaction(() => {
        this.requireBucket(name);
        if (this.st.bucketHasObjects.get(name)) throw new S3Error('BucketNotEmpty', { bucket: name });
        const ids = this.st.uploadsOfBucket.all(name).flatMap(({ upload_id }) => this.dropUpload(upload_id));
        this.st.configDeleteAll.run(name);
        this.st.bucketDelete.run(name);
        return ids;
      }),
    );
    this.forgetBucket(name);
    await this.collectFreed(freed);
  }

  async setBucketAcl(name: string, acl: CannedAcl): Promise<void> {
    this.forgetBucket(name);
    if (this.st.bucketSetAcl.run(acl, name).changes === 0) throw new S3Error('NoSuchBucket', { bucket: name });
  }

  async getBucketConfig(bucket: string, name: string): Promise<string | undefined> {
    this.requireBucket(bucket);
    const id = `${bucket}\0${name}`;
    let value = this.configCache.get(id);
    if (value === undefined) {
      value = this.st.configGet.get(bucket, name)?.value ?? null;
      this.configCache.set(id, value);
    }
    return value ?? undefined;
  }

  async putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    this.db.transaction(() => {
      this.requireBucket(bucket);
      if (value === undefined) this.st.configDelete.run(bucket, name);
      else this.st.configPut.run(bucket, name, value);
    })();
    this.configCache.delete(`${bucket}\0${name}`);
  }

  // ---- objects -------------------------------------------------------------------------------

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.requireBucket(bucket);
    const row = this.st.objectHead.get(bucket, key);
    return row && toInfo(row);
  }

  /**
   * The row for a GET. Small (inline) objects recently read stay in memory, up to HOT_BYTES: a hot
   * 4 KiB GET then costs no SQLite read. Every write and delete of a key calls forgetHot() in the
   * same synchronous stretch as its commit, and this process is the data dir's only writer, so the
   * cache is never stale.
   */
  private hotRow(bucket: string, key: string): { row: ObjectRow; info: ObjectInfo } | undefined {
    const id = `${bucket}\0${key}`;
    const hot = this.hot.get(id);
    if (hot) {
      this.hot.delete(id); // LRU: to the young end
      this.hot.set(id, hot);
      return hot;
    }
    const row = this.st.objectGet.get(bucket, key);
    if (!row) return undefined;
    const entry = { row, info: toInfo(row) };
    if (row.inline) {
      this.hot.set(id, entry);
      this.hotBytes += hotCost(row);
      for (const [oldId, old] of this.hot) {
        if (this.hotBytes <= HOT_BYTES) break;
        this.hot.delete(oldId);
        this.hotBytes -= hotCost(old.row);
      }
    }
    return entry;
  }

  private forgetHot(bucket: string, key: string): void {
    const id = `${bucket}\0${key}`;
    const old = this.hot.get(id);
    if (!old) return;
    this.hot.delete(id);
    this.hotBytes -= hotCost(old.row);
  }

  async getObject(
    bucket: string,
    key: string,
    range?: ByteRange,
  ): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    // From the lookup to blobs.read() nothing awaits: no commit can replace the row in between.
    this.requireBucket(bucket);
    const found = this.hotRow(bucket, key);
    if (!found) return undefined;
    const { row, info } = found;
    const start = range?.start ?? 0;
    const end = range?.end ?? row.size - 1;
    if (row.inline || row.size === 0) {
      const bytes = (row.inline ?? Buffer.alloc(0)).subarray(start, end + 1);
      // made only when asked for (most callers write `bytes`), and then always the same stream
      let body: Readable | undefined;
      return {
        info,
        bytes,
        get body(): Readable {
          body ??= Readable.from([bytes]);
          return body;
        },
      };
    }
    return { info, body: this.blobs.read(parseSegments(row.segments), start, end) };
  }

  private async receiveBlob(body: Readable, opts: ReceiveOptions): Promise<Received> {
    return receive(this.paths, body, opts, (id) => this.st.pendingAdd.run(id));
  }

  /** A received body whose commit failed: its blob (if it has one) goes. */
  private async discard(received: Received): Promise<void> {
    if (received.id !== undefined) await this.blobs.discard(received.id);
  }

  async putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    try {
      // fail before reading the body when the answer is already known; a create-only body that
      // stays in memory is not worth the extra read (the commit checks anyway): a mirror fill of a
      // small object has just found the key absent (the read was ~4 % of such a fill's CPU)
      this.requireBucket(bucket);
      if (opts.ifNoneMatch && !keptInline(opts.size)) this.checkAbsent(bucket, key);
    } catch (err) {
      body.destroy();
      throw err;
    }
    const got = await this.receiveBlob(body, { size: opts.size, contentMd5: opts.contentMd5, maxSize: opts.maxSize, inline: true });
    let row: ObjectRow;
    let freed: string[];
    try {
      const meta: ObjectMeta = { ...opts.meta, system: { ...opts.meta.system, ...opts.systemAtEnd?.() } };
      row = {
        bucket,
        key,
        size: got.size,
        etag: got.md5.toString('hex'),
        modified: opts.lastModified?.getTime() ?? Date.now(),
        meta: metaJson(meta),
        segments: JSON.stringify(got.id === undefined ? [] : [{ id: got.id, size: got.size }]),
        body: null,
        inline: got.inline ?? null,
      };
      freed = await this.commitSoon(row, got.id, opts.ifNoneMatch === true);
    } catch (err) {
      await this.discard(got);
      throw err;
    }
    await this.blobs.collect(freed);
    return toInfo(row);
  }

  /**
   * commitPut in the next group transaction: the commits queued in this turn of the event loop
   * (concurrent PUTs and fills whose bodies ended together) share one SQLite commit. Settled once
   * that transaction has committed (or this row failed), never before.
   */
  private commitSoon(row: ObjectRow, blob: string | undefined, ifNoneMatch: boolean): Promise<string[]> {
    return new Promise((resolve, reject) => {
      if (this.queued.push({ row, blob, ifNoneMatch, resolve, reject }) === 1) setImmediate(() => this.flushCommits());
    });
  }

  /**
   * One transaction for every queued commit, each in a savepoint of its own (better-sqlite3 nests
   * commitPut's transaction as one): a row's failure (create-only refused, bucket gone, a full disk
   * while writing it) rolls back that row only. If the group's transaction itself fails (SQLite
   * rolled it back, or its COMMIT failed), nothing of it was written: each row runs again alone.
   */
  private flushCommits(): void {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    if (batch.length === 1 || !this.db.open) {
      for (const c of batch) settle(c, () => this.commitPut(c.row, c.blob, c.ifNoneMatch));
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = this.groupTx(batch);
    } catch {
      for (const c of batch) settle(c, () => this.commitPut(c.row, c.blob, c.ifNoneMatch));
      return;
    }
    batch.forEach((c, i) => {
      const o = outcomes[i];
      if (o && 'freed' in o) c.resolve(o.freed);
      else c.reject(o?.error);
    });
  }

  async adoptFile(bucket: string, key: string, file: string, opts: AdoptOptions): Promise<ObjectInfo | undefined> {
    const id = Paths.newId();
    try {
      this.requireBucket(bucket);
      if (opts.ifNoneMatch) this.checkAbsent(bucket, key);
      await place(this.paths, file, id, (pending) => this.st.pendingAdd.run(pending));
    } catch (err) {
      await rm(file, { force: true });
      await this.blobs.discard(id);
      throw err;
    }
    const row: ObjectRow = {
      bucket,
      key,
      size: opts.size,
      etag: opts.md5.toString('hex'),
      modified: opts.lastModified?.getTime() ?? Date.now(),
      meta: metaJson(opts.meta),
      segments: JSON.stringify([{ id, size: opts.size }]),
      body: null,
      inline: null,
    };
    let freed: string[] | undefined;
    try {
      freed = this.commitPut(row, id, opts.ifNoneMatch === true, opts.wanted);
    } catch (err) {
      await this.blobs.discard(id);
      throw err;
    }
    if (!freed) {
      await this.blobs.discard(id);
      return undefined;
    }
    await this.blobs.collect(freed);
    return toInfo(row);
  }

  /**
   * The one short transaction that makes a received body visible; returns the blobs it freed, or
   * undefined when `wanted` said no (nothing written).
   */
  private commitPut(row: ObjectRow, blob: string | undefined, ifNoneMatch: boolean): string[];
  private commitPut(
    row: ObjectRow,
    blob: string | undefined,
    ifNoneMatch: boolean,
    wanted: (() => boolean) | undefined,
  ): string[] | undefined;
  private commitPut(row: ObjectRow, blob: string | undefined, ifNoneMatch: boolean, wanted?: () => boolean): string[] | undefined {
    return this.commitTx(row, blob, ifNoneMatch, wanted);
  }

  private checkAbsent(bucket: string, key: string): void {
    if (this.st.objectHead.get(bucket, key)) throw new S3Error('PreconditionFailed', { key, fields: { Condition: 'If-None-Match' } });
  }

  /**
   * Inside a transaction: write the row; the replaced version's blobs become garbage. `ifNoneMatch`:
   * an existing row refuses it (PreconditionFailed; the caller's transaction rolls back).
   */
  private writeObject(row: ObjectRow, ifNoneMatch = false): string[] {
    const old = this.st.objectHead.get(row.bucket, row.key);
    if (old && ifNoneMatch) throw new S3Error('PreconditionFailed', { key: row.key, fields: { Condition: 'If-None-Match' } });
    this.forgetHot(row.bucket, row.key);
    const body = row.inline === null ? null : this.st.bodyInsert.run(row.inline).lastInsertRowid;
    const freed = old ? this.toGarbage(old) : [];
    this.st.objectUpsert.run(row.bucket, row.key, row.size, row.etag, row.modified, row.meta, row.segments, body);
    return freed;
  }

  /** Inside a transaction: a row going away (replaced or deleted). Its body row goes with it; its blobs become garbage. */
  private toGarbage(row: ObjectRow): string[] {
    if (row.body !== null) this.st.bodyDelete.run(row.body);
    const ids = parseSegments(row.segments).map((s) => s.id);
    for (const id of ids) this.st.garbageAdd.run(id);
    return ids;
  }

  async setObjectAcl(bucket: string, key: string, acl: string | undefined): Promise<void> {
    this.db.transaction(() => {
      this.requireBucket(bucket);
      const row = this.st.objectHead.get(bucket, key);
      if (!row) throw new S3Error('NoSuchKey', { key });
      const { acl: _old, ...meta } = toInfo(row).meta;
      this.forgetHot(bucket, key);
      this.st.objectSetMeta.run(metaJson(acl === undefined ? meta : { ...meta, acl }), bucket, key);
    })();
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const freed = this.freeing(
      this.db.transaction(() => {
        this.requireBucket(bucket);
        const old = this.st.objectHead.get(bucket, key);
        if (!old) return [];
        this.forgetHot(bucket, key);
        this.st.objectDelete.run(bucket, key);
        return this.toGarbage(old);
      }),
    );
    await this.collectFreed(freed);
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListResult> {
    this.requireBucket(bucket);
    return listObjects(this.st, bucket, opts);
  }

  // ---- multipart -----------------------------------------------------------------------------

  private uploadRow(bucket: string, key: string, uploadId: string): UploadRow {
    const row = this.st.uploadGet.get(uploadId);
    // an id is only valid with the bucket and key it was created for
    if (!row || row.bucket !== bucket || row.key !== key) throw new S3Error('NoSuchUpload', { key });
    return row;
  }

  async createMultipartUpload(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    this.requireBucket(bucket);
    const initiated = Date.now();
    const uploadId = newUploadId(initiated);
    this.st.uploadInsert.run(bucket, key, uploadId, initiated, metaJson(meta));
    return { uploadId, bucket, key, initiated: new Date(initiated), meta };
  }

  async getMultipartUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload> {
    return toUpload(this.uploadRow(bucket, key, uploadId));
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>,
  ): Promise<PartInfo> {
    try {
      this.requireBucket(bucket);
      this.uploadRow(bucket, key, uploadId);
    } catch (err) {
      body.destroy();
      throw err;
    }
    // parts are always blob files: they become the object's segments on completion
    const got = await this.receiveBlob(body, { size: opts.size, contentMd5: opts.contentMd5, maxSize: opts.maxSize, inline: false });
    const blob = got.id;
    if (blob === undefined) throw new Error('unreachable: a part is always received into a blob');
    const part: PartRow = {
      upload_id: uploadId,
      part_number: partNumber,
      blob,
      size: got.size,
      etag: got.md5.toString('hex'),
      modified: Date.now(),
    };
    let freed: string[];
    try {
      freed = this.db.transaction(() => {
        // the upload may have been completed or aborted while the part streamed
        this.uploadRow(bucket, key, uploadId);
        const old = this.st.partGet.get(uploadId, partNumber);
        this.st.partUpsert.run(uploadId, partNumber, part.blob, part.size, part.etag, part.modified);
        this.st.pendingDelete.run(blob);
        if (!old) return [];
        this.st.garbageAdd.run(old.blob);
        return [old.blob];
      })();
    } catch (err) {
      await this.discard(got);
      throw err;
    }
    await this.blobs.collect(freed);
    return toPart(part);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    this.uploadRow(bucket, key, uploadId);
    const max = Math.max(0, opts.maxParts);
    const rows = this.st.partsPage.all(uploadId, opts.partNumberMarker, max + 1);
    return { parts: rows.slice(0, max).map(toPart), isTruncated: rows.length > max };
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    let info: ObjectInfo | undefined;
    const freed = this.db.transaction(() => {
      this.requireBucket(bucket);
      const upload = this.uploadRow(bucket, key, uploadId);
      const done = assembleParts(parts, this.st.partsOf.all(uploadId), this.minPartSize);
      const row: ObjectRow = {
        bucket,
        key,
        size: done.size,
        etag: done.etag,
        modified: Date.now(),
        meta: upload.meta,
        segments: JSON.stringify(done.segments),
        body: null,
        inline: null,
      };
      for (const id of done.unused) this.st.garbageAdd.run(id);
      this.st.partsDelete.run(uploadId);
      this.st.uploadDelete.run(uploadId);
      const replaced = this.writeObject(row);
      info = toInfo(row);
      return [...done.unused, ...replaced];
    })();
    await this.blobs.collect(freed);
    if (!info) throw new Error('unreachable: the transaction returned without an object');
    return info;
  }

  /** Inside a transaction: forget an upload; its parts' blobs become garbage. */
  private dropUpload(uploadId: string): string[] {
    const ids = this.st.partsOf.all(uploadId).map((p) => p.blob);
    for (const id of ids) this.st.garbageAdd.run(id);
    this.st.partsDelete.run(uploadId);
    this.st.uploadDelete.run(uploadId);
    return ids;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const freed = this.freeing(
      this.db.transaction(() => {
        this.requireBucket(bucket);
        this.uploadRow(bucket, key, uploadId);
        return this.dropUpload(uploadId);
      }),
    );
    await this.collectFreed(freed);
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
    this.requireBucket(bucket);
    return listUploads(this.st, bucket, opts);
  }
}
