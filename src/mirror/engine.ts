/**
 * @module mirror/engine
 * The mirroring engine (spec §3): fetch `MirrorURL + key` from the origin, stream it to every
 * client that asks for the key while it is written to the store, and commit it only when it is
 * complete and checked. One fetch per bucket+key at a time (MIR-41): the first GET leads, later
 * GETs follow the same spool file at their own pace; the fetch belongs to nobody, so a client that
 * goes away never cancels it (MIR-25), and a failure is forgotten at once (the next GET retries).
 * Only a fill that stores nothing (MirrorProxyPass, a relayed 206, a spool out of space) stops
 * when its last client has gone: nobody is left to read what it would fetch.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { ObjectInfo, ObjectMeta, StorageDriver } from '../storage/driver.js';
import { MirrorActivity } from './activity.js';
import { MIRROR_KEPT_HEADERS, mirrorStoredHeaders, mirrorTag, mirrorUserMeta, originValidators } from './meta.js';
import { WalkAbort, walkOrigins } from '../origin/walker.js';
import type { AbortView, OriginFailure, OriginResponse } from '../origin/walker.js';
import { MAX_ORIGIN_REDIRECTS, originRequest } from '../rules/mirror-plan.js';
import type { MirrorPlan, OriginRequest } from '../rules/mirror-plan.js';
import type { RoutingRule } from '../rules/model.js';
import type { FillRecord } from './activity.js';
import { fillAcrossNodes } from './cross-node.js';
import type { StreamOutcome } from './cross-node.js';
import { Md5OffThread, prestartHashing } from './hasher.js';
import { passed } from '../young-gc.js';
import { OriginProbes } from '../origin/probe.js';
import { SingleFlight } from './single-flight.js';
import { Spool } from './spool.js';

/**
 * What the caller asks for: everything already computed from the rule (rules/mirror-plan), made by
 * `fillRequest`. The origin part (urls, probeUrl, headers, followRedirects, switchAllErrors, auth:
 * MIR-15, MIR-37..40) is the plan's `originRequest`, walked by origin/walker.
 */
export interface FillRequest extends Omit<OriginRequest, 'method' | 'maxRedirects'> {
  bucket: string;
  key: string;
  checkMd5: boolean;
  transparentCodes: ReadonlySet<number>;
  /** MirrorProxyPass: serve without storing (MIR-32) */
  proxyOnly: boolean;
  /** user metadata from the origin is kept (MirrorSaveOssMeta, MIR-27) */
  saveMeta: boolean;
  /** extra system headers stored and returned (MirrorReturnHeaders, MIR-31) */
  returnHeaders: Record<string, string>;
  /** MIR-30: system metadata that tags the stored object (MirrorTaggings, rules/tagging.ts) */
  tagging?: Record<string, string>;
  /** MIR-28: the stored object keeps the origin's Last-Modified (MirrorUserLastModified) */
  originLastModified: boolean;
}

/**
 * The fill (and the HEAD, MIR-45) a mirror plan asks for, or why there is none (rules/mirror-plan's
 * `originRequest`: a dot segment, an AuthType Osprey cannot sign with).
 */
export function fillRequest(bucket: string, rule: RoutingRule, plan: MirrorPlan): FillRequest | { refused: string } {
  const origin = originRequest(rule, plan);
  if ('refused' in origin) return origin;
  return {
    bucket,
    key: plan.storeKey,
    urls: origin.urls,
    ...(origin.probeUrl !== undefined && { probeUrl: origin.probeUrl }),
    headers: origin.headers,
    followRedirects: origin.followRedirects,
    switchAllErrors: origin.switchAllErrors,
    ...(origin.auth && { auth: origin.auth }),
    checkMd5: plan.checkMd5,
    transparentCodes: new Set(plan.transparentStatuses),
    proxyOnly: !plan.store,
    saveMeta: plan.saveMeta,
    returnHeaders: plan.returnHeaders,
    tagging: plan.tagging,
    originLastModified: plan.originLastModified,
  };
}

export type FillOutcome =
  | StreamOutcome
  | { kind: 'not-found' }
  | { kind: 'redirect'; location: string }
  | { kind: 'passthrough'; status: number; contentType: string; body: Buffer }
  | { kind: 'failed'; message: string };

export interface MirrorOptions {
  /** where spool files live (same filesystem as the store's temp files) */
  spoolDir: string;
  /** connect + response headers, ms (MIR-18) */
  headersTimeoutMs: number;
  /** idle time between body chunks, ms (MIR-18) */
  idleTimeoutMs: number;
  maxObjectSize: number;
  /** x-oss-tag: 'url' -> "MIRROR <decoded origin URL>", 'bare' -> "MIRROR" (MIR-34) */
  tagForm: 'url' | 'bare';
  /** custom dispatcher (the SSRF guard's connector lives there) */
  dispatcher?: Dispatcher;
  /** fills running at once against one origin host; beyond it: 424 "rejected by QoS" (MIR-44) */
  maxPerOrigin: number;
  /** MIR-38: time between two probes of a MirrorURLProbe, ms (default 10 s) */
  probeIntervalMs?: number;
}

/** MIR-26: origin headers stored with the object and returned (mirror/meta, shared with `osprey import`). */
const KEPT_HEADERS = MIRROR_KEPT_HEADERS;
/** bodies up to this size (with a Content-Length) are spooled in memory */
const MEMORY_SPOOL_MAX = 1024 * 1024;
/** memory that in-memory spools may hold at once; beyond it fills spool to files */
const MEMORY_SPOOL_BUDGET = 32 * 1024 * 1024;

interface Fill {
  record: FillRecord;
  outcome: Promise<FillOutcome>;
  /** stop storing (a PUT or DELETE of the key won, MIR-42) */
  cancelStore(): void;
}

export class MirrorEngine {
  private readonly flights = new SingleFlight<Fill>();
  private readonly perOrigin = new Map<string, number>();
  /** every fill's end, including those a PUT/DELETE made the single-flight map forget */
  private readonly running = new Set<Promise<unknown>>();
  /** bytes held by in-memory spools */
  private memorySpooled = 0;
  /** one per running fill: aborting stops its origin request (shutdown) */
  private readonly aborts = new Set<WalkAbort>();
  private readonly dispatcher: Dispatcher;
  /** fills started and followers joined, for metrics and tests */
  readonly stats = { fills: 0, followers: 0, stored: 0, failed: 0 };
  /** every origin fetch as it happens: the console's feed and the metrics' source */
  readonly activity = new MirrorActivity();
  /** MIR-38: the primary origins' health, by MirrorURLProbe */
  readonly probes: OriginProbes;

  constructor(
    private readonly driver: StorageDriver,
    private readonly opts: MirrorOptions,
  ) {
    this.dispatcher =
      opts.dispatcher ??
      new Agent({ connect: { timeout: opts.headersTimeoutMs }, headersTimeout: opts.headersTimeoutMs, bodyTimeout: opts.idleTimeoutMs });
    const probeIntervalMs = opts.probeIntervalMs ?? 10_000;
    this.probes = new OriginProbes({
      intervalMs: probeIntervalMs,
      timeoutMs: opts.headersTimeoutMs,
      idleMs: Math.max(30 * probeIntervalMs, 60_000),
      dispatcher: this.dispatcher,
    });
    // the first large fill after a start must not wait for the hashing thread to boot (issue 19)
    prestartHashing();
  }

  get inFlight(): number {
    return this.flights.size;
  }

  /** Wait (at most `timeoutMs`) for the fills under way to be stored or to fail: for shutdown. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Stop every fill under way (shutdown, after `drain` ran out of time): origin requests are
   * aborted and nothing is stored; resolves when they have all wound down.
   */
  async abortAll(): Promise<void> {
    for (const ac of this.aborts) ac.abort(new Error('the server is shutting down'));
    await Promise.allSettled([...this.running]);
  }

  /** Start the fill of bucket/key, or join the one in flight. */
  fetch(req: FillRequest): Promise<FillOutcome> {
    const id = SingleFlight.key(req.bucket, req.key);
    const host = originHost(req.urls[0]);
    const running = this.perOrigin.get(host) ?? 0;
    if (!this.flights.get(id) && running >= this.opts.maxPerOrigin) {
      // MIR-44: the QoS answer, with OSS's words
      this.stats.failed++;
      this.activity.rejected(req.bucket, req.key, req.urls[0] ?? '', 'Mirror request is rejected by QoS');
      return Promise.resolve({ kind: 'failed', message: 'Mirror request is rejected by QoS' });
    }
    const { value, leader } = this.flights.join(id, () => {
      this.stats.fills++;
      this.perOrigin.set(host, (this.perOrigin.get(host) ?? 0) + 1);
      let cancelled = false;
      let abortStore: (() => void) | undefined;
      const record = this.activity.start(req.bucket, req.key, req.urls[0] ?? '');
      const ac = new WalkAbort();
      this.aborts.add(ac);
      // issue #7: with a store shared by several nodes, one node fills and the others serve its copy
      const outcome = fillAcrossNodes(this.driver, req, this.opts.spoolDir, ac, (proxyOnly) =>
        this.run(
          proxyOnly ? { ...req, proxyOnly } : req,
          record,
          ac,
          () => cancelled,
          (f) => (abortStore = f),
        ),
      );
      const done = outcome
        .then(async (o) => {
          if (o.kind !== 'stream') {
            this.activity.end(record, o.kind, o.kind === 'failed' ? o.message : undefined);
            return undefined;
          }
          const info = await o.stored;
          if (info) this.activity.end(record, 'stored');
          else if (record.error !== undefined) this.activity.end(record, 'failed', record.error);
          else this.activity.end(record, 'proxied', cancelled ? 'a write of the key won over the fill' : undefined);
          return info;
        })
        .catch((err: unknown) => {
          this.activity.end(record, 'failed', describe(err));
          return undefined;
        })
        .finally(() => {
          const n = (this.perOrigin.get(host) ?? 1) - 1;
          if (n > 0) this.perOrigin.set(host, n);
          else this.perOrigin.delete(host);
          this.running.delete(done);
          this.aborts.delete(ac);
        });
      this.running.add(done);
      return {
        value: {
          record,
          outcome,
          cancelStore: () => {
            cancelled = true;
            abortStore?.();
          },
        },
        done,
      };
    });
    if (!leader) {
      this.stats.followers++;
      this.activity.follower(value.record);
    }
    return value.outcome;
  }

  /**
   * MIR-45: HEAD of a missing key under a rule with MirrorAllowHeadObject: a HEAD to the origin,
   * its status and the MIR-26 headers relayed, nothing stored.
   */
  async head(
    req: Pick<FillRequest, 'urls' | 'headers' | 'auth' | 'probeUrl'>,
  ): Promise<{ status: number; headers: Record<string, string> } | { failed: string }> {
    // the origin's status is relayed as it is: its redirects are not followed, only 5xx and network errors fail over
    const walked = await walkOrigins(
      {
        urls: req.urls,
        ...(req.probeUrl !== undefined && { probeUrl: req.probeUrl }),
        headers: req.headers,
        ...(req.auth && { auth: req.auth }),
        method: 'HEAD',
        followRedirects: false,
        maxRedirects: 0,
        switchAllErrors: false,
      },
      { dispatcher: this.dispatcher, probes: this.probes, usable: (status) => status < 500 },
    );
    // every status below 500 is usable: the walk ends with an answer or a failure
    if (walked.kind !== 'answer') return { failed: failedMessage(walked.kind === 'failed' ? walked.failure : undefined) };
    const res = walked.res;
    await res.body.dump();
    const headers: Record<string, string> = {};
    for (const name of [...KEPT_HEADERS, 'content-length', 'last-modified']) {
      const v = headerOf(res.headers, name);
      if (v !== undefined) headers[name] = v;
    }
    return { status: res.statusCode, headers };
  }

  /** A PUT or DELETE of the key: the fill in flight must not store (MIR-42). */
  forget(bucket: string, key: string): void {
    const id = SingleFlight.key(bucket, key);
    this.flights.get(id)?.cancelStore();
    this.flights.forget(id);
  }

  private async run(
    req: FillRequest,
    record: FillRecord,
    signal: AbortView,
    cancelled: () => boolean,
    onAbortStore: (f: () => void) => void,
  ): Promise<FillOutcome> {
    // the origin part of the request, written out: a spread of the whole FillRequest cost ~5 µs
    // per fill on Node 20 (V8's slow path for copying an object's properties; issue 19)
    const origin: OriginRequest = {
      method: 'GET',
      urls: req.urls,
      headers: req.headers,
      followRedirects: req.followRedirects,
      maxRedirects: MAX_ORIGIN_REDIRECTS,
      switchAllErrors: req.switchAllErrors,
    };
    if (req.probeUrl !== undefined) origin.probeUrl = req.probeUrl;
    if (req.auth) origin.auth = req.auth;
    const walked = await walkOrigins(origin, {
      dispatcher: this.dispatcher,
      signal,
      probes: this.probes,
      // a 3xx is a redirect before it is one of the TransparentMirrorResponseCodes (MIR-16)
      usable: (status) =>
        status === 200 || status === 206 || (req.transparentCodes.has(status) && !(status >= 300 && status < 400 && status !== 304)),
      onResponse: (url, status, ms) => this.activity.originResponse(record, url, status, ms),
    });
    switch (walked.kind) {
      case 'not-found':
        return { kind: 'not-found' };
      case 'redirect':
        return { kind: 'redirect', location: walked.location };
      case 'failed':
        this.stats.failed++;
        return { kind: 'failed', message: failedMessage(walked.failure) };
      case 'answer': {
        const { res, status, url } = walked;
        if (req.transparentCodes.has(status)) {
          const body = await readSmall(res.body, 1024 * 1024);
          return { kind: 'passthrough', status, contentType: headerOf(res.headers, 'content-type') ?? 'application/octet-stream', body };
        }
        try {
          return await this.stream(req, record, url, res, status === 206, cancelled, onAbortStore);
        } catch (err) {
          res.destroy();
          this.stats.failed++;
          return { kind: 'failed', message: failedMessage({ kind: 'network', url, error: err }) };
        }
      }
    }
  }

  private async stream(
    req: FillRequest,
    record: FillRecord,
    url: string,
    res: OriginResponse,
    partial: boolean,
    cancelled: () => boolean,
    onAbortStore: (f: () => void) => void,
  ): Promise<FillOutcome> {
    const lengthHeader = headerOf(res.headers, 'content-length');
    const size = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (size !== undefined && size > this.opts.maxObjectSize) {
      await res.body.dump();
      return {
        kind: 'failed',
        message: `Mirroring failed, please check your mirror configuration: the object is larger than ${this.opts.maxObjectSize} bytes.`,
      };
    }
    const spool = this.fitsInMemory(size) ? this.memorySpool(size) : await this.fileSpool();
    const meta = this.metaFrom(req, url, res.headers);
    // copied key by key: a spread of the two cost a few µs per fill (as the FillRequest's in run)
    const headers: Record<string, string> = {};
    for (const k in meta.headers) headers[k] = meta.headers[k] as string;
    for (const k in meta.system) headers[k] = meta.system[k] as string;
    const contentMd5 = req.checkMd5 ? headerOf(res.headers, 'content-md5') : undefined;
    if (contentMd5) headers.etag = `"${Buffer.from(contentMd5, 'base64').toString('hex')}"`;

    // MIR-21: a 206 from the origin is relayed, never stored; MIR-32: proxy-only rules do not store.
    const storing = !partial && !req.proxyOnly;
    // the embedded store takes a file spool as it is (the spool file becomes the blob): the pump hashes for the ETag
    const adopting = storing && spool.memoryBytes === 0 && this.driver.adoptFile !== undefined;
    // Nothing is stored (MirrorProxyPass, a relayed 206, or the spool found no room for the file the
    // store would adopt): once the last reader has left, the origin request is aborted rather than
    // read to its end for nobody. A fill that stores goes on without readers (MIR-25).
    let abandoned = false;
    const keeps = () => storing && !(adopting && spool.outOfSpace !== undefined);
    const abandon = () => {
      if (abandoned || keeps() || spool.readerCount > 0 || spool.finalSize !== undefined || spool.error !== undefined) return;
      abandoned = true;
      const why = new Error('every client left before the end of the body; nothing is stored');
      spool.fail(why);
      res.destroy(why);
    };
    // a fill stored from a memory spool keeps going whoever leaves: nothing to listen for
    const mayAbandon = !storing || adopting;
    if (mayAbandon) {
      spool.on('idle', abandon);
      spool.on('outOfSpace', abandon);
    }
    // an origin body torn down (shutdown, timeout) ends a writer held back by a slow reader at once
    // (a memory spool never holds the writer back: its pump hears of the failure itself)
    if (spool.memoryBytes === 0) res.body.on('error', (err: Error) => spool.fail(err));
    const pumped =
      spool.memoryBytes > 0
        ? this.pumpSmall(res, spool, size, contentMd5, record)
        : this.pump(res.body, spool, size, contentMd5, record, adopting);
    const originDate = req.originLastModified ? new Date(headerOf(res.headers, 'last-modified') ?? '') : undefined;
    const lastModified = originDate && !Number.isNaN(originDate.getTime()) ? originDate : undefined;
    if (lastModified) headers['last-modified'] = lastModified.toUTCString();
    const store = !storing
      ? Promise.resolve(undefined)
      : adopting
        ? pumped.then((md5) => this.adopt(req, spool, md5, meta, cancelled, lastModified))
        : this.store(req, spool, meta, size, cancelled, onAbortStore, lastModified);
    // settled only when the origin body and the store have both ended: a store that gives up
    // early (a write of the key won: MIR-42) must not release the spool under the readers that
    // are still being fed from it (release drops the bytes held in memory)
    const stored = Promise.allSettled([pumped, store]).then(([p, s]) => {
      if (p.status === 'fulfilled' && s.status === 'fulfilled') {
        if (s.value) this.stats.stored++;
        return s.value;
      }
      // a fill that was never going to be stored and lost its last reader just ends ('proxied')
      if (abandoned && !spool.outOfSpace) return undefined;
      this.stats.failed++;
      // the origin body's failure first: a store that gave up because of it says less
      record.error = describe(spool.outOfSpace ?? (p.status === 'rejected' ? p.reason : s.status === 'rejected' ? s.reason : undefined));
      return undefined;
    });
    void stored.finally(() => {
      if (mayAbandon) {
        spool.off('idle', abandon);
        spool.off('outOfSpace', abandon);
      }
      return spool.release();
    });
    return { kind: 'stream', headers, userMeta: meta.userMeta, size, spool, stored };
  }

  /** Small bodies of known length are spooled in memory (within a total budget), the rest in a file. */
  private fitsInMemory(size: number | undefined): size is number {
    return size !== undefined && size <= MEMORY_SPOOL_MAX && this.memorySpooled + size <= MEMORY_SPOOL_BUDGET;
  }

  private memorySpool(size: number): Spool {
    const spool = Spool.memory(size);
    this.memorySpooled += size;
    spool.once('released', (n: number) => (this.memorySpooled -= n));
    return spool;
  }

  private fileSpool(): Promise<Spool> {
    return Spool.create(path.join(this.opts.spoolDir, `mirror-${randomBytes(12).toString('hex')}`));
  }

  /**
   * `pump` for a body spooled in memory (known length, at most MEMORY_SPOOL_MAX): the origin's
   * chunks go straight from the origin exchange into the spool, with no stream, async iterator or
   * promise per chunk (issue 19); the same checks (MIR-22, MIR-23). A memory spool never makes the
   * origin wait. Resolves with the body's MD5 when the origin gave a Content-MD5 to check.
   */
  private pumpSmall(
    res: OriginResponse,
    spool: Spool,
    size: number | undefined,
    contentMd5: string | undefined,
    record: FillRecord,
  ): Promise<Buffer | undefined> {
    const inline = contentMd5 !== undefined ? createHash('md5') : undefined;
    const max = this.opts.maxObjectSize;
    let received = 0;
    return new Promise<Buffer | undefined>((resolve, reject) => {
      const failed = (err: Error): void => {
        spool.fail(err);
        reject(err);
      };
      res.consume({
        data: (buf) => {
          received += buf.length;
          passed(buf.length);
          checkGrowing(received, max);
          inline?.update(buf);
          this.activity.bytes(record, buf.length);
          // throws the spool's error (a fill given up), or past the length the spool was made for
          void spool.push(buf);
        },
        end: () => {
          let digest: Buffer | undefined;
          try {
            checkLength(received, size);
            digest = inline?.digest();
            checkMd5(contentMd5, digest);
          } catch (err) {
            return failed(err as Error);
          }
          spool.finish().then(() => resolve(digest), failed);
        },
        error: failed,
      });
    });
  }

  /**
   * origin body -> spool, counting and hashing; any mismatch fails the spool (MIR-22, MIR-23).
   * Resolves with the body's MD5 when it was hashed: always when `hash` (the spool file becomes
   * the blob), else only to check the origin's Content-MD5 (the store hashes the body itself).
   */
  private async pump(
    body: Readable,
    spool: Spool,
    size: number | undefined,
    contentMd5: string | undefined,
    record: FillRecord,
    hash: boolean,
  ): Promise<Buffer | undefined> {
    const wanted = hash || contentMd5 !== undefined;
    // a body in a file spool is large (or of unknown size): hashed on the hashing thread (mirror/hasher)
    const offThread = wanted && spool.memoryBytes === 0 ? new Md5OffThread() : undefined;
    const inline = wanted && !offThread ? createHash('md5') : undefined;
    let received = 0;
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        received += buf.length;
        passed(buf.length);
        checkGrowing(received, this.opts.maxObjectSize);
        inline?.update(buf);
        const hashing = offThread?.update(buf);
        this.activity.bytes(record, buf.length);
        // no promise per chunk unless the file or the hashing thread asks the origin to wait
        const spooling = spool.push(buf);
        if (spooling) await spooling;
        if (hashing) await hashing;
      }
      checkLength(received, size);
      const digest = offThread ? await offThread.digest() : inline?.digest();
      checkMd5(contentMd5, digest);
      await spool.finish();
      return digest;
    } catch (err) {
      offThread?.drop();
      spool.fail(err instanceof Error ? err : new Error(String(err)));
      body.destroy();
      throw err;
    }
  }

  private async store(
    req: FillRequest,
    spool: Spool,
    meta: ObjectMeta,
    size: number | undefined,
    cancelled: () => boolean,
    onAbortStore: (f: () => void) => void,
    lastModified?: Date,
  ): Promise<ObjectInfo | undefined> {
    const reader = spool.reader();
    onAbortStore(() => reader.destroy(new Error('a write of the key won over the mirror')));
    if (cancelled()) {
      reader.destroy();
      return undefined;
    }
    // ifNoneMatch: a PUT that lands while the fill runs wins (MIR-42)
    return this.driver.putObject(req.bucket, req.key, reader, {
      meta,
      ...(size !== undefined && { size }),
      ...(lastModified && { lastModified }),
      maxSize: this.opts.maxObjectSize,
      ifNoneMatch: true,
    });
  }

  /** The finished spool file becomes the object (the embedded store: no second copy of the body). */
  private async adopt(
    req: FillRequest,
    spool: Spool,
    md5: Buffer | undefined,
    meta: ObjectMeta,
    cancelled: () => boolean,
    lastModified?: Date,
  ): Promise<ObjectInfo | undefined> {
    const adoptFile = this.driver.adoptFile?.bind(this.driver);
    // out of space, the spool file holds only part of the body: nothing is stored, the fill failed
    if (spool.outOfSpace) throw spool.outOfSpace;
    if (!adoptFile || !md5 || spool.finalSize === undefined)
      throw new Error('the fill cannot be stored: its spool is not a finished, hashed file');
    // a PUT or DELETE of the key during the fill wins (MIR-42): asked again inside the commit
    if (cancelled()) return undefined;
    spool.disown();
    // ifNoneMatch: a PUT that landed while the fill ran wins (MIR-42)
    return adoptFile(req.bucket, req.key, spool.path, {
      meta,
      size: spool.finalSize,
      md5,
      ifNoneMatch: true,
      wanted: () => !cancelled(),
      ...(lastModified && { lastModified }),
    });
  }

  private metaFrom(req: FillRequest, url: string, origin: Record<string, string | string[] | undefined>): ObjectMeta {
    // the mapping lives in mirror/meta so `osprey import` stores exactly the same
    const meta: ObjectMeta = { headers: mirrorStoredHeaders(origin), userMeta: req.saveMeta ? mirrorUserMeta(origin) : {}, system: {} };
    meta.system['x-oss-tag'] = mirrorTag(url, this.opts.tagForm);
    // the origin's ETag/Last-Modified of this copy: `osprey verify` tells a later change from them
    Object.assign(meta.system, originValidators(origin), req.returnHeaders, req.tagging);
    return meta;
  }
}

/** §3.14: a walk that found no usable answer, in the words of the 424 MirrorFailed. */
function failedMessage(failure: OriginFailure | undefined): string {
  const why = !failure
    ? 'the origin could not be reached'
    : failure.kind === 'status'
      ? `the origin answered ${failure.status}`
      : failure.kind === 'network'
        ? describe(failure.error)
        : failure.message;
  return `Mirroring failed, please check your mirror configuration: ${why}.`;
}

function originHost(url: string | undefined): string {
  try {
    return new URL(url ?? '').host;
  } catch {
    return '';
  }
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readSmall(body: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (n > limit) {
      body.destroy();
      break;
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** §3.14: the reason a fetch failed, in words a user can act on. */
function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the origin host name could not be resolved';
    case 'ECONNREFUSED':
      return 'the origin refused the connection';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connecting to the origin timed out';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'the origin did not answer in time';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the origin stopped sending the body';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the origin closed the connection';
    default:
      return e.message ?? String(err);
  }
}

/** MIR-22: a body that grows past the object size limit fails the fill as it arrives */
function checkGrowing(received: number, max: number): void {
  if (received > max) throw new Error(`the object is larger than ${max} bytes`);
}

/** MIR-22: the whole body has the length the origin announced */
function checkLength(received: number, size: number | undefined): void {
  if (size !== undefined && received !== size) throw new Error(`Bytes read is not equal to expected (${received} of ${size})`);
}

/** MIR-23: the body's MD5 is the origin's Content-MD5, when it gave one */
function checkMd5(contentMd5: string | undefined, digest: Buffer | undefined): void {
  if (contentMd5 !== undefined && digest?.toString('base64') !== contentMd5.trim())
    throw new Error('MD5 in header() is not equal to MD5 calculated');
}
