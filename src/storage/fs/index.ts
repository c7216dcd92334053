/**
 * @module storage/fs
 * The embedded driver: object bytes in blob files under random names, metadata in SQLite.
 *
 * Visibility: an object appears only in the one synchronous transaction that writes its row
 * (after the body was received, checked, fsynced and renamed into the blob tree).
 * Crash safety: a blob is recorded in `pending_blobs` before it is renamed into place, and the
 * commit transaction removes that record; blobs an overwrite or delete un-references are recorded
 * in `garbage` in the same transaction. At open, every pending or garbage blob is unlinked: by
 * construction none of them is referenced. No directory scans are needed.
 * Readers: between the row lookup and the file reads, an overwrite may un-reference a blob. Readers
 * take a reference count on their blobs in the same synchronous tick as the lookup, and garbage
 * collection leaves a blob alone until its count is back to zero.
 */
import type { Database as Db } from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { S3Error } from '../../errors.js';
import type {
  BucketInfo, ByteRange, CannedAcl, DriverCapabilities, ListOptions, ListResult, ListUploadsOptions, MultipartUpload,
  ObjectInfo, ObjectMeta, PartInfo, PutOptions, StorageDriver,
} from '../driver.js';
import { receive } from './commit.js';
import type { ReceiveOptions, Received } from './commit.js';
import type { BucketRow, ObjectRow, PartRow, Statements, UploadRow } from './meta.js';
import { openDb, statements } from './meta.js';
import { Paths } from './paths.js';

interface Segment {
  id: string;
  size: number;
}

export interface FsDriverOptions {
  dir: string;
  /** smallest part except the last in CompleteMultipartUpload (S3: 5 MiB) */
  minPartSize?: number;
}

const MAX_SCAN = 1000;
/** memory for recently read small objects */
const HOT_BYTES = 32 * 1024 * 1024;

export async function openFsDriver(opts: FsDriverOptions): Promise<FsDriver> {
  const paths = new Paths(opts.dir);
  await mkdir(paths.blobs, { recursive: true });
  await rm(paths.tmp, { recursive: true, force: true });
  await mkdir(paths.tmp, { recursive: true });
  const db = openDb(paths.db);
  const driver = new FsDriver(paths, db, opts.minPartSize ?? 5 * 1024 * 1024);
  await driver.recover();
  return driver;
}

export class FsDriver implements StorageDriver {
  readonly name = 'fs';
  readonly capabilities: DriverCapabilities = { createOnly: true };
  private readonly st: Statements;
  private readonly readers = new Map<string, number>();
  /**
   * Bucket rows and bucket configs, cached: this process is the only writer of the data dir, and
   * every write below goes through the cache, so it is never stale.
   */
  private readonly bucketCache = new Map<string, BucketRow | null>();
  private readonly configCache = new Map<string, string | null>();
  private readonly hot = new Map<string, ObjectRow>();
  private hotBytes = 0;
  private readonly deferred = new Set<string>();

  constructor(
    private readonly paths: Paths,
    private readonly db: Db,
    private readonly minPartSize: number,
  ) {
    this.st = statements(db);
  }

  /** Unlink what a crash left behind: pending blobs never committed, garbage never collected. */
  async recover(): Promise<void> {
    for (const { id } of this.st.pendingAll.all() as { id: string }[]) {
      await rm(this.paths.blob(id), { force: true });
      this.st.pendingDelete.run(id);
    }
    for (const { id } of this.st.garbageAll.all() as { id: string }[]) {
      await rm(this.paths.blob(id), { force: true });
      this.st.garbageDelete.run(id);
    }
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // ---- buckets -------------------------------------------------------------------------------

  private bucketRow(name: string): BucketRow | undefined {
    let row = this.bucketCache.get(name);
    if (row === undefined) {
      row = (this.st.bucketGet.get(name) as BucketRow | undefined) ?? null;
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
    return (this.st.bucketList.all() as BucketRow[]).map(toBucket);
  }

  async createBucket(name: string, acl: CannedAcl): Promise<BucketInfo> {
    const created = Date.now();
    try {
      this.forgetBucket(name);
      this.st.bucketInsert.run(name, created, acl);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new S3Error('BucketAlreadyOwnedByYou', { bucket: name });
      throw err;
    }
    return { name, created: new Date(created), acl };
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    const row = this.bucketRow(name);
    return row && toBucket(row);
  }

  async deleteBucket(name: string): Promise<void> {
    const freed: string[] = [];
    this.db.transaction(() => {
      this.requireBucket(name);
      if (this.st.bucketHasObjects.get(name)) throw new S3Error('BucketNotEmpty', { bucket: name });
      for (const { upload_id } of this.st.uploadsOfBucket.all(name) as { upload_id: string }[]) freed.push(...this.dropUpload(upload_id));
      this.st.configDeleteAll.run(name);
      this.st.bucketDelete.run(name);
    })();
    this.forgetBucket(name);
    await this.collect(freed);
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
      value = (this.st.configGet.get(bucket, name) as { value: string } | undefined)?.value ?? null;
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

  private objectRow(bucket: string, key: string): ObjectRow | undefined {
    const id = `${bucket}\0${key}`;
    const hot = this.hot.get(id);
    if (hot) {
      // LRU: move to the young end
      this.hot.delete(id);
      this.hot.set(id, hot);
      return hot;
    }
    const row = this.st.objectGet.get(bucket, key) as ObjectRow | undefined;
    if (row?.inline) this.remember(id, row);
    return row;
  }

  /**
   * Small (inline) objects recently read stay in memory, up to HOT_BYTES: a hot 4 KiB GET then
   * costs no SQLite read at all. Every write of a key goes through forgetObject() in the same
   * synchronous stretch as its commit, and this process is the data dir's only writer, so the
   * cache is never stale.
   */
  private remember(id: string, row: ObjectRow): void {
    const cost = (row.inline?.length ?? 0) + row.meta.length + 256;
    this.hotBytes += cost;
    this.hot.set(id, row);
    for (const [oldId, old] of this.hot) {
      if (this.hotBytes <= HOT_BYTES) break;
      this.hot.delete(oldId);
      this.hotBytes -= (old.inline?.length ?? 0) + old.meta.length + 256;
    }
  }

  private forgetObject(bucket: string, key: string): void {
    const id = `${bucket}\0${key}`;
    const old = this.hot.get(id);
    if (!old) return;
    this.hot.delete(id);
    this.hotBytes -= (old.inline?.length ?? 0) + old.meta.length + 256;
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.requireBucket(bucket);
    const row = this.st.objectHead.get(bucket, key) as ObjectRow | undefined;
    return row && toInfo(row);
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable; bytes?: Buffer } | undefined> {
    // Lookup and reference-taking happen in one synchronous stretch: no commit can slip between.
    this.requireBucket(bucket);
    const row = this.objectRow(bucket, key);
    if (!row) return undefined;
    const start = range?.start ?? 0;
    const end = range?.end ?? row.size - 1;
    if (row.inline || row.size === 0) {
      const bytes = (row.inline ?? Buffer.alloc(0)).subarray(start, end + 1);
      // the stream is made only if asked for: most callers write `bytes` directly
      return {
        info: toInfo(row),
        bytes,
        get body() {
          return Readable.from([bytes]);
        },
      };
    }
    const segments = JSON.parse(row.segments) as Segment[];
    for (const s of segments) this.readers.set(s.id, (this.readers.get(s.id) ?? 0) + 1);
    const only = segments.length === 1 ? segments[0] : undefined;
    let body: Readable;
    if (only) {
      // one blob: the file stream itself, the cheapest path for large GETs
      body = createReadStream(this.paths.blob(only.id), { start, end, highWaterMark: 256 * 1024 });
      body.once('close', () => this.release(only.id));
    } else {
      body = Readable.from(this.readSegments(segments, start, end), { objectMode: false, highWaterMark: 1024 * 1024 });
    }
    return { info: toInfo(row), body };
  }

  private async *readSegments(segments: Segment[], start: number, end: number): AsyncGenerator<Buffer> {
    try {
      let offset = 0;
      for (const seg of segments) {
        const segStart = offset;
        const segEnd = offset + seg.size - 1;
        offset += seg.size;
        if (segEnd < start || seg.size === 0) continue;
        if (segStart > end) break;
        const from = Math.max(start, segStart) - segStart;
        const to = Math.min(end, segEnd) - segStart;
        for await (const chunk of createReadStream(this.paths.blob(seg.id), { start: from, end: to, highWaterMark: 1024 * 1024 })) {
          yield chunk as Buffer;
        }
      }
    } finally {
      for (const s of segments) this.release(s.id);
    }
  }

  private release(id: string): void {
    const n = (this.readers.get(id) ?? 1) - 1;
    if (n > 0) {
      this.readers.set(id, n);
      return;
    }
    this.readers.delete(id);
    if (this.deferred.delete(id)) void this.collect([id]);
  }

  /** Unlink un-referenced blobs (already recorded in `garbage`) unless a reader still holds them. */
  private async collect(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.readers.has(id)) {
        this.deferred.add(id);
        continue;
      }
      try {
        await unlink(this.paths.blob(id));
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOENT') throw err;
      }
      if (this.db.open) this.st.garbageDelete.run(id);
    }
  }

  private async receiveBlob(body: Readable, opts: ReceiveOptions): Promise<Received & { discard: () => Promise<void> }> {
    const r = await receive(this.paths, body, opts, (id) => this.st.pendingAdd.run(id));
    return {
      ...r,
      discard: async () => {
        if (r.id === undefined) return;
        await rm(this.paths.blob(r.id), { force: true });
        this.st.pendingDelete.run(r.id);
      },
    };
  }

  async putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectInfo> {
    try {
      this.requireBucket(bucket);
      if (opts.ifNoneMatch && this.objectRow(bucket, key)) throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-None-Match' } });
    } catch (err) {
      body.destroy();
      throw err;
    }
    const blob = await this.receiveBlob(body, { ...opts, inline: true });
    const meta: ObjectMeta = { ...opts.meta, system: { ...opts.meta.system, ...(opts.systemAtEnd?.() ?? {}) } };
    const row: ObjectRow = {
      bucket, key, size: blob.size, etag: blob.md5.toString('hex'), modified: Date.now(), meta: JSON.stringify(meta),
      segments: JSON.stringify(blob.id === undefined ? [] : [{ id: blob.id, size: blob.size }]), inline: blob.inline ?? null,
    };
    let freed: string[];
    try {
      freed = this.db.transaction(() => {
        this.requireBucket(bucket);
        if (opts.ifNoneMatch && this.objectRow(bucket, key)) throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-None-Match' } });
        const old = this.replaceObject(row);
        if (blob.id !== undefined) this.st.pendingDelete.run(blob.id);
        return old;
      })();
    } catch (err) {
      await blob.discard();
      throw err;
    }
    await this.collect(freed);
    return toInfo(row);
  }

  /** Inside a transaction: write the row; the old version's blobs become garbage. */
  private replaceObject(row: ObjectRow): string[] {
    const old = this.objectRow(row.bucket, row.key);
    this.forgetObject(row.bucket, row.key);
    this.st.objectUpsert.run(row.bucket, row.key, row.size, row.etag, row.modified, row.meta, row.segments, row.inline);
    return old ? this.toGarbage(old) : [];
  }

  private toGarbage(row: ObjectRow): string[] {
    const ids = (JSON.parse(row.segments) as Segment[]).map((s) => s.id);
    for (const id of ids) this.st.garbageAdd.run(id);
    return ids;
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const freed = this.db.transaction(() => {
      this.requireBucket(bucket);
      const old = this.objectRow(bucket, key);
      if (!old) return [];
      this.forgetObject(bucket, key);
      this.st.objectDelete.run(bucket, key);
      return this.toGarbage(old);
    })();
    await this.collect(freed);
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListResult> {
    this.requireBucket(bucket);
    const { prefix, delimiter, maxKeys } = opts;
    const result: ListResult = { objects: [], commonPrefixes: [], isTruncated: false };
    if (maxKeys <= 0) return result;
    const startAfter = opts.startAfter ?? '';
    // Resume strictly after startAfter, but never before the prefix: '' < prefix means "from the prefix".
    let cursor = startAfter < prefix ? prefix : startAfter;
    let inclusive = startAfter < prefix;
    let count = 0;
    let lastPrefix: string | undefined;
    for (;;) {
      const rows = (inclusive
        ? this.st.objectScanFrom.all(bucket, cursor, MAX_SCAN)
        : this.st.objectScan.all(bucket, cursor, MAX_SCAN)) as ObjectRow[];
      if (rows.length === 0) return result;
      let jumped = false;
      for (const row of rows) {
        if (!row.key.startsWith(prefix)) return result;
        let cp: string | undefined;
        if (delimiter) {
          const i = row.key.indexOf(delimiter, prefix.length);
          if (i >= 0) cp = row.key.slice(0, i + delimiter.length);
        }
        if (cp !== undefined && (cp === lastPrefix || cp <= startAfter)) {
          if (cp !== lastPrefix) lastPrefix = cp;
          // skip the rest of this common prefix with one seek
          cursor = cp + '\u{10FFFF}';
          inclusive = false;
          jumped = true;
          break;
        }
        if (count === maxKeys) {
          result.isTruncated = true;
          return result;
        }
        count++;
        if (cp !== undefined) {
          result.commonPrefixes.push(cp);
          result.nextMarker = cp;
          lastPrefix = cp;
          cursor = cp + '\u{10FFFF}';
          inclusive = false;
          jumped = true;
          break;
        }
        result.objects.push(toInfo(row));
        result.nextMarker = row.key;
        cursor = row.key;
        inclusive = false;
      }
      if (!jumped && rows.length < MAX_SCAN) return result;
    }
  }

  // ---- multipart -----------------------------------------------------------------------------

  private uploadRow(bucket: string, key: string, uploadId: string): UploadRow {
    const row = this.st.uploadGet.get(uploadId) as UploadRow | undefined;
    if (!row || row.bucket !== bucket || row.key !== key) throw new S3Error('NoSuchUpload', { key });
    return row;
  }

  async createMultipartUpload(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    this.requireBucket(bucket);
    const uploadId = randomBytes(24).toString('base64url');
    const initiated = Date.now();
    this.st.uploadInsert.run(bucket, key, uploadId, initiated, JSON.stringify(meta));
    return { uploadId, bucket, key, initiated: new Date(initiated), meta };
  }

  async getMultipartUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload> {
    return toUpload(this.uploadRow(bucket, key, uploadId));
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>): Promise<PartInfo> {
    try {
      this.requireBucket(bucket);
      this.uploadRow(bucket, key, uploadId);
    } catch (err) {
      body.destroy();
      throw err;
    }
    const blob = await this.receiveBlob(body, { ...opts, inline: false });
    if (blob.id === undefined) throw new Error('unreachable: parts are always blobs');
    const blobId = blob.id;
    const part: PartRow = { upload_id: uploadId, part_number: partNumber, blob: blobId, size: blob.size, etag: blob.md5.toString('hex'), modified: Date.now() };
    let freed: string[];
    try {
      freed = this.db.transaction(() => {
        this.uploadRow(bucket, key, uploadId);
        const old = this.st.partGet.get(uploadId, partNumber) as PartRow | undefined;
        this.st.partUpsert.run(uploadId, partNumber, part.blob, part.size, part.etag, part.modified);
        this.st.pendingDelete.run(blobId);
        if (!old) return [];
        this.st.garbageAdd.run(old.blob);
        return [old.blob];
      })();
    } catch (err) {
      await blob.discard();
      throw err;
    }
    await this.collect(freed);
    return toPart(part);
  }

  async listParts(bucket: string, key: string, uploadId: string, opts: { partNumberMarker: number; maxParts: number }): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    this.uploadRow(bucket, key, uploadId);
    const rows = this.st.partsPage.all(uploadId, opts.partNumberMarker, opts.maxParts + 1) as PartRow[];
    return { parts: rows.slice(0, opts.maxParts).map(toPart), isTruncated: rows.length > opts.maxParts };
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    let info: ObjectInfo | undefined;
    const freed = this.db.transaction(() => {
      this.requireBucket(bucket);
      const upload = this.uploadRow(bucket, key, uploadId);
      const stored = new Map((this.st.partsOf.all(uploadId) as PartRow[]).map((p) => [p.part_number, p]));
      const chosen: PartRow[] = [];
      // S3 checks the order of the whole list first, then each part, then the sizes.
      parts.forEach((p, i) => {
        if (i > 0 && p.partNumber <= (parts[i - 1]?.partNumber ?? 0)) throw new S3Error('InvalidPartOrder');
      });
      for (const [i, p] of parts.entries()) {
        const s = stored.get(p.partNumber);
        if (!s || s.etag !== p.etag.replace(/^"|"$/g, '').toLowerCase()) throw new S3Error('InvalidPart', { fields: { PartNumber: String(p.partNumber) } });
        if (i < parts.length - 1 && s.size < this.minPartSize) {
          throw new S3Error('EntityTooSmall', { fields: { PartNumber: String(p.partNumber), ProposedSize: String(s.size), MinSizeAllowed: String(this.minPartSize) } });
        }
        chosen.push(s);
      }
      const md5s = Buffer.concat(chosen.map((c) => Buffer.from(c.etag, 'hex')));
      const row: ObjectRow = {
        bucket, key, size: chosen.reduce((n, c) => n + c.size, 0),
        etag: `${createHash('md5').update(md5s).digest('hex')}-${chosen.length}`,
        modified: Date.now(), meta: upload.meta,
        segments: JSON.stringify(chosen.map((c) => ({ id: c.blob, size: c.size }))), inline: null,
      };
      const used = new Set(chosen.map((c) => c.blob));
      const unused = [...stored.values()].filter((p) => !used.has(p.blob)).map((p) => p.blob);
      for (const id of unused) this.st.garbageAdd.run(id);
      this.st.partsDelete.run(uploadId);
      this.st.uploadDelete.run(uploadId);
      const old = this.replaceObject(row);
      info = toInfo(row);
      return [...unused, ...old];
    })();
    await this.collect(freed);
    if (!info) throw new Error('unreachable');
    return info;
  }

  /** Inside a transaction: forget an upload; its parts' blobs become garbage. */
  private dropUpload(uploadId: string): string[] {
    const ids = (this.st.partsOf.all(uploadId) as PartRow[]).map((p) => p.blob);
    for (const id of ids) this.st.garbageAdd.run(id);
    this.st.partsDelete.run(uploadId);
    this.st.uploadDelete.run(uploadId);
    return ids;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const freed = this.db.transaction(() => {
      this.uploadRow(bucket, key, uploadId);
      return this.dropUpload(uploadId);
    })();
    await this.collect(freed);
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
    this.requireBucket(bucket);
    const out: MultipartUpload[] = [];
    let key = opts.keyMarker ?? '';
    let id = opts.keyMarker !== undefined ? (opts.uploadIdMarker ?? '\u{10FFFF}') : '';
    if (opts.prefix > key) {
      key = opts.prefix;
      id = '';
    }
    for (;;) {
      const rows = this.st.uploadScan.all(bucket, key, key, id, MAX_SCAN) as UploadRow[];
      for (const r of rows) {
        if (!r.key.startsWith(opts.prefix)) {
          if (r.key > opts.prefix) return { uploads: out, isTruncated: false };
          continue;
        }
        if (out.length === opts.maxUploads) return { uploads: out, isTruncated: true };
        out.push(toUpload(r));
      }
      const last = rows[rows.length - 1];
      if (!last || rows.length < MAX_SCAN) return { uploads: out, isTruncated: false };
      key = last.key;
      id = last.upload_id;
    }
  }
}

function toBucket(row: BucketRow): BucketInfo {
  return { name: row.name, created: new Date(row.created), acl: row.acl as CannedAcl };
}

function toInfo(row: ObjectRow): ObjectInfo {
  return { bucket: row.bucket, key: row.key, size: row.size, etag: row.etag, lastModified: new Date(row.modified), meta: JSON.parse(row.meta) as ObjectMeta };
}

function toUpload(row: UploadRow): MultipartUpload {
  return { uploadId: row.upload_id, bucket: row.bucket, key: row.key, initiated: new Date(row.initiated), meta: JSON.parse(row.meta) as ObjectMeta };
}

function toPart(row: PartRow): PartInfo {
  return { partNumber: row.part_number, etag: row.etag, size: row.size, lastModified: new Date(row.modified) };
}
