/**
 * @module migrate/import
 * The engine of `osprey import`: for every key of a source, unless the journal says it is done,
 * HEAD it in the bucket (present: skipped, or with `check` re-checked by size, MD5 and the origin's
 * validators recorded with the copy), else stream it from the source into a create-only PUT
 * (`If-None-Match: *`) carrying the origin marker and the origin's ETag/Last-Modified, so the
 * object is what a mirror fill of the key would have stored and nothing anyone wrote meanwhile is
 * overwritten. With `update`, a copy whose source changed since (and that no client wrote) is
 * copied again by a plain PUT, which replaces the object in one step. Bounded concurrency, retries
 * with backoff on transient errors, a per-attempt timeout, every outcome journaled as it happens.
 */
import { AbortMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { MIRROR_SOURCE_HEADER, originValidators } from '../mirror/meta.js';
import { backoffMs, describe, FatalError, isTransient, s3Code, SourceError } from './errors.js';
import type { Journal } from './journal.js';
import { Progress, runPool } from './progress.js';
import type { Fetched, Source, SourceItem } from './source.js';
import { compareValidators, md5OfEtag } from './source.js';
import { headKey, withRequestHooks } from './target.js';
import type { BucketObject } from './target.js';

export interface ImportOptions {
  client: S3Client;
  bucket: string;
  source: Source;
  concurrency: number;
  /** extra attempts after the first, for transient errors */
  retries: number;
  /** per attempt at one object, ms; 0: none */
  objectTimeoutMs: number;
  /** re-check objects already in the bucket by size, MD5 and the recorded validators (the journal's done keys too) */
  check: boolean;
  /** with check: copy again what changed at the source since it was copied (never what a client wrote) */
  update: boolean;
  dryRun: boolean;
  /** objects of unknown size or larger than this go through a multipart upload */
  multipartThreshold: number;
  partSize: number;
  /** the resume journal (opened read-only for a dry run: done keys count as resumed, nothing is written) */
  journal?: Journal;
  tty: boolean;
  logIntervalMs: number;
  /** one line of standard output (dry-run listing) */
  print(line: string): void;
}

export interface Failure {
  key: string;
  source: string;
  reason: string;
  attempts: number;
}

export interface ImportResult {
  copied: number;
  /** copied again (update): the source had changed */
  updated: number;
  skipped: number;
  /** done in an earlier run, per the journal */
  resumed: number;
  failed: number;
  /** dry run: objects that would be copied */
  wouldCopy: number;
  /** bytes of the objects copied */
  bytes: number;
  failures: Failure[];
  elapsedMs: number;
  /** set when the run stopped early (fatal error) */
  stoppedBy?: string;
}

type Outcome = { kind: 'copied' | 'updated'; bytes: number; etag?: string } | { kind: 'skipped'; why: string } | { kind: 'failed'; reason: string } | { kind: 'would-copy' };

/** Counts bytes and, at the end, checks the length and MD5 the source vouched for (the multipart path's only check). */
class Meter extends Transform {
  bytes = 0;
  private readonly md5 = createHash('md5');
  constructor(
    private readonly expectSize: number | undefined,
    private readonly expectMd5: string | undefined,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    if (this.expectMd5) this.md5.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expectSize !== undefined && this.bytes !== this.expectSize) return cb(new SourceError(`the source sent ${this.bytes} of ${this.expectSize} bytes`, true));
    if (this.expectMd5 && this.md5.digest('hex') !== this.expectMd5) return cb(new SourceError('the bytes received do not match the MD5 the source gave', true));
    cb();
  }
}

export async function runImport(o: ImportOptions): Promise<ImportResult> {
  const r: ImportResult = { copied: 0, updated: 0, skipped: 0, resumed: 0, failed: 0, wouldCopy: 0, bytes: 0, failures: [], elapsedMs: 0 };
  let done = 0;
  let listed = 0;
  let listing = true;
  /** bytes read from the source, failed attempts included (the progress rate) */
  let transferred = 0;
  const counts = {
    get done() {
      return done;
    },
    get total() {
      return o.source.total ?? (listing ? undefined : listed);
    },
    get failed() {
      return r.failed;
    },
    get bytes() {
      return transferred;
    },
    detail: () => (o.dryRun ? `would copy ${r.wouldCopy}, present ${r.skipped}` : `copied ${r.copied}, ${o.update ? `updated ${r.updated}, ` : ''}skipped ${r.skipped}, resumed ${r.resumed}, failed ${r.failed}`),
  };
  const progress = new Progress(o.dryRun ? 'import (dry run)' : 'import', counts, { tty: o.tty, intervalMs: o.logIntervalMs });
  let fatal: FatalError | undefined;

  async function* counted(): AsyncIterable<SourceItem> {
    for await (const item of o.source.items()) {
      listed++;
      yield item;
    }
    listing = false;
  }

  const one = async (item: SourceItem): Promise<void> => {
    try {
      // a check re-examines every key: that is what it is run for
      if (!o.check && o.journal?.done.has(item.key)) {
        r.resumed++;
        return;
      }
      if (item.invalid) return fail(item, item.invalid, 0);
      for (let attempt = 1; ; attempt++) {
        const ac = new AbortController();
        const timer = o.objectTimeoutMs > 0 ? setTimeout(() => ac.abort(new SourceError(`timed out after ${o.objectTimeoutMs} ms`, true)), o.objectTimeoutMs) : undefined;
        try {
          const out = await attemptOne(item, ac.signal);
          record(item, out, attempt);
          return;
        } catch (err) {
          if (err instanceof FatalError) throw err;
          const timedOut = ac.signal.aborted;
          const reason = timedOut ? describe(ac.signal.reason) : describe(err);
          if (attempt <= o.retries && (timedOut || isTransient(err))) {
            await new Promise((res) => setTimeout(res, backoffMs(attempt)));
            continue;
          }
          return fail(item, reason, attempt);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      done++;
    }
  };

  const fail = (item: SourceItem, reason: string, attempts: number) => {
    r.failed++;
    r.failures.push({ key: item.key, source: item.sourceKey, reason, attempts });
    o.journal?.failed(item.key, reason);
  };

  const record = (item: SourceItem, out: Outcome, attempts: number) => {
    switch (out.kind) {
      case 'copied':
      case 'updated':
        if (out.kind === 'copied') r.copied++;
        else r.updated++;
        r.bytes += out.bytes;
        o.journal?.copied(item.key, out.bytes, out.etag);
        return;
      case 'skipped':
        r.skipped++;
        o.journal?.skipped(item.key, out.why);
        return;
      case 'would-copy':
        r.wouldCopy++;
        return;
      case 'failed':
        fail(item, out.reason, attempts);
    }
  };

  const attemptOne = async (item: SourceItem, signal: AbortSignal): Promise<Outcome> => {
    await abortLeftovers(item.key);
    const existing = await headKey(o.client, o.bucket, item.key, signal);
    if (existing) return compareExisting(item, existing, 'already in the bucket', signal);
    if (o.dryRun) {
      o.print(`copy ${item.key}`);
      return { kind: 'would-copy' };
    }
    try {
      const { etag, bytes } = await copy(item, signal, false);
      return { kind: 'copied', bytes, ...(etag && { etag }) };
    } catch (err) {
      // If-None-Match: * lost: a mirror fill or a client wrote the key meanwhile; theirs stays
      if (s3Code(err)?.status === 412) {
        const now = await headKey(o.client, o.bucket, item.key, signal);
        if (now) return compareExisting(item, now, 'written meanwhile by someone else', signal);
      }
      throw err;
    }
  };

  /**
   * Present in the bucket: skipped, or with `check` compared by size, MD5 and the validators
   * recorded with the copy; a difference is a failure, or with `update` a new copy of the source
   * (only over a copy that an import or a mirror fill wrote: a client's object stays).
   */
  const compareExisting = async (item: SourceItem, have: BucketObject, why: string, signal: AbortSignal): Promise<Outcome> => {
    if (!o.check) return { kind: 'skipped', why };
    let facts;
    try {
      facts = await o.source.facts(item, signal);
    } catch (err) {
      if (err instanceof SourceError && err.notFound) return { kind: 'skipped', why: `${why}; the source has no such key` };
      throw err;
    }
    const ours = md5OfEtag(have.etag);
    const validators = compareValidators(have.origin, facts);
    let differs: string | undefined;
    if (validators.kind === 'changed' && !(facts.md5 && ours && facts.md5 === ours)) {
      differs = `, but changed at the origin since it was copied (${validators.detail}${facts.size !== undefined && facts.size !== have.size ? `; ${have.size} bytes, now ${facts.size}` : ''})`;
    } else if (facts.size !== undefined && facts.size !== have.size) {
      differs = ` with a different size (${have.size} bytes; the source has ${facts.size})`;
    } else if (facts.md5 && ours && facts.md5 !== ours) {
      differs = ` with different content (MD5 ${ours}; the source has ${facts.md5})`;
    }
    if (differs !== undefined) return replace(item, have, `${why}${differs}`, signal);
    if (facts.md5 && ours) return { kind: 'skipped', why: `${why}, same ${facts.size !== undefined ? 'size and MD5' : 'MD5'}` };
    if (validators.kind === 'same') return { kind: 'skipped', why: `${why}, unchanged at the origin (same ${validators.by})` };
    if (facts.etag && facts.etag.replace(/^"|"$/g, '') === have.etag) return { kind: 'skipped', why: `${why}, same size and ETag` };
    if (facts.size === undefined) return { kind: 'skipped', why: `${why}; the source tells neither size, MD5 nor a validator the copy has, not compared` };
    return { kind: 'skipped', why: `${why}, same size (${validators.kind === 'unknown' && validators.why === 'none-from-source' ? 'the origin sends no validator' : 'no validator recorded with the copy'})` };
  };

  /** A copy that differs from its source: a failure, or with `update` copied again (atomically: a plain PUT replaces the object in one step). */
  const replace = async (item: SourceItem, have: BucketObject, why: string, signal: AbortSignal): Promise<Outcome> => {
    if (!o.update) return { kind: 'failed', reason: `${why}; not overwritten (--update copies it again)` };
    if (!have.fromOrigin) return { kind: 'failed', reason: `${why}, and it was not written by an import or a mirror fill (no x-oss-tag: a client wrote it); not overwritten` };
    if (o.dryRun) {
      o.print(`update ${item.key}`);
      return { kind: 'would-copy' };
    }
    const { etag, bytes } = await copy(item, signal, true);
    return { kind: 'updated', bytes, ...(etag && { etag }) };
  };

  /** The source's bytes for `item` put into the bucket; on any failure the source body is let go. */
  const copy = async (item: SourceItem, signal: AbortSignal, overwrite: boolean) => {
    const f = await o.source.fetch(item, signal);
    try {
      return await put(item, f, signal, overwrite);
    } catch (err) {
      f.body.destroy();
      throw err;
    }
  };

  /** The leftover multipart uploads of a killed run, for this key: aborted before trying again. */
  const abortLeftovers = async (key: string) => {
    const ids = o.journal?.leftoverUploads.get(key);
    if (!ids || o.dryRun) return;
    o.journal?.leftoverUploads.delete(key);
    for (const id of ids) await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: key, UploadId: id })).catch(() => undefined);
  };

  /** `overwrite`: a plain PUT (update); else create-only. Either way the object appears in one step or not at all. */
  const put = async (item: SourceItem, f: Fetched, signal: AbortSignal, overwrite: boolean): Promise<{ etag?: string; bytes: number }> => {
    const large = f.size === undefined || f.size > o.multipartThreshold;
    // PutObject: Osprey itself checks Content-MD5; multipart: the meter checks at the end of the stream
    const meter = new Meter(f.size, large ? f.md5 : undefined, (n) => (transferred += n));
    pipeline(f.body, meter, () => {});
    const h = f.headers;
    const params: PutObjectCommandInput = {
      Bucket: o.bucket, Key: item.key, Body: meter, ...(!overwrite && { IfNoneMatch: '*' }),
      ...(h['content-type'] !== undefined && { ContentType: h['content-type'] }),
      ...(h['content-encoding'] !== undefined && { ContentEncoding: h['content-encoding'] }),
      ...(h['content-disposition'] !== undefined && { ContentDisposition: h['content-disposition'] }),
      ...(h['cache-control'] !== undefined && { CacheControl: h['cache-control'] }),
      ...(h['content-language'] !== undefined && { ContentLanguage: h['content-language'] }),
      ...(Object.keys(f.userMeta).length > 0 && { Metadata: f.userMeta }),
    };
    // Expires goes as the origin wrote it (the SDK would reformat a Date)
    // the origin's validators of this copy go with it (a later --check or verify compares them)
    const headers: Record<string, string> = {
      [MIRROR_SOURCE_HEADER]: f.originUrl, ...originValidators({ etag: f.etag, 'last-modified': f.lastModified }), ...(h.expires !== undefined && { expires: h.expires }),
    };
    if (!large) {
      const client = withRequestHooks(o.client, headers);
      const out = await client.send(new PutObjectCommand({ ...params, ContentLength: f.size, ...(f.md5 && { ContentMD5: Buffer.from(f.md5, 'hex').toString('base64') }) }), { abortSignal: signal });
      return { ...(out.ETag && { etag: out.ETag.replace(/^"|"$/g, '') }), bytes: meter.bytes };
    }
    const client = withRequestHooks(o.client, headers, (id) => o.journal?.upload(item.key, id));
    const upload = new Upload({ client, params, partSize: o.partSize, queueSize: 2, leavePartsOnError: false });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await upload.done();
      return { ...(out.ETag && { etag: out.ETag.replace(/^"|"$/g, '') }), bytes: meter.bytes };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  try {
    await runPool(counted(), o.concurrency, one, () => fatal !== undefined);
  } catch (err) {
    if (!(err instanceof FatalError)) throw err;
    fatal = err;
    r.stoppedBy = err.message;
  } finally {
    progress.stop();
  }
  r.elapsedMs = progress.elapsedMs;
  return r;
}
