/**
 * @module service/read
 * What a GET or HEAD of an object (or, in website mode, of the bucket root) means: the stored
 * object, a redirect, a mirror fill streamed from its spool, an index or error document, or an
 * error. `ReadService.read` takes the routed request and returns a typed outcome that the S3
 * handlers render (http/handlers/object-read.ts); the rule simulator explains the same decision
 * (`explain`). The rules themselves are pure (rules/resolve.ts); this service answers their
 * lookups from the store, carries out their actions (the mirror engine for a fill) and checks the
 * object's own ACL for an anonymous reader.
 *
 * Store requests per GET in a bucket with rules (the S3 driver): one. A hit that no pre-routing
 * rule, index document or RedirectAllRequestsTo can change is served on its one lookup with no
 * rule evaluated (`hitIsFinal`); otherwise a plain GET's lookups open the object and the key the
 * rules choose is served from that open. The bucket, its website and its CORS configurations
 * (cached per node: service/config-cache.ts, and 500 ms in the S3 driver) are read together,
 * once per request (`view`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { isOutOfSpace, S3Error, storageFull, toS3Error } from '../errors.js';
import type { Explanation } from '../rules/explain.js';
import { explain } from '../rules/explain.js';
import type { WebsiteConfig } from '../rules/model.js';
import type { Action, WebsiteRequest } from '../rules/resolve.js';
import { hitIsFinal, resolve } from '../rules/resolve.js';
import { fillRequest } from '../mirror/engine.js';
import type { MirrorEngine } from '../mirror/engine.js';
import type { BucketInfo, ByteRange, ObjectInfo, StorageDriver } from '../storage/driver.js';
import { anonymousMayRead } from './acl.js';
import type { CorsConfig, CorsService } from './cors.js';
import type { ObjectService } from './objects.js';
import type { WebsiteService } from './website.js';

/** A routed GET/HEAD as the read service sees it (parsed by the HTTP layer). */
export interface ReadRequest {
  bucket: string;
  /** decoded key; '' for the bucket root (WEB-01) */
  key: string;
  method: 'GET' | 'HEAD';
  /** an unsigned request: an object's own ACL must let it read (and, in a private bucket, grant it) */
  anonymous: boolean;
  /** lower-case names */
  headers: IncomingHttpHeaders;
  /** raw query string without '?' */
  query: string;
  host: string;
  protocol: 'http' | 'https';
  /** index and error documents apply (anonymous request, or a bound website host: WEB-06) */
  websiteMode: boolean;
  /** how a URL path to a key of this bucket starts: '/' or '/bucket/' */
  pathPrefix: string;
  /** present when the request has a Range header: the range it asks of an object of `size` bytes (throws InvalidRange) */
  range?: ((size: number) => ByteRange | undefined) | undefined;
  /** the request's conditions (If-Match, If-None-Match, …) on an object answered with 200: throws 304/412 */
  preconditions: (info: ObjectInfo) => void;
  /** calls `listener` when the client goes away; returns the way to stop listening */
  onClientGone?: (listener: () => void) => () => void;
}

/** The bucket as a read needs it, read together once per request. */
export interface BucketView {
  /** undefined: no such bucket */
  info: BucketInfo | undefined;
  website: WebsiteConfig | undefined;
  cors: CorsConfig | undefined;
}

type SpoolReader = Readable & { ready(): Promise<void> };

export type ReadOutcome =
  /**
   * a stored object: `opened` for a GET (none for a HEAD), as the store opened it: its body is
   * taken only when written (an inline object's bytes are written whole, no stream is made);
   * `range` when a part of it is answered (206)
   */
  | { kind: 'object'; status: number; info: ObjectInfo; opened?: Opened; range?: ByteRange }
  /** an empty answer with a Location (RED-04, WEB-03, RedirectAllRequestsTo; MIR-17: 'bytes', the origin's Location as it came) */
  | {
      kind: 'redirect';
      status: number;
      location: string;
      encoding?: 'bytes';
      /** for metrics: a RedirectType, 'All', 'Directory' or 'Mirror' */ redirectKind: string;
    }
  /** an empty answer: the origin's HEAD relayed (MIR-45), or an asynchronous fill's immediate answer (MIR-47) */
  | { kind: 'empty'; status: number; headers: Record<string, string>; location?: string }
  /** the origin's answer relayed as it came (MirrorPassthrough codes) */
  | { kind: 'origin-answer'; status: number; contentType: string; body: Buffer }
  /** a mirror fill, streamed from its spool: origin headers and metadata as the engine kept them */
  | {
      kind: 'mirror';
      headers: Record<string, string>;
      userMeta: Record<string, string>;
      size: number | undefined;
      range?: ByteRange;
      reader: SpoolReader;
    }
  /** the client went away before there was anything to answer */
  | { kind: 'gone' };

/** The rule simulator's request (POST /-/rules/explain, the console). */
export interface SimulatedRead {
  bucket: string;
  key: string;
  method: string;
  headers: Record<string, string>;
  query: string;
  websiteMode: boolean;
  /** a status the request ended with elsewhere; 404: as if the key were missing */
  status?: number;
}

/** an object as the store opened it (its body made on first access for an inline object) */
export type Opened = Awaited<ReturnType<ObjectService['open']>>;
/** what was already read of the requested key: the opened object (a plain GET) or its info */
type Known = { info: ObjectInfo; opened?: Opened };

export class ReadService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly objects: ObjectService,
    private readonly website: WebsiteService,
    private readonly cors: CorsService,
    private readonly mirror: MirrorEngine,
  ) {}

  /**
   * The bucket, its website and its CORS configurations, read once per request (the S3 driver:
   * the bucket document, then the two configurations, and nothing while they are cached). A
   * missing bucket is `info: undefined`.
   */
  async view(bucket: string): Promise<BucketView> {
    // awaited one after the other: on the embedded store all three answer from memory, and a
    // Promise.all with a catch per read cost the hot path its allocations (view's own CPU halved);
    // on the S3 driver the two configurations are read only when the 500 ms cache expires
    const info = await this.driver.getBucket(bucket);
    if (!info) return { info, website: undefined, cors: undefined };
    try {
      return { info, website: await this.website.get(bucket), cors: await this.cors.get(bucket) };
    } catch (err) {
      // deleted between the reads: as if it had not been there
      if (err instanceof S3Error && err.code === 'NoSuchBucket') return { info: undefined, website: undefined, cors: undefined };
      throw err;
    }
  }

  /**
   * GET/HEAD of a key (or, in website mode, of the bucket root: key ''): with no website
   * configuration, the object or NoSuchKey; with one, whatever the rules decide (spec §5 WEB-05).
   * `view`: the bucket as the request already read it (server.ts reads it for CORS and the ACL).
   */
  async read(req: ReadRequest, view?: BucketView): Promise<ReadOutcome> {
    const { bucket, key } = req;
    const v = view ?? (await this.view(bucket));
    if (!v.info) throw new S3Error('NoSuchBucket', { bucket });
    // An anonymous reader of a bucket that is not public needs the object's own AllUsers READ
    // grant (server.ts authorize() leaves that to here): refused, before any rule, when the key is
    // missing or its ACL does not grant it. The lookup that checks it is the one the answer uses.
    let known: Known | undefined;
    if (req.anonymous && v.info.acl !== 'public-read' && v.info.acl !== 'public-read-write') {
      known = await this.lookUp(bucket, key, isPlainGet(req));
      const acl = known?.info.meta.acl;
      if (!known || acl === undefined || !anonymousMayRead(acl)) {
        if (known?.opened) release(known.opened);
        throw new S3Error('AccessDenied');
      }
    }
    const cfg = v.website;
    // awaited, not returned: a promise returned from an async function costs two more ticks
    if (!cfg) return await this.serveObject(req, key, 200, known);
    // MIR-06: in an OSS-dialect bucket a key with leading slashes may be another key to the rules,
    // so its request for the rules is made first; any other request is its own (no copy made)
    let wreq = cfg.dialect === 'oss' && key.startsWith('/') ? await this.websiteRequest(req, cfg, known !== undefined) : undefined;
    // issue 19: a hit the configuration cannot change (no pre-routing rule, no index document or
    // RedirectAllRequestsTo for it) is served on its one lookup, with no rule evaluated; a miss
    // goes on to the rules, which need not look the key up again
    let missing = false;
    if (hitIsFinal(cfg, wreq ?? req)) {
      try {
        return await this.serveObject(req, key, 200, known);
      } catch (err) {
        if (!(err instanceof S3Error && err.code === 'NoSuchKey'))
          return await this.routeError(req, wreq ?? (await this.websiteRequest(req, cfg, true)), cfg, err);
        missing = true;
      }
    }
    wreq ??= await this.websiteRequest(req, cfg, known !== undefined);
    const held = new Map<string, Opened>();
    try {
      return await this.throughRules(req, wreq, cfg, held, known, missing);
    } catch (err) {
      return await this.routeError(req, wreq, cfg, err);
    } finally {
      // opened by a lookup and not served (a directory index answered with a redirect, …)
      for (const o of held.values()) release(o);
    }
  }

  /**
   * An answer that failed before its first byte went out (a store stream that broke at once):
   * RED-05's error-routing rules for its status, as for an error `read` ran into; else the error.
   */
  async afterError(req: ReadRequest, err: unknown): Promise<ReadOutcome> {
    const cfg = await this.website.get(req.bucket).catch(() => undefined);
    if (!cfg) throw toS3Error(err);
    return this.routeError(req, await this.websiteRequest(req, cfg, false), cfg, err);
  }

  /** The mirror fills of the read path: the recent ones and those in progress (the console's activity feed). */
  fills(): ReturnType<MirrorEngine['activity']['snapshot']> {
    return this.mirror.activity.snapshot();
  }

  /**
   * The rule simulator: what `sim` would do, explained by the same decision the read path
   * carries out (rules/resolve), its lookups answered from the store. Nothing is fetched from an
   * origin and nothing changes.
   */
  async explain(sim: SimulatedRead): Promise<Explanation> {
    const { bucket, key } = sim;
    if (!(await this.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
    const asMissing = sim.status === 404;
    const status = sim.status !== undefined && !asMissing ? sim.status : undefined;
    const cfg = await this.website.get(bucket);
    const wreq: WebsiteRequest = {
      method: sim.method,
      key,
      headers: sim.headers,
      query: sim.query,
      host: sim.headers.host ?? 'localhost',
      protocol: 'http',
      websiteMode: sim.websiteMode,
      pathPrefix: `/${bucket}/`,
      ...(status !== undefined && { status }),
    };
    // "as if missing": the key itself is taken as absent
    return explain(cfg, wreq, async (k) => (asMissing && k === key ? false : await this.exists(bucket, k)));
  }

  /** The request as the rules see it, with MIR-06's leading slashes (`exists`: the key is known to be stored). */
  private async websiteRequest(req: ReadRequest, cfg: WebsiteConfig, exists: boolean): Promise<WebsiteRequest> {
    const { bucket, key } = req;
    const wreq: WebsiteRequest = {
      method: req.method,
      key,
      headers: req.headers,
      query: req.query,
      host: req.host,
      protocol: req.protocol,
      websiteMode: req.websiteMode,
      pathPrefix: req.pathPrefix,
    };
    // MIR-06: OSS object names never start with '/', so in an OSS-dialect bucket a missing key written
    // with leading slashes is the key without them (rules, lookups, the stored key); the slashes as
    // written go to the origin only with MirrorPassOriginalSlashes. An object stored under the
    // slashed key (S3 allows it) is still served as it is.
    const bare = key.replace(/^\/+/, '');
    if (cfg.dialect === 'oss' && bare !== key && bare !== '' && !exists && !(await this.exists(bucket, key)))
      return { ...wreq, key: bare, rawKey: key };
    return wreq;
  }

  private async throughRules(
    req: ReadRequest,
    wreq: WebsiteRequest,
    cfg: WebsiteConfig,
    held: Map<string, Opened>,
    known: Known | undefined,
    /** read() found the key missing on its one lookup */
    keyMissing: boolean,
  ): Promise<ReadOutcome> {
    const { bucket, key } = req;
    const plainGet = isPlainGet(req);
    const missing = keyMissing ? key : undefined;
    if (known?.opened) held.set(key, known.opened);
    // a plain GET's lookups open the object, so the key the rules serve is served as it was opened
    const exists = async (k: string): Promise<boolean> => {
      if (k === missing) return false;
      if (known && k === key) return true;
      if (!plainGet) return this.exists(bucket, k);
      const got = await this.openIfThere(bucket, k);
      if (got) {
        const before = held.get(k);
        if (before) release(before);
        held.set(k, got);
      }
      return got !== undefined;
    };
    const d = await resolve(cfg, wreq, exists);
    if (d.action.kind === 'mirror') {
      const served = await this.serveMirror(req, d.action);
      if (served) return served;
      // MIR-16: the origin said 404: no later rule (MAT-03); sub-directory handling and the error document
      const after = await resolve(cfg, { ...wreq, mirrorNotFound: true }, (k) => this.exists(bucket, k));
      return this.carryOut(req, after.action);
    }
    return this.carryOut(req, d.action, held, known);
  }

  /** RED-05: an error status Osprey itself produced (5xx from storage, …) still goes through error-routing rules. */
  private async routeError(req: ReadRequest, wreq: WebsiteRequest, cfg: WebsiteConfig, err: unknown): Promise<ReadOutcome> {
    const e = toS3Error(err);
    if (e.status === 404 || e.status < 400) throw e;
    const d = await resolve(cfg, { ...wreq, status: e.status }, (k) => this.exists(req.bucket, k)).catch(() => undefined);
    if (!d || d.action.kind === 'error' || d.action.kind === 'lookup' || d.action.kind === 'mirror') throw e;
    return this.carryOut(req, d.action);
  }

  /** `held`: objects the lookups opened (a plain GET), by key; the one served is taken from it */
  private async carryOut(req: ReadRequest, action: Action, held?: Map<string, Opened>, known?: Known): Promise<ReadOutcome> {
    switch (action.kind) {
      case 'serve': {
        const opened = held?.get(action.key);
        held?.delete(action.key);
        const pre = opened ? { info: opened.info, opened } : action.key === req.key ? known : undefined;
        return this.serveObject(req, action.key, action.status, pre);
      }
      case 'redirect':
        // RED-04: empty body, no error document
        return { kind: 'redirect', status: action.status, location: action.location, redirectKind: action.redirectKind };
      case 'mirror':
        throw new S3Error('NoSuchKey', { key: action.key });
      case 'error':
      case 'lookup':
        throw new S3Error('NoSuchKey', { key: req.key });
    }
  }

  /**
   * Carry out a Mirror action (spec §3): fetch through the engine (single-flight) and stream to
   * this client from the fill's spool. undefined when the origin answered 404.
   */
  private async serveMirror(req: ReadRequest, action: Extract<Action, { kind: 'mirror' }>): Promise<ReadOutcome | undefined> {
    const { plan, rule } = action;
    // the plan's one conversion into a fill (mirror/engine, rules/mirror-plan's originRequest): MIR-03
    // (a dot segment would leave MirrorURL) and an AuthType Osprey cannot sign with (MIR-15) ask no origin
    const fill = fillRequest(req.bucket, rule, plan);
    if ('refused' in fill) throw new S3Error('MirrorFailed', { message: fill.refused, key: action.key });
    if (plan.method === 'HEAD') {
      // MIR-45: relay the origin's HEAD, store nothing
      const h = await this.mirror.head(fill);
      if ('failed' in h) throw new S3Error('MirrorFailed', { message: h.failed, key: action.key });
      if (h.status === 404) return undefined;
      return { kind: 'empty', status: h.status, headers: h.headers };
    }
    if (plan.asyncStatus !== undefined) {
      // MIR-47: answer at once; the fill goes on in the background (single-flight applies)
      void this.mirror.fetch(fill).then(
        (o) => (o.kind === 'stream' ? o.stored : undefined),
        () => undefined,
      );
      const status = plan.asyncStatus;
      const location = status >= 300 && status < 400 ? plan.urls[0] : undefined;
      return { kind: 'empty', status, headers: {}, ...(location && { location }) };
    }
    const outcome = await this.mirror.fetch(fill);
    switch (outcome.kind) {
      case 'not-found':
        return undefined;
      case 'redirect':
        // MIR-17: 302 whatever the origin's 3xx, and no x-oss-tag
        return { kind: 'redirect', status: 302, location: outcome.location, encoding: 'bytes', redirectKind: 'Mirror' };
      case 'passthrough':
        return { kind: 'origin-answer', status: outcome.status, contentType: outcome.contentType, body: outcome.body };
      case 'failed':
        throw new S3Error('MirrorFailed', { message: outcome.message, key: action.key });
      case 'stream': {
        const range = outcome.size !== undefined && req.range ? req.range(outcome.size) : undefined;
        const reader = outcome.spool.reader(range?.start ?? 0, range?.end);
        // issue #15: when the fill's spool found no room before this client's first byte, the answer
        // is 503 (nothing was sent yet); once bytes went out, the spool relays the rest (mirror/spool)
        let left = false;
        const stop = req.onClientGone?.(() => {
          left = true;
          reader.destroy();
        });
        try {
          await reader.ready();
        } catch (err) {
          reader.destroy();
          if (left) return { kind: 'gone' }; // the client went away while waiting: nobody to answer
          throw isOutOfSpace(err) ? storageFull(err, { key: action.key }) : err;
        } finally {
          stop?.();
        }
        return {
          kind: 'mirror',
          headers: outcome.headers,
          userMeta: outcome.userMeta,
          size: outcome.size,
          ...(range && { range }),
          reader,
        };
      }
    }
  }

  /**
   * A stored object. status 200: conditions and Range apply; another status (an error document) is
   * sent as is. `known`: what was already read of this key (its one lookup).
   */
  private async serveObject(req: ReadRequest, key: string, status: number, known?: Known): Promise<ReadOutcome> {
    const { bucket } = req;
    const plain = status === 200;
    if (isPlainGet(req)) {
      // the common GET: one lookup, conditions checked on what was opened
      const got = known?.opened ?? (await this.objects.open(bucket, key));
      try {
        this.checkObjectAcl(req, got.info);
        if (plain) req.preconditions(got.info);
      } catch (err) {
        release(got);
        throw err;
      }
      return { kind: 'object', status, info: got.info, opened: got };
    }
    const info = known?.info ?? (await this.objects.head(bucket, key));
    this.checkObjectAcl(req, info);
    if (plain) req.preconditions(info);
    const range = plain && req.range ? req.range(info.size) : undefined;
    if (req.method === 'HEAD') return { kind: 'object', status: range ? 206 : status, info, ...(range && { range }) };
    const opened = await this.objects.open(bucket, key, range);
    // The object may have been replaced between head and open: answer with what was opened.
    if (!range) return { kind: 'object', status, info: opened.info, opened };
    const r = (req.range ? req.range(opened.info.size) : undefined) ?? range;
    return { kind: 'object', status: 206, info: opened.info, opened, range: r };
  }

  /**
   * An object with an ACL of its own: an anonymous reader needs its AllUsers READ grant, whatever
   * the bucket's ACL.
   */
  private checkObjectAcl(req: ReadRequest, info: ObjectInfo): void {
    if (req.anonymous && info.meta.acl !== undefined && !anonymousMayRead(info.meta.acl)) throw new S3Error('AccessDenied');
  }

  private async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.objects.find(bucket, key)) !== undefined;
  }

  private openIfThere(bucket: string, key: string): Promise<Opened | undefined> {
    return this.objects.openIfThere(bucket, key);
  }

  /** The requested key's one lookup: opened for a plain GET, its info otherwise; undefined when missing. */
  private async lookUp(bucket: string, key: string, open: boolean): Promise<Known | undefined> {
    if (open) {
      const opened = await this.openIfThere(bucket, key);
      return opened && { info: opened.info, opened };
    }
    const info = await this.objects.find(bucket, key);
    return info && { info };
  }
}

/**
 * An opened object that will not be served: its stream is closed (an inline object has none
 * unless one was asked for: the fs driver makes it on first access of `body`).
 */
function release(o: Opened): void {
  if (!o.bytes) o.body.destroy();
}

/** A GET without a Range: its lookups open the object (one store request serves it). */
function isPlainGet(req: ReadRequest): boolean {
  return req.method !== 'HEAD' && req.range === undefined;
}
