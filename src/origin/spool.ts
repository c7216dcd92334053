/**
 * @module origin/spool
 * A growing file that one writer fills and any number of readers follow, each at its own pace
 * (spec MIR-41: followers stream from the in-progress data at once instead of waiting for the
 * fill to finish). The writer never waits for readers: bytes go to disk, readers catch up from
 * disk. A reader that outruns the writer waits for the next `append`; a failed spool fails every
 * reader that has not yet received all bytes, so no client ever sees a clean, short body.
 * A small body of known length is kept in memory instead (`Spool.memory`): same contract, no file.
 */
import { EventEmitter } from 'node:events';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** bytes queued for the file before the writer has to wait */
const QUEUE_HIGH = 8 * 1024 * 1024;
/** a reader that caught up with the writer wakes again once this much more has arrived (or at the end) */
const WAKE_BATCH = 256 * 1024;
/** most bytes a reader takes from the file at once */
const READ_CHUNK = 256 * 1024;

export class Spool extends EventEmitter {
  /** bytes durably handed to the file so far */
  written = 0;
  /** total size once the writer finished */
  finalSize: number | undefined;
  error: Error | undefined;
  private fh: FileHandle | undefined;
  /** memory mode: the whole body, filled up to `written` */
  private mem: Buffer | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private flushing: Promise<void> | undefined;
  private readers = 0;
  private released = false;

  private constructor(readonly path: string) {
    super();
    this.setMaxListeners(0);
  }

  static async create(path: string): Promise<Spool> {
    const s = new Spool(path);
    s.fh = await open(path, 'w+', 0o600);
    return s;
  }

  /** A spool for a body of exactly `size` bytes, kept in memory (small objects: no file at all). */
  static memory(size: number): Spool {
    const s = new Spool('');
    s.mem = Buffer.allocUnsafe(size);
    return s;
  }

  /** bytes of memory this spool holds (0 for a file spool) */
  get memoryBytes(): number {
    return this.mem?.length ?? 0;
  }

  /**
   * Writer: append a chunk. Chunks queue up while a write is in flight and go to disk together
   * (one writev), so the writer never waits on one syscall per chunk; the returned promise only
   * waits when more than QUEUE_HIGH bytes are queued (backpressure towards the origin).
   */
  async append(chunk: Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (this.mem) {
      if (this.written + chunk.length > this.mem.length) throw new Error(`Bytes read is not equal to expected (more than ${this.mem.length})`);
      chunk.copy(this.mem, this.written);
      this.written += chunk.length;
      this.emit('progress');
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.flushing ??= this.flush();
    while (this.queued > QUEUE_HIGH && this.flushing) await this.flushing;
    if (this.error) throw this.error;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const bytes = batch.reduce((n, b) => n + b.length, 0);
        const fh = this.fh;
        if (!fh) throw new Error('spool closed');
        let done = 0;
        let pending: Buffer[] = batch;
        while (done < bytes) {
          const { bytesWritten } = await fh.writev(pending, this.written + done);
          done += bytesWritten;
          if (done < bytes) pending = [Buffer.concat(batch).subarray(done)];
        }
        this.written += bytes;
        this.queued -= bytes;
        this.emit('progress');
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writer: all bytes are in (waits for the queued ones to reach the file). */
  async finish(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.error) throw this.error;
    this.finalSize = this.written;
    this.emit('progress');
  }

  /** Writer: the fill failed; readers that still need bytes error out. */
  fail(err: Error): void {
    if (this.finalSize !== undefined || this.error) return;
    this.error = err;
    this.emit('progress');
  }

  /**
   * A reader of bytes [start, end] (inclusive; end undefined = to the end of the data).
   * It reads from the file as the data arrives and ends when it has all it asked for.
   */
  reader(start = 0, end?: number): Readable {
    this.readers++;
    let pos = start;
    let waiting: (() => void) | undefined;
    const onProgress = () => {
      // wake for a worthwhile batch, the end, a failure, or the very first bytes (time to first byte)
      if (!waiting) return;
      const ready = this.written - pos >= WAKE_BATCH || pos === start || this.finalSize !== undefined || this.error !== undefined;
      if (!ready) return;
      const w = waiting;
      waiting = undefined;
      w();
    };
    this.on('progress', onProgress);
    const spool = this;
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      spool.off('progress', onProgress);
      spool.readers--;
      void spool.maybeRelease();
    };
    return new Readable({
      highWaterMark: READ_CHUNK,
      async read() {
        try {
          for (;;) {
            const limit = end === undefined ? (spool.finalSize ?? Infinity) : end + 1;
            if (pos >= limit) {
              this.push(null);
              return;
            }
            // the last byte waits for finish(): a body that fails its final check (length, Content-MD5)
            // must never reach a client complete (MIR-22, MIR-23)
            const ready = spool.finalSize !== undefined ? spool.written : spool.written - 1;
            if (pos < ready && spool.mem) {
              const n = Math.min(ready - pos, limit - pos);
              this.push(spool.mem.subarray(pos, pos + n));
              pos += n;
              return;
            }
            if (pos < ready) {
              const n = Math.min(READ_CHUNK, ready - pos, limit - pos);
              const fh = spool.fh;
              if (!fh) throw spool.error ?? new Error('spool closed');
              // a fresh buffer per read, handed on as is: no copy of every byte
              const buf = Buffer.allocUnsafe(n);
              const { bytesRead } = await fh.read(buf, 0, n, pos);
              pos += bytesRead;
              this.push(bytesRead === n ? buf : buf.subarray(0, bytesRead));
              return;
            }
            if (spool.error) throw spool.error;
            if (spool.finalSize !== undefined) {
              // the data ended before the requested range did
              this.push(null);
              return;
            }
            await new Promise<void>((resolve) => {
              waiting = resolve;
            });
          }
        } catch (err) {
          this.destroy(err as Error);
        }
      },
      destroy(err, cb) {
        cleanup();
        cb(err);
      },
    }).once('end', cleanup);
  }

  /** The writer is done with the spool; the file goes once the last reader is done too. */
  async release(): Promise<void> {
    this.released = true;
    await this.maybeRelease();
  }

  private async maybeRelease(): Promise<void> {
    if (!this.released || this.readers > 0) return;
    if (this.mem) {
      this.emit('released', this.mem.length);
      this.mem = undefined;
      return;
    }
    if (!this.fh) return;
    const fh = this.fh;
    this.fh = undefined;
    await fh.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
