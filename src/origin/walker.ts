/**
 * @module origin/walker
 * The one walk over a mirror plan's origins (spec §3.4, §3.8), for the mirror fill, the mirror's
 * HEAD (MIR-45) and `osprey import`: the origins in order (MIR-37, MIR-39; while the rule's
 * MirrorURLProbe is down the primary goes last, MIR-38), each request signed with MirrorAuth
 * (MIR-15), the origin's redirects followed when the rule says so (at most `maxRedirects` hops),
 * a 404 final (no failover), and what fails over decided by `isOriginFailure` (MirrorSwitchAllErrors).
 * It asks; it does not read bodies it hands over, store or answer clients. Requests go through the
 * caller's dispatcher, so the SSRF guard (origin/connect-guard) applies to every hop.
 *
 * Each request is one `dispatch` with a handler of its own (Exchange) feeding a plain Readable
 * with backpressure (issue 19): undici's `request()` made an async resource, its BodyReadable and
 * an abort listener through `events.addAbortListener` per request, and through a composed
 * dispatcher (the SSRF guard) its legacy handler was wrapped twice, the headers parsed, turned
 * back into Buffers and parsed again. The answer keeps request()'s shape as callers read it:
 * `statusCode`, `headers` parsed by undici's own parseHeaders (lower-case names, a repeated header
 * as an array), and a body that is a Readable with `dump()` and `text()`.
 */
import { Readable } from 'node:stream';
import { errors } from 'undici';
import type { Dispatcher } from 'undici';
import type { OriginRequest } from '../rules/mirror-plan.js';
import { isOriginFailure } from '../rules/mirror-plan.js';
import { signOriginRequest } from './origin-auth.js';

/** What the walker needs of the probes (origin/probe's OriginProbes). */
export interface ProbeView {
  isDown(url: string): boolean;
}

/** Why one origin did not give a usable answer (the last one tried is reported). */
export type OriginFailure =
  /** an answer that is not usable, not a redirect and not 404 */
  | { kind: 'status'; url: string; status: number }
  /** timeout, DNS, TLS, connection or SSRF refusal (the error as undici threw it) */
  | { kind: 'network'; url: string; error: unknown }
  /** a 3xx without Location, or more than `maxRedirects` hops */
  | { kind: 'redirect'; url: string; message: string };

export type WalkOutcome =
  /** a usable answer: its body is the caller's to read or drop */
  | { kind: 'answer'; url: string; status: number; res: OriginResponse }
  /** the origin said 404: final, no other origin is asked (MIR-37) */
  | { kind: 'not-found'; url: string }
  /** a 3xx while the rule does not follow redirects (MIR-17): the Location resolved against the URL asked */
  | { kind: 'redirect'; url: string; status: number; location: string }
  /** no usable answer; `failure` undefined when there was no origin to ask */
  | { kind: 'failed'; failure?: OriginFailure };

export interface WalkOptions {
  dispatcher: Dispatcher;
  /**
   * The statuses handed over as answers. Asked after a redirect is followed and before the 404
   * and failover rules: a fill takes 200, 206 and its TransparentMirrorResponseCodes, the HEAD
   * relay everything below 500, the import 200.
   */
  usable(status: number): boolean;
  signal?: AbortView;
  /** MIR-38: the probes; without them the origins are asked in the plan's order */
  probes?: ProbeView;
  /** every origin answer as it comes (the activity feed) */
  onResponse?(url: string, status: number, ms: number): void;
}

/**
 * MIR-38: the origins in the order to try them. While the rule's probe is failing, the primary
 * goes last (straight to the secondary, the primary kept as a last resort).
 */
export function originOrder(req: Pick<OriginRequest, 'urls' | 'probeUrl'>, probes?: ProbeView): string[] {
  const [primary, ...fallbacks] = req.urls;
  if (primary === undefined || fallbacks.length === 0 || req.probeUrl === undefined || !probes) return req.urls;
  return probes.isDown(req.probeUrl) ? [...fallbacks, primary] : req.urls;
}

/** The origin request's headers, signed with MirrorAuth when the rule has it (MIR-15). */
export function signedHeaders(req: Pick<OriginRequest, 'headers' | 'auth'>, method: string, url: string): Record<string, string> {
  return req.auth ? signOriginRequest(req.auth, method, url, req.headers) : req.headers;
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const isRedirect = (status: number): boolean => status >= 300 && status < 400 && status !== 304;

/** What `dump()` reads at most before it closes the connection instead (undici's BodyReadable default). */
const DUMP_LIMIT = 128 * 1024;
/** what an origin body may hold in memory before the socket is paused (undici's request() default) */
const BODY_HIGH_WATER = 64 * 1024;

/**
 * What the walk needs of an abort signal: an AbortSignal, or a lighter object of the same shape
 * (the mirror engine makes one per fill; an AbortController and its signal were ~1.5 % of a cold
 * 4 KiB fill's CPU, issue 19).
 */
export interface AbortView {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** An abort for one walk (AbortView) without an EventTarget: `abort` calls the listeners once. */
export class WalkAbort implements AbortView {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners?.splice(i, 1);
  }

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const f of listeners) f();
  }
}

/**
 * A consumer that takes an origin body's chunks as they come, with no stream between (the mirror
 * engine's small bodies: a Readable and its async iterator were a fifth of the origin client's
 * CPU per 4 KiB fill). It never holds the origin back: for bodies that fit in memory.
 */
export interface BodySink {
  /** a chunk; a throw fails the request (`error` follows with what was thrown) */
  data(chunk: Buffer): void;
  /** the body's end */
  end(): void;
  /** the request failed, was aborted or destroyed: nothing more comes */
  error(err: Error): void;
}

/** One origin answer, as undici's `request()` gave it to the callers. */
export interface OriginResponse {
  readonly statusCode: number;
  /** parsed as request() parses them (undici's parseHeaders): lower-case names, a repeated header as an array */
  readonly headers: Record<string, string | string[] | undefined>;
  /** the body as a stream, made on first use; the caller reads it, dumps it or destroys it */
  readonly body: OriginBody;
  /** the body handed to `sink` instead (not with `body`) */
  consume(sink: BodySink): void;
  /** the body is not wanted (any more): a request still running is aborted, with `err` when given */
  destroy(err?: Error): void;
}

/**
 * An origin answer's body as a stream: fed by the exchange, the socket paused while it is full.
 * Destroyed before its end (by the caller, or by the walk's abort signal), it aborts the request,
 * as undici's BodyReadable does.
 */
export class OriginBody extends Readable {
  constructor(private readonly exchange: Exchange) {
    super({ highWaterMark: BODY_HIGH_WATER });
    // failures reach whoever reads the body; never an uncaught 'error' (a body torn down before
    // its reader attached its listeners)
    this.on('error', noop);
  }

  override _read(): void {
    this.exchange.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // as BodyReadable: a body gone before its end is an aborted request (the connection cannot be reused)
    const why = err ?? (this.readableEnded ? null : new errors.RequestAbortedError());
    this.exchange.bodyClosed(why);
    cb(why);
  }

  /**
   * Read what is left and drop it, so the connection can be reused; a body known to be larger
   * than 128 KiB, or found to be while read, is destroyed instead (undici's `dump()`).
   * Resolves when the body is closed.
   */
  dump(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      if (this.exchange.bodyLength > DUMP_LIMIT || this.exchange.received > DUMP_LIMIT) this.destroy(new errors.RequestAbortedError());
      this.on('close', () => resolve());
      this.on('data', () => {
        if (this.exchange.received > DUMP_LIMIT) this.destroy();
      });
      this.resume();
    });
  }

  /** the whole body as UTF-8 text */
  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }
}

function noop(): void {}

/**
 * One request in undici's dispatch-handler terms, and its answer (OriginResponse): settles with
 * itself at the headers, then feeds the body to whoever takes it (`body` or `consume`); chunks
 * that come first are held (the socket paused beyond BODY_HIGH_WATER). With a signal, an abort
 * fails the request before its headers and ends the body after them (request()'s behaviour).
 */
class Exchange implements Dispatcher.DispatchHandler, OriginResponse {
  statusCode = 0;
  headers: Record<string, string | string[] | undefined> = {};
  /** body bytes received so far */
  received = 0;
  /** the answer's Content-Length, -1 when none (or a HEAD) */
  bodyLength = -1;
  private controller: Dispatcher.DispatchController | undefined;
  private stream: OriginBody | undefined;
  private sink: BodySink | undefined;
  /** chunks come before anyone took the body */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private settled = false;
  /** the request ended (completed or failed): nothing is left to abort */
  private done = false;
  private reason: Error | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly method: string,
    private readonly signal: AbortView | undefined,
    private readonly resolve: (res: OriginResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {
    if (signal?.aborted) this.reason = abortReason(signal);
    else if (signal) {
      this.onAbort = () => this.aborted();
      signal.addEventListener('abort', this.onAbort);
    }
  }

  get body(): OriginBody {
    if (this.stream) return this.stream;
    if (this.sink) throw new Error('the origin body was handed to a consumer');
    const body = new OriginBody(this);
    this.stream = body;
    const held = this.held;
    this.held = undefined;
    this.heldBytes = 0;
    if (held) for (const c of held) body.push(c);
    if (this.ended) body.push(null);
    else if (this.failure) body.destroy(this.failure);
    return body;
  }

  consume(sink: BodySink): void {
    if (this.stream || this.sink) throw new Error('the origin body was already taken');
    this.sink = sink;
    const held = this.held;
    this.held = undefined;
    this.heldBytes = 0;
    if (held) for (const c of held) if (!this.sinkData(c)) return;
    if (this.ended) sink.end();
    else if (this.failure) sink.error(this.failure);
    else this.controller?.resume();
  }

  destroy(err?: Error): void {
    if (this.stream) {
      this.stream.destroy(err);
      return;
    }
    const why = err ?? new errors.RequestAbortedError();
    this.unlisten();
    if (!this.done) {
      this.done = true;
      this.held = undefined;
      this.controller?.abort(why);
    }
    // a consumer that has not seen the end or a failure hears of this one
    if (this.sink && !this.ended && !this.failure) {
      this.failure = why;
      this.sink.error(why);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status < 200) return; // 1xx: the answer follows
    const length = headers['content-length'];
    if (this.method !== 'HEAD' && typeof length === 'string' && length !== '') this.bodyLength = Number(length);
    this.statusCode = status;
    this.headers = headers;
    this.settled = true;
    this.resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.sink) this.sinkData(chunk);
    else if (this.stream) {
      if (!this.stream.push(chunk)) controller.pause();
    } else if (!this.done) {
      (this.held ??= []).push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes > BODY_HIGH_WATER) controller.pause();
    }
  }

  onResponseEnd(): void {
    this.done = true;
    this.ended = true;
    this.unlistenIfTaken();
    if (this.sink) this.sink.end();
    else this.stream?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.done = true;
    if (!this.settled) {
      this.settled = true;
      this.unlisten();
      this.reject(err);
      return;
    }
    if (this.failure || this.ended) return;
    this.failure = err;
    this.unlistenIfTaken();
    const body = this.stream;
    // as request(): what was already queued is delivered first
    if (body) queueMicrotask(() => body.destroy(err));
    else this.sink?.error(err);
  }

  /** the body wants more: the socket goes on */
  resume(): void {
    this.controller?.resume();
  }

  /** the stream is closed: a request still running is aborted; the signal is no longer listened to */
  bodyClosed(err: Error | null): void {
    this.unlisten();
    if (!this.done && err) {
      this.done = true;
      this.controller?.abort(err);
    }
  }

  /** a chunk to the consumer; false when it threw (the request is failed with what it threw) */
  private sinkData(chunk: Buffer): boolean {
    try {
      this.sink?.data(chunk);
      return true;
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  private aborted(): void {
    const reason = abortReason(this.signal);
    this.reason = reason;
    if (this.settled) this.destroy(reason);
    else this.controller?.abort(reason);
  }

  /** a stream keeps listening until it is closed (an abort then still ends it); a consumer needs no more */
  private unlistenIfTaken(): void {
    if (this.sink) this.unlisten();
  }

  private unlisten(): void {
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

function abortReason(signal: AbortView | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new errors.RequestAbortedError();
}

/**
 * One request to `url` through `dispatcher` (as undici's `request(url, { method, headers,
 * dispatcher, signal })`): the answer at its headers; network failures, refusals by the
 * dispatcher and an abort reject.
 */
export function ask(
  dispatcher: Dispatcher,
  url: string,
  method: string,
  headers: Record<string, string>,
  signal?: AbortView,
): Promise<OriginResponse> {
  return new Promise<OriginResponse>((resolve, reject) => {
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new errors.InvalidArgumentError('Invalid URL protocol: the URL must start with `http:` or `https:`.');
      const path = u.search ? `${u.pathname}${u.search}` : u.pathname;
      dispatcher.dispatch(
        { origin: u.origin, path, method: method as Dispatcher.HttpMethod, headers },
        new Exchange(method, signal, resolve, reject),
      );
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** Ask the plan's origins in turn; the first usable answer, or the final outcome. */
export async function walkOrigins(req: OriginRequest, opts: WalkOptions): Promise<WalkOutcome> {
  let failure: OriginFailure | undefined;
  for (const first of originOrder(req, opts.probes)) {
    let url = first;
    try {
      for (let hop = 0; ; hop++) {
        const sent = Date.now();
        const res = await ask(opts.dispatcher, url, req.method, signedHeaders(req, req.method, url), opts.signal);
        const status = res.statusCode;
        opts.onResponse?.(url, status, Date.now() - sent);
        if (req.followRedirects && isRedirect(status)) {
          const location = headerOf(res.headers, 'location');
          await res.body.dump();
          if (!location) {
            failure = { kind: 'redirect', url, message: `the origin answered ${status} without a Location` };
            break;
          }
          if (hop + 1 >= req.maxRedirects) {
            failure = { kind: 'redirect', url, message: `the origin redirected more than ${req.maxRedirects} times` };
            break;
          }
          url = new URL(location, url).toString();
          continue;
        }
        if (opts.usable(status)) return { kind: 'answer', url, status, res };
        if (isRedirect(status)) {
          // MIR-17: not followed, handed over
          const location = headerOf(res.headers, 'location');
          await res.body.dump();
          if (!location) {
            failure = { kind: 'redirect', url, message: `the origin answered ${status} without a Location` };
            break;
          }
          return { kind: 'redirect', url, status, location: new URL(location, url).toString() };
        }
        await res.body.dump();
        if (status === 404) return { kind: 'not-found', url };
        failure = { kind: 'status', url, status };
        // MIR-37: 5xx fails over; other statuses only with MirrorSwitchAllErrors
        if (isOriginFailure(status, req.switchAllErrors)) break;
        return { kind: 'failed', failure };
      }
    } catch (error) {
      failure = { kind: 'network', url, error };
      // shut down or timed out by the caller: no other origin is asked
      if (opts.signal?.aborted) return { kind: 'failed', failure };
    }
  }
  return { kind: 'failed', ...(failure && { failure }) };
}
