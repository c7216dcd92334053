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
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { MIRROR_SOURCE_HEADER, originValidators } from '../mirror/meta.js';
import { backoffMs, describe, FatalError, isTransient, s3Code, SourceError } from './errors.js';
import type { Journal } from './journal.js';
import { Progress, runPool } from './progress.js';
import type { Fetched, Source, SourceItem } from './source.js';
import { compareValidators, md5OfEtag } from './source.js';
import { listKeys } from './target.js';
import type { BucketObject, TargetClient } from './target.js';

export interface ImportOptions {
  /** multipart uploads' client (the AWS SDK: made, and loaded, when first needed) */
  sdk(): Promise<S3Client>;
  /** the listing, HEAD and single PUTs, the requests of every object */
  target: TargetClient;
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

type Outcome =
  | { kind: 'copied' | 'updated'; bytes: number; etag?: string }
  | { kind: 'skipped'; why: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'would-copy' };

/** Counts bytes and, at the end, checks the length and MD5 the source vouched for (the multipart path's only check). */
class Meter extends Transform {
  bytes = 0;
  private readonly md5: Hash | undefined;
  constructor(
    private readonly expectSize: number | undefined,
    private readonly expectMd5: string | undefined,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
    this.md5 = expectMd5 ? createHash('md5') : undefined;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    this.md5?.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expectSize !== undefined && this.bytes !== this.expectSize)
      return cb(new SourceError(`the source sent ${this.bytes} of ${this.expectSize} bytes`, true));
    if (this.md5 && this.md5.digest('hex') !== this.expectMd5)
      return cb(new SourceError('the bytes received do not match the MD5 the source gave', true));
    cb();
  }
}

/** An item and the existence check started for it ahead of its copy (none: it will not be tried). */
interface Ahead {
  item: SourceItem;
  /** settled already when the listing answered it (no promise, no wait) */
  head?: Settled<BucketObject | undefined> | Promise<Settled<BucketObject | undefined>>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; err: unknown };

/** A promise that never rejects (started ahead, it may be awaited late or never). */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
}

/** `p`, or the signal's reason once it is aborted (an attempt's timeout also bounds a check started ahead). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The existence check's answer for a key the listing did not have. */
const ABSENT: Settled<BucketObject | undefined> = { ok: true, value: undefined };

/** A body up to this size is read whole before its PUT (one write, no stream plumbing per object). */
const SMALL_BODY = 256 * 1024;

/** The origin marker and the origin's validators of this copy (a later --check or verify compares them); Expires as the origin wrote it. */
function markerHeaders(f: Fetched): Record<string, string> {
  return {
    [MIRROR_SOURCE_HEADER]: f.originUrl,
    ...originValidators({ etag: f.etag, 'last-modified': f.lastModified }),
    ...(f.headers.expires !== undefined && { expires: f.headers.expires }),
  };
}

/**
 * All of a body that must be `size` bytes long; a SourceError (transient) when it is not, or the
 * body's own error. Read by its events (an async iterator per small object cost more than the read).
 */
function readWhole(body: Readable, size: number, signal: AbortSignal | undefined): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let finished = false;
    const done = (err?: unknown) => {
      if (finished) return;
      finished = true;
      // the 'error' listener stays (a no-op now): an error emitted later must not be unhandled
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      if (err === undefined && signal?.aborted) err = signal.reason;
      if (err === undefined && n !== size)
        err = new SourceError(`the source sent ${n > size ? 'more than' : String(n) + ' of'} ${size} bytes`, true);
      if (err !== undefined) {
        body.destroy();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n));
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > size) done();
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    // destroyed before its end without an error: what an async iterator over it throws then
    const onClose = () =>
      done(signal?.aborted ? signal.reason : Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', done);
    body.on('close', onClose);
  });
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
    detail: () =>
      o.dryRun
        ? `would copy ${r.wouldCopy}, present ${r.skipped}`
        : `copied ${r.copied}, ${o.update ? `updated ${r.updated}, ` : ''}skipped ${r.skipped}, resumed ${r.resumed}, failed ${r.failed}`,
  };
  const progress = new Progress(o.dryRun ? 'import (dry run)' : 'import', counts, { tty: o.tty, intervalMs: o.logIntervalMs });
  let fatal: FatalError | undefined;

  /** stops the existence checks still running ahead when the run ends */
  const ahead = new AbortController();
  const willTry = (item: SourceItem) => !item.invalid && (o.check || !o.journal?.done.has(item.key));
  const listed0 = await presentByListing();

  /**
   * The source's items, each with its existence check (HEAD in the bucket) already started: the
   * checks run up to `concurrency` items ahead of the copies, so a copy does not wait a round trip
   * for its HEAD first (issue 19). An error of the source's listing comes after the items read
   * before it.
   */
  async function* counted(): AsyncIterable<Ahead> {
    const it = o.source.items()[Symbol.asyncIterator]();
    const queue: Ahead[] = [];
    let end = false;
    let error: { err: unknown } | undefined;
    for (;;) {
      while (!end && queue.length < o.concurrency) {
        let next: IteratorResult<SourceItem>;
        try {
          next = await it.next();
        } catch (err) {
          error = { err };
          end = true;
          break;
        }
        if (next.done) {
          end = true;
          listing = false;
          break;
        }
        listed++;
        const item = next.value;
        queue.push({ item, ...(willTry(item) && { head: existenceCheck(item.key) }) });
      }
      const first = queue.shift();
      if (first) yield first;
      else if (error) throw error.err;
      else return;
    }
  }

  /**
   * Whether the key is in the bucket: known from the listing when there was one (a key it did not
   * have is absent; one it had needs its HEAD only for a --check, which compares what the HEAD
   * tells), else a HEAD.
   */
  function existenceCheck(key: string): Settled<BucketObject | undefined> | Promise<Settled<BucketObject | undefined>> {
    if (listed0) {
      const have = listed0.get(key);
      if (have === undefined) return ABSENT;
      // without --check an object present is skipped whatever it is: its size and ETag suffice
      if (!o.check) return { ok: true, value: { ...have, fromOrigin: false, origin: {} } };
    }
    return settle(o.target.head(o.bucket, key, ahead.signal));
  }

  /**
   * For a key list (its length known up front): the bucket's keys under the list's common prefix,
   * when a listing of at most 2 pages per 1,000 keys to try has them all. One page of 1,000 keys
   * costs the server about what a few HEADs do, so in a new or sparse bucket this replaces a HEAD
   * per key; in a bucket that holds many more keys than the list, the few pages tried are all it
   * costs. A key written after the listing is found by the create-only PUT (412), as before.
   */
  async function presentByListing(): Promise<Map<string, { size: number; etag: string }> | undefined> {
    if (o.source.total === undefined || o.source.total === 0) return undefined;
    let prefix: string | undefined;
    let n = 0;
    for await (const item of o.source.items()) {
      if (!willTry(item)) continue;
      n++;
      if (prefix === undefined) prefix = item.key;
      else if (!item.key.startsWith(prefix)) {
        let i = 0;
        while (i < prefix.length && i < item.key.length && prefix.charCodeAt(i) === item.key.charCodeAt(i)) i++;
        prefix = prefix.slice(0, i);
      }
    }
    if (prefix === undefined) return undefined;
    // a prefix that ends inside a surrogate pair is not a string a server can take
    if (/[\ud800-\udbff]$/.test(prefix)) prefix = prefix.slice(0, -1);
    try {
      return await listKeys(o.target, o.bucket, prefix, 2 * Math.ceil(n / 1000), AbortSignal.timeout(Math.max(60_000, n * 10)));
    } catch (err) {
      if (err instanceof FatalError) throw err;
      // the HEADs decide then
      return undefined;
    }
  }

  const one = async ({ item, head }: Ahead): Promise<void> => {
    try {
      // a check re-examines every key: that is what it is run for
      if (!o.check && o.journal?.done.has(item.key)) {
        r.resumed++;
        return;
      }
      if (item.invalid) return fail(item, item.invalid, 0);
      for (let attempt = 1; ; attempt++) {
        // no time limit: no signal (a controller and its listeners per request were ~2 % of the CPU)
        const ac = o.objectTimeoutMs > 0 ? new AbortController() : undefined;
        const timer = ac
          ? setTimeout(() => ac.abort(new SourceError(`timed out after ${o.objectTimeoutMs} ms`, true)), o.objectTimeoutMs)
          : undefined;
        try {
          // the check started ahead serves the first attempt; a retry checks again
          const out = await attemptOne(item, ac?.signal, attempt === 1 ? head : undefined);
          record(item, out, attempt);
          return;
        } catch (err) {
          if (err instanceof FatalError) throw err;
          const timedOut = ac?.signal.aborted === true;
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

  const attemptOne = async (
    item: SourceItem,
    signal: AbortSignal | undefined,
    early?: Settled<BucketObject | undefined> | Promise<Settled<BucketObject | undefined>>,
  ): Promise<Outcome> => {
    if (o.journal?.leftoverUploads.has(item.key)) await abortLeftovers(item.key);
    const checked = early instanceof Promise ? await untilAborted(early, signal) : early;
    const existing = checked?.ok ? checked.value : await o.target.head(o.bucket, item.key, signal);
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
        const now = await o.target.head(o.bucket, item.key, signal);
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
  const compareExisting = async (item: SourceItem, have: BucketObject, why: string, signal: AbortSignal | undefined): Promise<Outcome> => {
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
    if (facts.size === undefined)
      return { kind: 'skipped', why: `${why}; the source tells neither size, MD5 nor a validator the copy has, not compared` };
    return {
      kind: 'skipped',
      why: `${why}, same size (${validators.kind === 'unknown' && validators.why === 'none-from-source' ? 'the origin sends no validator' : 'no validator recorded with the copy'})`,
    };
  };

  /** A copy that differs from its source: a failure, or with `update` copied again (atomically: a plain PUT replaces the object in one step). */
  const replace = async (item: SourceItem, have: BucketObject, why: string, signal: AbortSignal | undefined): Promise<Outcome> => {
    if (!o.update) return { kind: 'failed', reason: `${why}; not overwritten (--update copies it again)` };
    if (!have.fromOrigin)
      return {
        kind: 'failed',
        reason: `${why}, and it was not written by an import or a mirror fill (no x-oss-tag: a client wrote it); not overwritten`,
      };
    if (o.dryRun) {
      o.print(`update ${item.key}`);
      return { kind: 'would-copy' };
    }
    const { etag, bytes } = await copy(item, signal, true);
    return { kind: 'updated', bytes, ...(etag && { etag }) };
  };

  /** The source's bytes for `item` put into the bucket; on any failure the source body is let go. */
  const copy = async (item: SourceItem, signal: AbortSignal | undefined, overwrite: boolean) => {
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
    const [client, { AbortMultipartUploadCommand }] = await Promise.all([o.sdk(), import('@aws-sdk/client-s3')]);
    for (const id of ids)
      await client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: key, UploadId: id })).catch(() => undefined);
  };

  /** `overwrite`: a plain PUT (update); else create-only. Either way the object appears in one step or not at all. */
  const put = async (
    item: SourceItem,
    f: Fetched,
    signal: AbortSignal | undefined,
    overwrite: boolean,
  ): Promise<{ etag?: string; bytes: number }> => {
    const large = f.size === undefined || f.size > o.multipartThreshold;
    if (!large) return putOne(item, f, f.size!, signal, overwrite);
    // multipart: the meter checks the length and MD5 at the end of the stream
    const meter = new Meter(f.size, f.md5, (n) => (transferred += n));
    pipeline(f.body, meter, () => {});
    const h = f.headers;
    const params: PutObjectCommandInput = {
      Bucket: o.bucket,
      Key: item.key,
      Body: meter,
      ...(!overwrite && { IfNoneMatch: '*' }),
      ...(h['content-type'] !== undefined && { ContentType: h['content-type'] }),
      ...(h['content-encoding'] !== undefined && { ContentEncoding: h['content-encoding'] }),
      ...(h['content-disposition'] !== undefined && { ContentDisposition: h['content-disposition'] }),
      ...(h['cache-control'] !== undefined && { CacheControl: h['cache-control'] }),
      ...(h['content-language'] !== undefined && { ContentLanguage: h['content-language'] }),
      ...(Object.keys(f.userMeta).length > 0 && { Metadata: f.userMeta }),
    };
    // the SDK and lib-storage load only when an object needs them (~0.5 s of CPU at start-up otherwise)
    const [sdk, { withRequestHooks }, { Upload }] = await Promise.all([o.sdk(), import('./target-sdk.js'), import('@aws-sdk/lib-storage')]);
    const client = withRequestHooks(sdk, markerHeaders(f), (id) => o.journal?.upload(item.key, id));
    const upload = new Upload({ client, params, partSize: o.partSize, queueSize: 2, leavePartsOnError: false });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await upload.done();
      return { ...(out.ETag && { etag: out.ETag.replace(/^"|"$/g, '') }), bytes: meter.bytes };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  /**
   * One PUT of an object of known size, with what a mirror fill stores (the origin's headers, user
   * metadata when kept, the origin marker and validators). A small body is read whole first and
   * sent in one write; a larger one streams through the meter. Osprey checks the length, and
   * Content-MD5 when the source vouched for one.
   */
  const putOne = async (
    item: SourceItem,
    f: Fetched,
    size: number,
    signal: AbortSignal | undefined,
    overwrite: boolean,
  ): Promise<{ etag?: string; bytes: number }> => {
    const h = f.headers;
    const headers: Record<string, string> = markerHeaders(f);
    for (const name of ['content-type', 'content-encoding', 'content-disposition', 'cache-control', 'content-language'] as const) {
      if (h[name] !== undefined) headers[name] = h[name];
    }
    for (const [name, value] of Object.entries(f.userMeta)) headers[`x-amz-meta-${name}`] = value;
    if (!overwrite) headers['if-none-match'] = '*';
    if (f.md5) headers['content-md5'] = Buffer.from(f.md5, 'hex').toString('base64');
    if (size <= SMALL_BODY) {
      const body = await readWhole(f.body, size, signal);
      transferred += body.length;
      const out = await o.target.put(o.bucket, item.key, body, size, headers, signal);
      return { ...out, bytes: body.length };
    }
    const meter = new Meter(size, undefined, (n) => (transferred += n));
    pipeline(f.body, meter, () => {});
    const out = await o.target.put(o.bucket, item.key, meter, size, headers, signal);
    return { ...out, bytes: meter.bytes };
  };

  try {
    await runPool(counted(), o.concurrency, one, () => fatal !== undefined);
  } catch (err) {
    if (!(err instanceof FatalError)) throw err;
    fatal = err;
    r.stoppedBy = err.message;
  } finally {
    ahead.abort();
    progress.stop();
  }
  r.elapsedMs = progress.elapsedMs;
  return r;
}
