/**
 * @module storage/fs/commit
 * Receiving a body: stream it into a temp file on the same filesystem, hashing and counting as it
 * goes, check it (size, Content-MD5, size cap), fsync, and rename it into the blob tree. Only the
 * caller's one-transaction commit makes it visible. On any failure the temp file is removed and
 * the body's own error is rethrown unchanged.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform, Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipe } from '../../streams.js';
import { S3Error } from '../../errors.js';
import { Paths } from './paths.js';

/** Bodies up to this size are kept in the database (meta.ts: the bodies table), not in a blob file. */
export const INLINE_MAX = 16 * 1024;

/** Whether an object body of this declared size is kept in the metadata row (and read by receiveSmall). */
export function keptInline(size: number | undefined): size is number {
  return size !== undefined && size <= INLINE_MAX;
}

export type Received = { size: number; md5: Buffer } & ({ id: string; inline?: undefined } | { id?: undefined; inline: Buffer });

/**
 * Keeps the first INLINE_MAX bytes in memory and spills to the temp file only beyond that, so
 * small bodies never touch the blob tree (and small GETs are one SQLite read).
 */
class SpillWriter extends Writable {
  private chunks: Buffer[] = [];
  private buffered = 0;
  file: WriteStream | undefined;
  constructor(
    private readonly tmp: string,
    private readonly limit: number,
  ) {
    super();
  }
  get inline(): Buffer | undefined {
    return this.file || this.limit === 0 ? undefined : Buffer.concat(this.chunks, this.buffered);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.file && this.buffered + chunk.length <= this.limit) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      cb();
      return;
    }
    if (!this.file) {
      this.file = createWriteStream(this.tmp, { flags: 'wx', mode: 0o600 });
      this.file.on('error', (err) => this.destroy(err));
      for (const c of this.chunks) this.file.write(c);
      this.chunks = [];
    }
    this.file.write(chunk, (err) => cb(err));
  }
  override _final(cb: (err?: Error | null) => void): void {
    if (!this.file && this.limit === 0) this.file = createWriteStream(this.tmp, { flags: 'wx', mode: 0o600 }); // an empty part
    if (!this.file) return cb();
    this.file.end((err?: Error | null) => cb(err));
  }
  /**
   * Waits for the temp file to be closed: the caller removes it right after the pipeline fails,
   * and a file still being opened could otherwise be created after that removal.
   */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const file = this.file;
    if (!file || file.closed) {
      cb(err);
      return;
    }
    file.once('close', () => cb(err));
    file.destroy();
  }
}

export interface ReceiveOptions {
  /** keep bodies up to INLINE_MAX in memory (objects), or always write a blob (multipart parts) */
  inline?: boolean;
  size?: number;
  contentMd5?: Buffer;
  maxSize?: number;
}

/**
 * Hashes and counts bytes on their way through. A body over the size cap, or longer than its
 * declared size, fails as soon as the excess arrives rather than after it has all been written.
 */
class Meter extends Transform {
  readonly hash = createHash('md5');
  bytes = 0;
  constructor(private readonly opts: ReceiveOptions) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxSize, size } = this.opts;
    if (maxSize !== undefined && this.bytes > maxSize) {
      cb(tooLarge(maxSize));
      return;
    }
    if (size !== undefined && this.bytes > size) {
      cb(incomplete(this.bytes, size));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

function tooLarge(maxSize: number): S3Error {
  return new S3Error('EntityTooLarge', { fields: { MaxSizeAllowed: String(maxSize) } });
}

function incomplete(got: number, declared: number): S3Error {
  return new S3Error('IncompleteBody', {
    message: `The body was ${got > declared ? 'over ' : ''}${got} bytes; ${declared} were declared.`,
  });
}

/**
 * A finished file on the data dir's filesystem -> blob `id` (not yet referenced): fsync, record it
 * as pending (`beforeRename`), rename it into the blob tree.
 */
export async function place(paths: Paths, file: string, id: string, beforeRename: (id: string) => void): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  const final = paths.blob(id);
  await mkdir(path.dirname(final), { recursive: true });
  beforeRename(id);
  await rename(file, final);
}

/** What every received body is checked against once it has ended: its declared size, its Content-MD5. */
function verify(opts: ReceiveOptions, got: number, md5: Buffer): void {
  if (opts.size !== undefined && got !== opts.size) throw incomplete(got, opts.size);
  if (opts.contentMd5 && !md5.equals(opts.contentMd5)) throw new S3Error('BadDigest');
}

/**
 * A body that will stay in memory (declared size up to INLINE_MAX): read straight into chunks and
 * hashed once, without the Meter/SpillWriter pipeline, whose stream machinery was a large part of
 * a small PUT's and a small mirror fill's CPU. Same checks: declared size, size cap, Content-MD5.
 */
async function receiveSmall(body: Readable, opts: ReceiveOptions, size: number): Promise<Received> {
  const whole = isWholeBody(body) ? body.whole() : undefined;
  if (whole) return receiveWhole(body, whole, opts, size);
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of body) {
      const c = chunk as Buffer;
      got += c.length;
      if (opts.maxSize !== undefined && got > opts.maxSize) throw tooLarge(opts.maxSize);
      if (got > size) throw incomplete(got, size);
      chunks.push(c);
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  const inline = Buffer.concat(chunks, got);
  const md5 = createHash('md5').update(inline).digest();
  verify(opts, got, md5);
  return { inline, size: got, md5 };
}

/**
 * A body that can hand itself over in one piece once it has all arrived and been checked (a mirror
 * fill's memory spool: mirror/spool): a small body is then taken without any stream machinery.
 * `whole()` is undefined when it cannot (the body is then read as a stream).
 */
export interface WholeBody {
  whole(): Promise<Buffer> | undefined;
}

function isWholeBody(body: Readable): body is Readable & WholeBody {
  return typeof (body as Partial<WholeBody>).whole === 'function';
}

/** receiveSmall of a WholeBody: the same checks on the one piece. */
async function receiveWhole(body: Readable, whole: Promise<Buffer>, opts: ReceiveOptions, size: number): Promise<Received> {
  let inline: Buffer;
  try {
    inline = await whole;
  } catch (err) {
    body.destroy();
    throw err;
  }
  const got = inline.length;
  if (opts.maxSize !== undefined && got > opts.maxSize) throw tooLarge(opts.maxSize);
  if (got > size) throw incomplete(got, size);
  const md5 = createHash('md5').update(inline).digest();
  verify(opts, got, md5);
  return { inline, size: got, md5 };
}

/** Body -> blob file (not yet referenced). `beforeRename(id)` records the blob as pending first. */
export async function receive(paths: Paths, body: Readable, opts: ReceiveOptions, beforeRename: (id: string) => void): Promise<Received> {
  if (opts.inline && keptInline(opts.size)) return receiveSmall(body, opts, opts.size);
  const id = Paths.newId();
  const tmp = paths.temp(id);
  const meter = new Meter(opts);
  const sink = new SpillWriter(tmp, opts.inline ? INLINE_MAX : 0);
  try {
    await pipe(body, meter, sink);
    const md5 = meter.hash.digest();
    verify(opts, meter.bytes, md5);
    const inline = sink.inline;
    if (inline) return { inline, size: meter.bytes, md5 };
    await place(paths, tmp, id, beforeRename);
    return { id, size: meter.bytes, md5 };
  } catch (err) {
    body.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
