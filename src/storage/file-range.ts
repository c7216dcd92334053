/**
 * @module storage/file-range
 * A readable body made of byte ranges of local files, read in order, with a fast path for the
 * common consumer, an HTTP response: `writeInto` reads into a few buffers it reuses, each one
 * going back to the pool when the socket has taken its bytes. Without a sendfile in Node, that is
 * what removes the per-chunk allocation (and the GC work it causes) from a large GET: in the core
 * benchmark on the 2-core machine a 1 GiB GET went from 666-782 to 2,006-2,128 MB/s (nginx:
 * 1,665-2,026).
 *
 * Files are opened only when reading reaches them, and the stream emits 'close' exactly once,
 * whichever way it ends (read to the end, error, destroy, or after `writeInto`), so an owner can
 * hold references on the files until then.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { writePooled } from '../streams.js';
import type { SelfWriting } from '../streams.js';

export interface FileRange {
  path: string;
  /** first byte, inclusive */
  start: number;
  /** last byte, inclusive */
  end: number;
}

export class FileRangeStream extends Readable implements SelfWriting {
  private index = 0;
  private pos: number;
  private fh: FileHandle | undefined;
  private consumed = false;

  private readonly chunk: number;
  /** bytes not read yet */
  private remaining: number;

  constructor(
    private readonly ranges: readonly FileRange[],
    chunk: number,
  ) {
    const total = ranges.reduce((n, r) => n + (r.end - r.start + 1), 0);
    // a small body gets a buffer of its own size, not a whole chunk
    const size = Math.max(1, Math.min(chunk, total));
    super({ highWaterMark: size });
    this.chunk = size;
    this.remaining = total;
    this.pos = ranges[0]?.start ?? 0;
  }

  /**
   * The next piece, read into `buf` (a fresh buffer of a chunk when none is given), or null at the
   * end. Fails on a file shorter than its range.
   */
  private async next(buf: Buffer = Buffer.allocUnsafe(this.chunk)): Promise<Buffer | null> {
    for (;;) {
      const range = this.ranges[this.index];
      if (!range) return null;
      if (this.pos > range.end) {
        await this.closeFile();
        this.index++;
        this.pos = this.ranges[this.index]?.start ?? 0;
        continue;
      }
      if (!this.fh) {
        const fh = await open(range.path, 'r');
        // destroyed while opening: _destroy has already run and would not close this one
        if (this.destroyed) {
          await fh.close();
          throw Object.assign(new Error('stream destroyed'), { code: 'ERR_STREAM_DESTROYED' });
        }
        this.fh = fh;
      }
      const want = Math.min(buf.length, range.end - this.pos + 1);
      const { bytesRead } = await this.fh.read(buf, 0, want, this.pos);
      if (bytesRead === 0) throw Object.assign(new Error(`unexpected end of file at byte ${this.pos}`), { code: 'ERR_SHORT_FILE' });
      this.pos += bytesRead;
      this.remaining -= bytesRead;
      return bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }

  override _read(): void {
    this.consumed = true;
    this.next().then(
      (piece) => this.push(piece),
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.closeFile().then(
      () => cb(err),
      () => cb(err),
    );
  }

  /**
   * Writes every byte into `dst`, ends it, and resolves when it has finished and this stream has
   * closed. On any failure (a file error, `dst` closed or failing first) both streams are
   * destroyed and the promise rejects. Only for a stream nobody has read from yet.
   */
  async writeInto(dst: Writable, onBytes: (n: number) => void): Promise<void> {
    if (this.consumed || this.destroyed) throw new Error('writeInto: the stream was already read');
    this.consumed = true;
    try {
      await writePooled(dst, { next: (buf) => this.next(buf), bufferSize: this.chunk, exhausted: () => this.remaining <= 0 }, onBytes);
    } finally {
      // settle only once the files are closed (and the owner has seen 'close')
      const closed = this.closed ? Promise.resolve() : new Promise<void>((resolve) => this.once('close', () => resolve()));
      this.destroy();
      await closed;
    }
  }
}
