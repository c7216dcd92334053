/**
 * @module migrate/verify
 * The engine of `osprey verify`: for every key of a source, is the bucket's object there, of the
 * same size, with the same content? Content is compared by MD5 where both sides give one (a plain
 * ETag, Content-MD5), or by hashing both streams with `deep`. Otherwise the origin's validators
 * recorded with the copy (ETag, Last-Modified) are compared with the origin's HEAD now: a file
 * changed at the origin since it was copied is off parity even at the same size, found without
 * reading it. Where neither side helps, the size alone was checked, and the summary says how many
 * and why.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { backoffMs, describe, FatalError, isTransient, SourceError } from './errors.js';
import { Progress, runPool } from './progress.js';
import type { Source, SourceFacts, SourceItem } from './source.js';
import { compareValidators, md5OfEtag } from './source.js';
import { headKey } from './target-sdk.js';
import type { BucketObject } from './target.js';

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

export type ProblemKind = 'missing' | 'size-mismatch' | 'content-mismatch' | 'origin-changed' | 'source-missing' | 'error';

/** A key off parity (the report's `failures`). */
export interface Problem {
  key: string;
  source: string;
  problem: ProblemKind;
  detail: string;
  bucket?: BucketObject;
  sourceFacts?: SourceFacts;
}

export interface VerifyResult {
  checked: number;
  /** at parity */
  ok: number;
  /** of those, content compared by MD5/ETag or hashing */
  contentCompared: number;
  /** of those, unchanged at the origin by the validators recorded with the copy */
  validated: number;
  /** the rest: by size only */
  sizeOnly: number;
  /** of sizeOnly: the origin sent no validator the copy has */
  noOriginValidator: number;
  /** of sizeOnly: the copy has no validator recorded (copied by an older Osprey, or written by a client) */
  noneRecorded: number;
  missing: number;
  sizeMismatch: number;
  contentMismatch: number;
  /** same size, but the origin's validators changed since the copy */
  originChanged: number;
  /** source-missing and errors */
  errors: number;
  bytes: number;
  problems: Problem[];
  elapsedMs: number;
  stoppedBy?: string;
}

type Verdict =
  | { ok: true; by: 'content' | 'validators' | 'size'; sizeOnlyWhy?: 'none-recorded' | 'none-from-source' }
  | { ok: false; problem: ProblemKind; detail: string; bucket?: BucketObject; sourceFacts?: SourceFacts };

export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const r: VerifyResult = {
    checked: 0,
    ok: 0,
    contentCompared: 0,
    validated: 0,
    sizeOnly: 0,
    noOriginValidator: 0,
    noneRecorded: 0,
    missing: 0,
    sizeMismatch: 0,
    contentMismatch: 0,
    originChanged: 0,
    errors: 0,
    bytes: 0,
    problems: [],
    elapsedMs: 0,
  };
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
    detail: () =>
      `at parity ${r.ok}, missing ${r.missing}, size mismatch ${r.sizeMismatch}, content mismatch ${r.contentMismatch}, changed at the origin ${r.originChanged}, errors ${r.errors}`,
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
      if (err instanceof SourceError && err.notFound)
        return { ok: false, problem: 'source-missing', detail: `in the bucket, but ${err.message}`, bucket: have };
      throw err;
    }
    const ours = md5OfEtag(have.etag);
    const validators = compareValidators(have.origin, facts);
    // the origin's file is not the one copied (unless both sides' MD5s prove the bytes the same)
    if (validators.kind === 'changed' && !o.deep && !(facts.md5 && ours && facts.md5 === ours)) {
      const sizes =
        facts.size !== undefined && facts.size !== have.size ? ` (the bucket has ${have.size} bytes, the source ${facts.size})` : '';
      return { ok: false, problem: 'origin-changed', detail: `${validators.detail}${sizes}`, bucket: have, sourceFacts: facts };
    }
    if (facts.size === undefined && !o.deep && validators.kind !== 'same') {
      // the source tells no length (a chunked origin answer) and no validator vouches for the copy: the bytes must be read
      const counted = await o.source.fetch(item, signal).then((f) => hashStream(f.body));
      facts = { ...facts, size: counted.size, md5: counted.md5 };
    }
    if (facts.size !== undefined && facts.size !== have.size) {
      return {
        ok: false,
        problem: 'size-mismatch',
        detail: `the bucket has ${have.size} bytes, the source ${facts.size}`,
        bucket: have,
        sourceFacts: facts,
      };
    }
    if (o.deep) {
      const [mine, theirs] = await Promise.all([
        o.client
          .send(new GetObjectCommand({ Bucket: o.bucket, Key: item.key }), { abortSignal: signal })
          .then((g) => hashStream(g.Body as Readable)),
        o.source.fetch(item, signal).then((f) => hashStream(f.body)),
      ]);
      if (mine.size !== theirs.size)
        return {
          ok: false,
          problem: 'size-mismatch',
          detail: `the bucket has ${mine.size} bytes, the source sent ${theirs.size}`,
          bucket: have,
          sourceFacts: facts,
        };
      if (mine.md5 !== theirs.md5)
        return {
          ok: false,
          problem: 'content-mismatch',
          detail: `MD5 of the bytes: bucket ${mine.md5}, source ${theirs.md5}`,
          bucket: have,
          sourceFacts: facts,
        };
      return { ok: true, by: 'content' };
    }
    if (facts.md5 && ours) {
      if (facts.md5 !== ours)
        return {
          ok: false,
          problem: 'content-mismatch',
          detail: `MD5: bucket ${ours}, source ${facts.md5}`,
          bucket: have,
          sourceFacts: facts,
        };
      return { ok: true, by: 'content' };
    }
    // identical multipart ETags (same parts) mean the same bytes; different ones prove nothing
    if (facts.etag && facts.etag.replace(/^"|"$/g, '') === have.etag) return { ok: true, by: 'content' };
    if (validators.kind === 'same') return { ok: true, by: 'validators' };
    return { ok: true, by: 'size', sizeOnlyWhy: validators.kind === 'unknown' ? validators.why : 'none-recorded' };
  };

  const one = async (item: SourceItem): Promise<void> => {
    let verdict: Verdict | undefined;
    for (let attempt = 1; verdict === undefined; attempt++) {
      const ac = new AbortController();
      const timer =
        o.objectTimeoutMs > 0
          ? setTimeout(() => ac.abort(new SourceError(`timed out after ${o.objectTimeoutMs} ms`, true)), o.objectTimeoutMs)
          : undefined;
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
      if (verdict.by === 'content') r.contentCompared++;
      else if (verdict.by === 'validators') r.validated++;
      else {
        r.sizeOnly++;
        if (verdict.sizeOnlyWhy === 'none-from-source') r.noOriginValidator++;
        else r.noneRecorded++;
      }
      return;
    }
    if (verdict.problem === 'missing') r.missing++;
    else if (verdict.problem === 'size-mismatch') r.sizeMismatch++;
    else if (verdict.problem === 'content-mismatch') r.contentMismatch++;
    else if (verdict.problem === 'origin-changed') r.originChanged++;
    else r.errors++;
    r.problems.push({
      key: item.key,
      source: item.sourceKey,
      problem: verdict.problem,
      detail: verdict.detail,
      ...(verdict.bucket && { bucket: verdict.bucket }),
      ...(verdict.sourceFacts && { sourceFacts: verdict.sourceFacts }),
    });
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
