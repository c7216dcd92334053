/**
 * @module origin/spool
 * A growing file that one writer fills and any number of readers follow, each at its own pace
 * (spec MIR-41: followers stream from the in-progress data at once instead of waiting for the
 * fill to finish). The writer never waits for readers: bytes go to disk, readers catch up from
 * disk. A reader that outruns the writer waits for the next `append`; a failed spool fails every
 * reader that has not yet received all bytes, so no client ever sees a clean, short body.
 */
import { EventEmitter } from 'node:events';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export class Spool extends EventEmitter {
  /** bytes durably handed to the file so far */
  written = 0;
  /** total size once the writer finished */
  finalSize: number | undefined;
  error: Error | undefined;
  private fh: FileHandle | undefined;
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

  /** Writer: append one chunk (sequentially awaited by the caller). */
  async append(chunk: Buffer): Promise<void> {
    if (!this.fh) throw new Error('spool closed');
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, this.written + off);
      off += bytesWritten;
    }
    this.written += chunk.length;
    this.emit('progress');
  }

  /** Writer: all bytes are in. */
  finish(): void {
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
      const w = waiting;
      waiting = undefined;
      w?.();
    };
    this.on('progress', onProgress);
    const buf = Buffer.allocUnsafe(256 * 1024);
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
      highWaterMark: 256 * 1024,
      async read() {
        try {
          for (;;) {
            const limit = end === undefined ? (spool.finalSize ?? Infinity) : end + 1;
            if (pos >= limit) {
              this.push(null);
              return;
            }
            if (pos < spool.written) {
              const n = Math.min(buf.length, spool.written - pos, limit - pos);
              const fh = spool.fh;
              if (!fh) throw spool.error ?? new Error('spool closed');
              const { bytesRead } = await fh.read(buf, 0, n, pos);
              pos += bytesRead;
              this.push(Buffer.from(buf.subarray(0, bytesRead)));
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
    if (!this.released || this.readers > 0 || !this.fh) return;
    const fh = this.fh;
    this.fh = undefined;
    await fh.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
