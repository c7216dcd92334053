/**
 * @module storage/fs/blobs
 * Blob file lifetimes: streaming reads across an object's segments, reference counts held by
 * those reads, garbage collection that waits for them, and the cleanup of a crash's leftovers.
 *
 * Why reference counts: getObject looks the row up and then reads files asynchronously, for as
 * long as the client takes. An overwrite or delete meanwhile commits a new row and turns the old
 * blobs into garbage. `acquire` runs in the same synchronous tick as the row lookup, and commits
 * are synchronous SQLite transactions on this same thread, so no commit can fall in between.
 * `collect` then leaves a held blob alone: its id stays in the `garbage` table and the file is
 * unlinked when the last reader releases it (or at the next open, if the process dies first).
 * An fd that is already open would survive an unlink on POSIX, but the read opens each file only
 * when it gets there, so the count must cover the whole read, from lookup to the stream's 'close'.
 */
import { unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FileRangeStream } from '../file-range.js';
import type { FileRange } from '../file-range.js';
import type { Statements } from './meta.js';
import { Paths } from './paths.js';

export interface Segment {
  id: string;
  size: number;
}

/** Large sequential reads: fewer syscalls per GET, bounded memory per stream. */
const READ_CHUNK = 256 * 1024;
/** Reads of more than BIG_READ bytes go in BIG_CHUNK pieces: fewer, larger socket writes for large GETs. */
const BIG_READ = 8 * 1024 * 1024;
const BIG_CHUNK = 1024 * 1024;

export class Blobs {
  /** blob id -> number of open reads of it */
  private readonly held = new Map<string, number>();
  /** garbage ids whose unlink waits for their readers */
  private readonly deferred = new Set<string>();

  constructor(
    private readonly paths: Paths,
    private readonly st: Statements,
    /** false once the database is closed: garbage rows are then left for the next open */
    private readonly dbOpen: () => boolean,
  ) {}

  /**
   * A stream of bytes start..end (inclusive) of the concatenation of `segments`. Call it in the
   * same synchronous tick as the row lookup: it takes the references before returning, and
   * gives them back when the stream closes (end, error or destroy).
   */
  read(segments: readonly Segment[], start: number, end: number): Readable {
    const ids = segments.map((s) => s.id);
    for (const id of ids) this.held.set(id, (this.held.get(id) ?? 0) + 1);
    const body = new FileRangeStream(this.ranges(segments, start, end), end - start + 1 > BIG_READ ? BIG_CHUNK : READ_CHUNK);
    body.once('close', () => {
      for (const id of ids) this.release(id);
    });
    return body;
  }

  /** The file ranges that hold bytes start..end (inclusive) of the concatenation of `segments`. */
  private ranges(segments: readonly Segment[], start: number, end: number): FileRange[] {
    const out: FileRange[] = [];
    let offset = 0;
    for (const seg of segments) {
      const segStart = offset;
      const segEnd = offset + seg.size - 1;
      offset += seg.size;
      if (seg.size === 0 || segEnd < start) continue;
      if (segStart > end) break;
      out.push({ path: this.paths.blob(seg.id), start: Math.max(start, segStart) - segStart, end: Math.min(end, segEnd) - segStart });
    }
    return out;
  }

  private release(id: string): void {
    const n = (this.held.get(id) ?? 1) - 1;
    if (n > 0) {
      this.held.set(id, n);
      return;
    }
    this.held.delete(id);
    if (this.deferred.delete(id)) void this.collect([id]);
  }

  /**
   * Unlinks blobs the caller's transaction has just recorded in `garbage`, except those a reader
   * holds (deferred to their release). Never throws: the object change is already committed, and
   * a blob that could not be removed stays in `garbage` for the next open to retry.
   */
  async collect(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.held.has(id)) {
        this.deferred.add(id);
        continue;
      }
      try {
        await removeBlob(this.paths, id);
        if (this.dbOpen()) this.st.garbageDelete.run(id);
      } catch {
        // left in `garbage`: retried at the next open
      }
    }
  }

  /**
   * At open, before any request: unlink what a crash left behind. Pending blobs were renamed into
   * place but their commit never ran (the commit transaction deletes the pending row), and
   * garbage blobs were un-referenced by a committed transaction; blob ids are random and never
   * reused, so by construction neither kind is referenced by any row. Only the ids recorded in
   * these two tables are visited: no directory scan.
   */
  async recover(): Promise<void> {
    for (const { id } of this.st.pendingAll.all()) {
      await removeBlob(this.paths, id);
      this.st.pendingDelete.run(id);
    }
    for (const { id } of this.st.garbageAll.all()) {
      await removeBlob(this.paths, id);
      this.st.garbageDelete.run(id);
    }
  }

  /** A received blob that will not be committed after all: unlink it, then forget it was pending. */
  async discard(id: string): Promise<void> {
    await removeBlob(this.paths, id);
    if (this.dbOpen()) this.st.pendingDelete.run(id);
  }
}

async function removeBlob(paths: Paths, id: string): Promise<void> {
  // an id that is not one of ours (a damaged row) names no file we made: nothing to remove
  if (!Paths.isId(id)) return;
  try {
    await unlink(paths.blob(id));
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
}

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}
