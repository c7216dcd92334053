/**
 * @module storage/fs/commit
 * Receiving a body: stream it into a temp file on the same filesystem, hashing and counting as it
 * goes, check it (size, Content-MD5, size cap), fsync, and rename it into the blob tree. Only the
 * caller's one-transaction commit makes it visible. On any failure the temp file is removed and
 * the body's own error is rethrown unchanged.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error } from '../../errors.js';
import { Paths } from './paths.js';

export interface Received {
  id: string;
  size: number;
  md5: Buffer;
}

export interface ReceiveOptions {
  size?: number;
  contentMd5?: Buffer;
  maxSize?: number;
}

/** Hashes and counts bytes on their way through; enforces the size cap as soon as it is passed. */
class Meter extends Transform {
  readonly hash = createHash('md5');
  bytes = 0;
  constructor(private readonly maxSize: number | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.maxSize !== undefined && this.bytes > this.maxSize) {
      cb(new S3Error('EntityTooLarge', { fields: { MaxSizeAllowed: String(this.maxSize) } }));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** Body -> blob file (not yet referenced). `beforeRename(id)` records the blob as pending first. */
export async function receive(paths: Paths, body: Readable, opts: ReceiveOptions, beforeRename: (id: string) => void): Promise<Received> {
  const id = Paths.newId();
  const tmp = paths.temp(id);
  const meter = new Meter(opts.maxSize);
  try {
    await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    if (opts.size !== undefined && meter.bytes !== opts.size) {
      throw new S3Error('IncompleteBody', { message: `The body was ${meter.bytes} bytes; ${opts.size} were declared.` });
    }
    const md5 = meter.hash.digest();
    if (opts.contentMd5 && !md5.equals(opts.contentMd5)) throw new S3Error('BadDigest');
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const final = paths.blob(id);
    await mkdir(path.dirname(final), { recursive: true });
    beforeRename(id);
    await rename(tmp, final);
    return { id, size: meter.bytes, md5 };
  } catch (err) {
    body.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
