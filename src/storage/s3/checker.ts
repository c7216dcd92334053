/**
 * @module storage/s3/checker
 * The checks a driver owes every body (size, Content-MD5, size cap) done while it streams on to
 * the store, with one twist that keeps anything partial from ever becoming visible: the last chunk
 * is held back until the source has ended and every check has passed. A store commits a PUT only
 * once it has all Content-Length bytes, so a body that fails a check (or whose client goes away)
 * never reaches the store whole.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { S3Error } from '../../errors.js';

export interface CheckOptions {
  size?: number;
  contentMd5?: Buffer;
  maxSize?: number;
}

export class BodyChecker extends Transform {
  private readonly md5: Hash = createHash('md5');
  private held: Buffer | undefined;
  received = 0;
  /** hex MD5 of the whole body, once it has ended and passed */
  digest: string | undefined;

  constructor(private readonly opts: CheckOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.received += buf.length;
    if (this.opts.maxSize !== undefined && this.received > this.opts.maxSize)
      return done(new S3Error('EntityTooLarge', { fields: { MaxSizeAllowed: String(this.opts.maxSize) } }));
    if (this.opts.size !== undefined && this.received > this.opts.size) return done(new S3Error('IncompleteBody'));
    this.md5.update(buf);
    const out = this.held;
    this.held = buf;
    if (out && out.length > 0) this.push(out);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.opts.size !== undefined && this.received !== this.opts.size) return done(new S3Error('IncompleteBody'));
    const digest = this.md5.digest();
    if (this.opts.contentMd5 && !digest.equals(this.opts.contentMd5)) return done(new S3Error('BadDigest'));
    this.digest = digest.toString('hex');
    if (this.held && this.held.length > 0) this.push(this.held);
    this.held = undefined;
    done();
  }
}
