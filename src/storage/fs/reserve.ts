/**
 * @module storage/fs/reserve
 * Room kept aside so that a full disk never wedges the store (issue #15, defect 4).
 *
 * A delete frees room, but first it writes: SQLite appends the transaction to its write-ahead log
 * (and, after a restart, must create the log and its shared-memory index), and on a disk full to
 * the last byte that append fails with SQLITE_FULL. Without room, no delete; without a delete, no
 * room. So the data dir keeps `reserve`, a file of up to RESERVE_BYTES of real (non-sparse,
 * incompressible) bytes:
 * - a transaction that frees room and fails for want of room releases the reserve (unlink: the
 *   space is back at once) and runs again (FsDriver.freeing);
 * - opening the store on a nearly full disk releases it first, so SQLite can open its log;
 * - after a delete freed blobs, and after the store opened, it grows back to RESERVE_BYTES or as far
 *   as the free room allows (a partial reserve still serves the next delete).
 * Writes never use the reserve: they answer 503 ServiceUnavailable while the disk is full.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { open, statfs } from 'node:fs/promises';

/** Enough for SQLite to open its log and commit a full DeleteObjects (1,000 keys) on a full disk. */
export const RESERVE_BYTES = 8 * 1024 * 1024;

const CHUNK = 256 * 1024;

export class Reserve {
  private refilling: Promise<void> | undefined;
  /** known to hold `bytes` (no stat needed on the next refill) */
  private whole = false;
  /** incompressible, so a compressing file system (ZFS, btrfs) allocates every byte */
  private static fill: Buffer | undefined;

  constructor(
    readonly file: string,
    readonly bytes: number = RESERVE_BYTES,
  ) {}

  /** Bytes the reserve holds now. */
  size(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  /** Gives the reserve's room back to the file system; false when there was none to give. */
  release(): boolean {
    this.whole = false;
    if (this.size() === 0) return false;
    rmSync(this.file, { force: true });
    return true;
  }

  /** At open: with less free room than the reserve holds, release it before SQLite needs room. */
  async releaseIfLow(dir: string): Promise<void> {
    const s = await statfs(dir);
    if (s.bavail * s.bsize < this.bytes) this.release();
  }

  /**
   * Grows the reserve back towards `bytes`, as far as the free room allows; one at a time, never
   * throws (a disk still full leaves it short, and the next delete tries again).
   */
  refill(): Promise<void> {
    if (this.whole) return Promise.resolve();
    this.refilling ??= this.grow().finally(() => (this.refilling = undefined));
    return this.refilling;
  }

  /** Waits for a refill under way (before the data dir is closed). */
  async settled(): Promise<void> {
    await this.refilling;
  }

  private async grow(): Promise<void> {
    let have = this.size();
    if (have >= this.bytes) {
      this.whole = true;
      return;
    }
    Reserve.fill ??= randomBytes(CHUNK);
    let fh;
    try {
      fh = await open(this.file, 'a', 0o600);
      while (have < this.bytes) {
        const { bytesWritten } = await fh.write(Reserve.fill, 0, Math.min(CHUNK, this.bytes - have));
        if (bytesWritten === 0) break;
        have += bytesWritten;
      }
      // write() allocates (or, with delayed allocation, accounts for) the blocks: no fsync needed
      this.whole = have >= this.bytes;
    } catch {
      // out of room (or the data dir went away): the reserve stays as large as it got
    } finally {
      await fh?.close().catch(() => {});
    }
  }
}
