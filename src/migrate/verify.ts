/**
 * @module migrate/verify
 * The engine of `osprey verify`: for every key of a source, is the bucket's object there, of the
 * same size, with the same content? Content is compared by MD5 where both sides give one (a plain
 * ETag, Content-MD5), or by hashing both streams with `deep`; otherwise the size alone was checked,
 * and the summary says how many.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { backoffMs, describe, FatalError, isTransient, SourceError } from './errors.js';
import { Progress, runPool } from './progress.js';
import type { Source, SourceFacts, SourceItem } from './source.js';
import { md5OfEtag } from './source.js';
import { headKey } from './target.js';

export interface VerifyOptions {
  client: S3Client;
  bucket: string;
  source: Source;
  concurrency: number;
  retries: number;
  objectTimeoutMs: number;
  deep: boolean;
  tty: boolean;
  logIntervalMs: number;
}

export type ProblemKind = 'missing' | 'size-mismatch' | 'content-mismatch' | 'source-missing' | 'error';

export interface Problem {
  key: string;
  source: string;
  problem: ProblemKind;
  detail: string;
  bucket?: { size: number; etag: string };
  sourceFacts?: SourceFacts;
}

export interface VerifyResult {
  checked: number;
  /** at parity */
  ok: number;
  /** of those, content compared by MD5/ETag or hashing (the rest by size only) */
  contentCompared: number;
  sizeOnly: number;
  missing: number;
  sizeMismatch: number;
  contentMismatch: number;
  /** source-missing and errors */
  errors: number;
  bytes: number;
  problems: Problem[];
  elapsedMs: number;
  stoppedBy?: string;
}

type Verdict = { ok: true; content: boolean } | { ok: false; problem: ProblemKind; detail: string; bucket?: { size: number; etag: string }; sourceFacts?: SourceFacts };

export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const r: VerifyResult = { checked: 0, ok: 0, contentCompared: 0, sizeOnly: 0, missing: 0, sizeMismatch: 0, contentMismatch: 0, errors: 0, bytes: 0, problems: [], elapsedMs: 0 };
  let listed = 0;
  let listing = true;
  const counts = {
    get done() {
      return r.checked;
    },
    get total() {
      return o.source.total ?? (listing ? undefined : listed);
    },
    get failed() {
      return r.problems.length;
    },
    get bytes() {
      return r.bytes;
    },
    detail: () => `at parity ${r.ok}, missing ${r.missing}, size mismatch ${r.sizeMismatch}, content mismatch ${r.contentMismatch}, errors ${r.errors}`,
  };
  const progress = new Progress('verify', counts, { tty: o.tty, intervalMs: o.logIntervalMs });

  async function* counted(): AsyncIterable<SourceItem> {
    for await (const item of o.source.items()) {
      listed++;
      yield item;
    }
    listing = false;
  }

  const hashStream = async (body: Readable): Promise<{ md5: string; size: number }> => {
    const h = createHash('md5');
    let size = 0;
    for await (const chunk of body) {
      const b = chunk as Buffer;
      size += b.length;
      r.bytes += b.length;
      h.update(b);
    }
    return { md5: h.digest('hex'), size };
  };

  const check = async (item: SourceItem, signal: AbortSignal): Promise<Verdict> => {
    if (item.invalid) return { ok: false, problem: 'error', detail: item.invalid };
    const have = await headKey(o.client, o.bucket, item.key, signal);
    if (!have) return { ok: false, problem: 'missing', detail: 'not in the bucket' };
    let facts: SourceFacts;
    try {
      facts = await o.source.facts(item, signal);
    } catch (err) {
      if (err instanceof SourceError && err.notFound) return { ok: false, problem: 'source-missing', detail: `in the bucket, but ${err.message}`, bucket: have };
      throw err;
    }
    if (facts.size === undefined && !o.deep) {
      // the source tells no length (a chunked origin answer): the bytes must be read to know it
      const counted = await o.source.fetch(item, signal).then((f) => hashStream(f.body));
      facts = { ...facts, size: counted.size, md5: counted.md5 };
    }
    if (facts.size !== undefined && facts.size !== have.size) {
      return { ok: false, problem: 'size-mismatch', detail: `the bucket has ${have.size} bytes, the source ${facts.size}`, bucket: have, sourceFacts: facts };
    }
    if (o.deep) {
      const [ours, theirs] = await Promise.all([
        o.client.send(new GetObjectCommand({ Bucket: o.bucket, Key: item.key }), { abortSignal: signal }).then((g) => hashStream(g.Body as Readable)),
        o.source.fetch(item, signal).then((f) => hashStream(f.body)),
      ]);
      if (ours.size !== theirs.size) return { ok: false, problem: 'size-mismatch', detail: `the bucket has ${ours.size} bytes, the source sent ${theirs.size}`, bucket: have, sourceFacts: facts };
      if (ours.md5 !== theirs.md5) return { ok: false, problem: 'content-mismatch', detail: `MD5 of the bytes: bucket ${ours.md5}, source ${theirs.md5}`, bucket: have, sourceFacts: facts };
      return { ok: true, content: true };
    }
    const ours = md5OfEtag(have.etag);
    if (facts.md5 && ours) {
      if (facts.md5 !== ours) return { ok: false, problem: 'content-mismatch', detail: `MD5: bucket ${ours}, source ${facts.md5}`, bucket: have, sourceFacts: facts };
      return { ok: true, content: true };
    }
    // identical multipart ETags (same parts) mean the same bytes; different ones prove nothing
    if (facts.etag && facts.etag === have.etag) return { ok: true, content: true };
    return { ok: true, content: false };
  };

  const one = async (item: SourceItem): Promise<void> => {
    let verdict: Verdict | undefined;
    for (let attempt = 1; verdict === undefined; attempt++) {
      const ac = new AbortController();
      const timer = o.objectTimeoutMs > 0 ? setTimeout(() => ac.abort(new SourceError(`timed out after ${o.objectTimeoutMs} ms`, true)), o.objectTimeoutMs) : undefined;
      try {
        verdict = await check(item, ac.signal);
      } catch (err) {
        if (err instanceof FatalError) throw err;
        const timedOut = ac.signal.aborted;
        if (attempt <= o.retries && (timedOut || isTransient(err))) {
          await new Promise((res) => setTimeout(res, backoffMs(attempt)));
          continue;
        }
        verdict = { ok: false, problem: 'error', detail: timedOut ? describe(ac.signal.reason) : describe(err) };
      } finally {
        clearTimeout(timer);
      }
    }
    r.checked++;
    if (verdict.ok) {
      r.ok++;
      if (verdict.content) r.contentCompared++;
      else r.sizeOnly++;
      return;
    }
    if (verdict.problem === 'missing') r.missing++;
    else if (verdict.problem === 'size-mismatch') r.sizeMismatch++;
    else if (verdict.problem === 'content-mismatch') r.contentMismatch++;
    else r.errors++;
    r.problems.push({ key: item.key, source: item.sourceKey, problem: verdict.problem, detail: verdict.detail, ...(verdict.bucket && { bucket: verdict.bucket }), ...(verdict.sourceFacts && { sourceFacts: verdict.sourceFacts }) });
  };

  try {
    await runPool(counted(), o.concurrency, one, () => false);
  } catch (err) {
    if (!(err instanceof FatalError)) throw err;
    r.stoppedBy = err.message;
  } finally {
    progress.stop();
  }
  r.elapsedMs = progress.elapsedMs;
  return r;
}
