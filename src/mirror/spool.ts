/**
 * @module mirror/spool
 * A growing file that one writer fills and any number of readers follow, each at its own pace
 * (spec MIR-41: followers stream from the in-progress data at once instead of waiting for the
 * fill to finish). The writer never waits for readers: bytes go to disk, readers catch up from
 * disk. The newest bytes (the "tail", up to TAIL_MAX) are also kept in memory: a reader that keeps
 * up with the origin takes them from there, without a file read on the thread pool (one fewer hop
 * per chunk, and time to first byte does not wait for the file). A reader that outruns the writer
 * waits for the next `append`; a failed spool fails every
 * reader that has not yet received all bytes, so no client ever sees a clean, short body.
 * A small body of known length is kept in memory instead (`Spool.memory`): same contract, no file.
 *
 * Out of space (issue #15): when the file cannot be created or grown (ENOSPC, EDQUOT: errors.ts
 * isOutOfSpace), the spool does not fail its readers: it stops writing the file (`outOfSpace` is
 * set, 'outOfSpace' is emitted) and relays, keeping in memory the bytes its slowest reader still
 * needs, the writer held back beyond RELAY_MAX. What it holds is no longer a whole body, so it
 * must not be stored; a reader that has not started yet is refused (`ready` rejects: the caller
 * answers 503 before sending anything).
 */
import { EventEmitter } from 'node:events';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { isOutOfSpace } from '../errors.js';
import { writePooled } from '../streams.js';
import type { SelfWriting } from '../streams.js';

/** bytes queued for the file before the writer has to wait */
const QUEUE_HIGH = 1024 * 1024;
/** a reader that caught up with the writer wakes again once this much more has arrived (or at the end) */
const WAKE_BATCH = 256 * 1024;
/** most bytes a reader takes from the file at once */
const READ_CHUNK = 256 * 1024;
/** most bytes a reader that keeps up hands to its destination at once (views of the tail's chunks: one socket writev) */
const WRITE_BATCH = 1024 * 1024;
/** newest bytes kept in memory for readers that keep up (chunks already in the file are dropped beyond it); 2 MiB before: the chunks still held at each young-generation collection (young-gc.ts, every 4 MiB) were promoted, and their bytes brought a full collection every ~100 MiB (issue 19) */
const TAIL_MAX = 1024 * 1024;
/** out of space: most bytes held in memory ahead of the slowest reader before the writer waits */
const RELAY_MAX = 4 * 1024 * 1024;

/** what the spool knows of a reader: where it is */
interface ReaderAt {
  readonly position: number;
}

export class Spool extends EventEmitter {
  /** bytes durably handed to the file so far */
  written = 0;
  /** bytes received so far (written, plus those still queued for the file) */
  appended = 0;
  /** total size once the writer finished */
  finalSize: number | undefined;
  error: Error | undefined;
  /** the file found no room (ENOSPC, EDQUOT): the spool only relays from memory and must not be stored */
  outOfSpace: Error | undefined;
  private fh: FileHandle | undefined;
  /** the file being opened (file spools) */
  private opening: Promise<void> | undefined;
  /** memory mode: the whole body, filled up to `written` */
  private mem: Buffer | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  /** the newest chunks, in order: bytes [tailStart, appended) */
  private tail: Buffer[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  private flushing: Promise<void> | undefined;
  private readonly readers = new Set<ReaderAt>();
  /** a writer held back while out of space (wakes when the slowest reader moves or leaves) */
  private writerWaiting: (() => void) | undefined;
  private released = false;
  /** the file went to the store (StorageDriver.adoptFile): release only closes it */
  private disowned = false;

  private constructor(readonly path: string) {
    super();
    this.setMaxListeners(0);
  }

  static async create(path: string): Promise<Spool> {
    const s = new Spool(path);
    // opened in the background: the first bytes go to readers from memory (the tail) while the
    // file is being created, so the open is not in a client's time to first byte
    s.opening = open(path, 'w+', 0o600).then(
      (fh) => {
        s.fh = fh;
      },
      (err: unknown) => s.lost(err instanceof Error ? err : new Error(String(err))),
    );
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
    const wait = this.push(chunk);
    if (wait) await wait;
  }

  /**
   * Writer: `append` without a promise per chunk (a large fill pushes ~16,000 chunks per GiB):
   * undefined when the writer may go on at once, else a promise to wait on first. Throws the
   * spool's error, as `append` rejects with it.
   */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.error) throw this.error;
    if (this.mem) {
      if (this.written + chunk.length > this.mem.length)
        throw new Error(`Bytes read is not equal to expected (more than ${this.mem.length})`);
      chunk.copy(this.mem, this.written);
      this.written += chunk.length;
      this.appended = this.written;
      this.emit('progress');
      return undefined;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    this.appended += chunk.length;
    if (this.outOfSpace) {
      this.trimRelay();
      this.emit('progress');
      // relaying: held back while the slowest reader is RELAY_MAX behind
      return this.appended - this.lowestReader() > RELAY_MAX ? this.relayWait() : undefined;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.flushing ??= this.flush();
    this.emit('progress');
    return this.queued > QUEUE_HIGH ? this.queueWait() : undefined;
  }

  private async relayWait(): Promise<void> {
    while (!this.error && this.appended - this.lowestReader() > RELAY_MAX) {
      await new Promise<void>((resolve) => (this.writerWaiting = resolve));
    }
    if (this.error) throw this.error;
  }

  private async queueWait(): Promise<void> {
    while (this.queued > QUEUE_HIGH && this.flushing) await this.flushing;
    if (this.error) throw this.error;
  }

  /** where the slowest reader is (all bytes when there is none) */
  private lowestReader(): number {
    let low = this.appended;
    for (const r of this.readers) low = Math.min(low, r.position);
    return low;
  }

  /** @internal a reader moved on or left: while relaying, the bytes every reader has are dropped and the writer may go on */
  moved(): void {
    if (!this.outOfSpace) return;
    this.trimRelay();
    const w = this.writerWaiting;
    this.writerWaiting = undefined;
    w?.();
  }

  /** Relaying: drops the oldest chunks every reader has passed (or that are in the file, beyond TAIL_MAX). */
  private trimRelay(): void {
    const low = this.lowestReader();
    for (;;) {
      const first = this.tail[0];
      if (!first) return;
      const end = this.tailStart + first.length;
      if (end > low && (this.tailBytes - first.length < TAIL_MAX || end > this.written)) return;
      this.tail.shift();
      this.tailBytes -= first.length;
      this.tailStart = end;
    }
  }

  /** A failure of the file: out of space, the spool relays (see the module note); anything else fails it. */
  private lost(err: Error): void {
    if (!isOutOfSpace(err) || this.error || this.finalSize !== undefined) {
      this.fail(err);
      return;
    }
    if (this.outOfSpace) return;
    this.outOfSpace = err;
    // the bytes that did not reach the file stay in the tail (it is trimmed only up to `written`)
    this.queue = [];
    this.queued = 0;
    this.trimRelay();
    this.emit('outOfSpace', err);
    this.emit('progress');
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.outOfSpace) {
        const batch = this.queue;
        this.queue = [];
        const bytes = batch.reduce((n, b) => n + b.length, 0);
        if (!this.fh) await this.opening;
        const fh = this.fh;
        if (!fh) {
          if (this.outOfSpace) return;
          throw this.error ?? new Error('spool closed');
        }
        let done = 0;
        let pending: Buffer[] = batch;
        while (done < bytes) {
          const { bytesWritten } = await fh.writev(pending, this.written + done);
          done += bytesWritten;
          if (done < bytes) pending = [Buffer.concat(batch).subarray(done)];
        }
        this.written += bytes;
        this.queued -= bytes;
        this.trimTail();
        this.emit('progress');
      }
    } catch (err) {
      this.lost(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.flushing = undefined;
    }
  }

  /** Drops the oldest tail chunks beyond TAIL_MAX, once they are in the file (tailStart <= written always). */
  private trimTail(): void {
    for (;;) {
      const first = this.tail[0];
      if (!first || this.tailBytes - first.length < TAIL_MAX || this.tailStart + first.length > this.written) return;
      this.tail.shift();
      this.tailBytes -= first.length;
      this.tailStart += first.length;
    }
  }

  /**
   * @internal Bytes from `pos` (at most `max`) when they are in the memory tail, as a view of the
   * chunk that holds them; undefined when `pos` is before the tail (read the file) or not yet here.
   */
  fromTail(pos: number, max: number): Buffer | undefined {
    if (pos < this.tailStart || pos >= this.appended) return undefined;
    // readers are nearly always near the end: look from the newest chunk back
    let end = this.appended;
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const c = this.tail[i] as Buffer;
      const start = end - c.length;
      if (pos >= start) return c.subarray(pos - start, pos - start + Math.min(max, end - pos));
      end = start;
    }
    return undefined;
  }

  /**
   * @internal Bytes from `pos` (at most `max`) held in the memory tail, as views of the chunks that
   * hold them, in order (one socket write for several of the origin's ~64 KiB reads); empty when
   * `pos` is before the tail or not yet here.
   */
  tailViews(pos: number, max: number): Buffer[] {
    if (pos < this.tailStart || pos >= this.appended || max <= 0) return [];
    // find the chunk that holds pos: readers are nearly always near the end, so from the newest back
    let i = this.tail.length - 1;
    let start = this.appended;
    for (; i >= 0; i--) {
      start -= (this.tail[i] as Buffer).length;
      if (pos >= start) break;
    }
    const out: Buffer[] = [];
    let left = max;
    for (let at = pos - start; i < this.tail.length && left > 0; i++, at = 0) {
      const c = this.tail[i] as Buffer;
      const n = Math.min(c.length - at, left);
      out.push(at === 0 && n === c.length ? c : c.subarray(at, at + n));
      left -= n;
    }
    return out;
  }

  /** Writer: all bytes are in (waits for the queued ones to reach the file). */
  async finish(): Promise<void> {
    // the file exists once finished, even for an empty body (it may become the blob)
    await this.opening;
    while (this.flushing) await this.flushing;
    if (this.error) throw this.error;
    // every byte: in the file, or (out of space) held for the readers
    this.finalSize = this.appended;
    this.emit('progress');
  }

  /** Writer: the fill failed; readers that still need bytes error out. */
  fail(err: Error): void {
    if (this.finalSize !== undefined || this.error) return;
    this.error = err;
    this.emit('progress');
    const w = this.writerWaiting;
    this.writerWaiting = undefined;
    w?.();
  }

  /**
   * A reader of bytes [start, end] (inclusive; end undefined = to the end of the data).
   * It reads from the file as the data arrives and ends when it has all it asked for. Written
   * into an HTTP response (`writeInto`), it reuses two buffers instead of one per chunk.
   */
  reader(start = 0, end?: number): Readable & SelfWriting & { ready(): Promise<void>; whole(): Promise<Buffer> | undefined } {
    return new SpoolReader(this, start, end);
  }

  /** @internal SpoolReader's view of the spool */
  get fileHandle(): FileHandle | undefined {
    return this.fh;
  }

  /** @internal */
  get memoryBody(): Buffer | undefined {
    return this.mem;
  }

  /** readers attached now */
  get readerCount(): number {
    return this.readers.size;
  }

  /** @internal first byte still held in memory (bytes before it are in the file, or gone when out of space) */
  get memoryStart(): number {
    return this.tailStart;
  }

  /** @internal a reader starts */
  attach(r: ReaderAt): void {
    this.readers.add(r);
  }

  /**
   * @internal a reader is done. When it was the last and the body is still coming, 'idle' is
   * emitted: whoever fills a spool that nobody stores may stop (mirror/engine, MirrorProxyPass).
   */
  detach(r: ReaderAt): void {
    if (!this.readers.delete(r)) return;
    this.moved();
    if (this.readers.size === 0 && this.finalSize === undefined && !this.error) this.emit('idle');
    void this.maybeRelease();
  }

  /**
   * The file is someone else's from now on (moved into the store): release closes it but does
   * not remove it. Readers keep reading through the open handle, wherever the file goes.
   */
  disown(): void {
    this.disowned = true;
  }

  /** The writer is done with the spool; the file goes once the last reader is done too. */
  async release(): Promise<void> {
    this.released = true;
    // out of space, readers may still need the bytes held in memory (they are not in the file);
    // so may they while the writer is still appending (a store that gave up before the origin
    // body ended): the newest bytes may not have reached the file yet
    if (!this.outOfSpace && (this.finalSize !== undefined || this.error)) this.dropTail();
    await this.maybeRelease();
  }

  private dropTail(): void {
    this.tail = [];
    this.tailBytes = 0;
    this.tailStart = this.appended;
  }

  private async maybeRelease(): Promise<void> {
    if (!this.released || this.readers.size > 0) return;
    this.dropTail();
    if (this.mem) {
      this.emit('released', this.mem.length);
      this.mem = undefined;
      return;
    }
    if (!this.fh) await this.opening;
    if (!this.fh) return;
    const fh = this.fh;
    this.fh = undefined;
    await fh.close().catch(() => {});
    if (!this.disowned) await rm(this.path, { force: true });
  }
}

/** what a destroyed reader's pending `next` rejects with (nobody is left to see it) */
const READER_DESTROYED = new Error('reader destroyed');

/** One client's (or the store's) view of a spool: bytes [start, end], as they arrive. */
class SpoolReader extends Readable implements SelfWriting, ReaderAt {
  private pos: number;
  private waiting: (() => void) | undefined;
  private cleaned = false;
  private consumed = false;
  /** set when the consumer is gone: a wait for the writer ends with it */
  private stopped: Error | undefined;
  private readonly onProgress = () => {
    // wake for a worthwhile batch, the end, a failure, or the very first bytes (time to first byte)
    const w = this.waiting;
    if (!w) return;
    const sp = this.spool;
    const ready = sp.appended - this.pos >= WAKE_BATCH || this.pos === this.start || sp.finalSize !== undefined || sp.error !== undefined;
    if (!ready) return;
    this.waiting = undefined;
    w();
  };

  constructor(
    private readonly spool: Spool,
    private readonly start: number,
    private readonly end: number | undefined,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.pos = start;
    spool.attach(this);
    spool.on('progress', this.onProgress);
    this.once('end', () => this.cleanup());
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.spool.off('progress', this.onProgress);
    this.spool.detach(this);
  }

  get position(): number {
    return this.pos;
  }

  /**
   * Resolves when this reader's first bytes are there (or the body ended, or the fill failed:
   * `next` tells). Rejects with the spool's out-of-space error when the spool found no room before
   * anything was read (nothing was sent: the caller answers 503 instead), and with the reader's
   * own error when it was destroyed meanwhile.
   */
  async ready(): Promise<void> {
    const sp = this.spool;
    for (;;) {
      if (this.stopped) throw this.stopped;
      if (sp.outOfSpace) throw sp.outOfSpace;
      if (sp.error || sp.finalSize !== undefined || this.pos < sp.appended - 1) return;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /**
   * The next bytes (read into `buf` when given, else into a fresh buffer; a memory spool hands
   * out a view of its body), or null at the end. Waits for the writer when caught up. `many`:
   * bytes held in the memory tail come as views of its chunks, up to WRITE_BATCH at once.
   */
  private next(buf?: Buffer): Promise<Buffer | null>;
  private next(buf: Buffer | undefined, many: true): Promise<Buffer | Buffer[] | null>;
  private async next(buf?: Buffer, many = false): Promise<Buffer | Buffer[] | null> {
    const sp = this.spool;
    for (;;) {
      if (this.stopped) throw this.stopped;
      const limit = this.end === undefined ? (sp.finalSize ?? Infinity) : this.end + 1;
      if (this.pos >= limit) return null;
      // the last byte waits for finish(): a body that fails its final check (length, Content-MD5)
      // must never reach a client complete (MIR-22, MIR-23). A memory spool that has every byte
      // holds them all for the check, a moment away: the body goes out in one write, not all but
      // its last byte and then that byte (two socket writes per small fill, issue 19)
      const mem = sp.memoryBody;
      const held = sp.finalSize === undefined && mem !== undefined && sp.appended === mem.length;
      const ready = sp.finalSize !== undefined ? sp.appended : held ? 0 : sp.appended - 1;
      if (this.pos < ready && mem) {
        const n = Math.min(ready - this.pos, limit - this.pos);
        const piece = mem.subarray(this.pos, this.pos + n);
        this.pos += n;
        return piece;
      }
      if (many && this.pos < ready) {
        const views = sp.tailViews(this.pos, Math.min(ready, limit, this.pos + WRITE_BATCH) - this.pos);
        if (views.length > 0) {
          for (const v of views) this.pos += v.length;
          sp.moved();
          return views;
        }
      }
      const fromTail = this.pos < ready ? sp.fromTail(this.pos, Math.min(ready, limit) - this.pos) : undefined;
      if (fromTail) {
        this.pos += fromTail.length;
        sp.moved();
        return fromTail;
      }
      // before the tail: those bytes are in the file
      const inFile = Math.min(ready, sp.written);
      if (this.pos < inFile) {
        const n = Math.min(buf?.length ?? READ_CHUNK, inFile - this.pos, limit - this.pos);
        const fh = sp.fileHandle;
        if (!fh) throw sp.error ?? new Error('spool closed');
        const into = buf ?? Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(into, 0, n, this.pos);
        if (bytesRead === 0) throw new Error('spool file shorter than written');
        this.pos += bytesRead;
        sp.moved();
        return bytesRead === into.length ? into : into.subarray(0, bytesRead);
      }
      if (sp.error) throw sp.error;
      // out of space: bytes neither in the file nor still in memory (dropped once every reader then attached had them)
      if (this.pos < sp.memoryStart && this.pos < ready) throw sp.outOfSpace ?? new Error('spool bytes no longer held');
      // the data ended before the requested range did
      if (sp.finalSize !== undefined) return null;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /**
   * A memory spool's bytes [start, end] in one piece (a view of the body), once the writer has
   * finished and every check passed, for a consumer that takes a small body whole (the embedded
   * store's commit): no stream machinery per fill. Rejects when the fill fails or the reader is
   * destroyed; the reader is done either way. undefined for a file spool, or a reader already read.
   */
  whole(): Promise<Buffer> | undefined {
    const sp = this.spool;
    if (!sp.memoryBody || this.consumed || this.destroyed) return undefined;
    this.consumed = true;
    // a destroy(err) while taken whole rejects the promise; nobody listens for the stream's 'error'
    this.on('error', () => {});
    return this.waitWhole().finally(() => this.destroy());
  }

  private async waitWhole(): Promise<Buffer> {
    const sp = this.spool;
    for (;;) {
      if (this.stopped) throw this.stopped;
      if (sp.error) throw sp.error;
      if (sp.finalSize !== undefined) break;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    // the body is held until this reader detaches (release waits for the last reader)
    const mem = sp.memoryBody;
    if (!mem) throw new Error('spool closed');
    const limit = Math.min(this.end === undefined ? sp.finalSize : this.end + 1, sp.finalSize);
    this.pos = Math.max(this.start, limit);
    return mem.subarray(this.start, this.pos);
  }

  override _read(): void {
    this.consumed = true;
    this.next().then(
      (piece) => this.push(piece),
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // one shared error for the usual case (the reader is done): a new Error per reader, with its
    // stack, was ~2 % of the CPU of a cold mirror of 4 KiB objects
    this.stop(err ?? READER_DESTROYED);
    this.cleanup();
    cb(err);
  }

  /** A reader waiting for the writer must not outlive its consumer. */
  private stop(err: Error): void {
    this.stopped ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /**
   * Writes the bytes into `dst` as they arrive: those still held in memory as views of the
   * spool's chunks, several per write (one socket writev, then wait for 'drain'), those already
   * only in the file through two buffers it reuses (each goes back when the socket has taken it).
   * Ends `dst` and resolves when it has finished. On any failure both are destroyed and it
   * rejects: a client never gets a clean, short body.
   */
  async writeInto(dst: Writable, onBytes: (n: number) => void): Promise<void> {
    if (this.consumed || this.destroyed) throw new Error('writeInto: the reader was already read');
    this.consumed = true;
    // a memory spool hands out views of its body: no buffers to reuse
    const bufferSize = this.spool.memoryBody === undefined ? READ_CHUNK : undefined;
    try {
      await writePooled(
        dst,
        { next: (buf) => this.next(buf, true), abandon: (err) => this.stop(err), ...(bufferSize !== undefined && { bufferSize }) },
        onBytes,
      );
    } finally {
      this.destroy();
    }
  }
}
