/**
 * @module origin/walker
 * The one walk over a mirror plan's origins (spec §3.4, §3.8), for the mirror fill, the mirror's
 * HEAD (MIR-45) and `osprey import`: the origins in order (MIR-37, MIR-39; while the rule's
 * MirrorURLProbe is down the primary goes last, MIR-38), each request signed with MirrorAuth
 * (MIR-15), the origin's redirects followed when the rule says so (at most `maxRedirects` hops),
 * a 404 final (no failover), and what fails over decided by `isOriginFailure` (MirrorSwitchAllErrors).
 * It asks; it does not read bodies it hands over, store or answer clients. Requests go through the
 * caller's dispatcher, so the SSRF guard (origin/connect-guard) applies to every hop.
 */
import { request } from 'undici';
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
  | { kind: 'answer'; url: string; status: number; res: Dispatcher.ResponseData }
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
  signal?: AbortSignal;
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

/** Ask the plan's origins in turn; the first usable answer, or the final outcome. */
export async function walkOrigins(req: OriginRequest, opts: WalkOptions): Promise<WalkOutcome> {
  let failure: OriginFailure | undefined;
  for (const first of originOrder(req, opts.probes)) {
    let url = first;
    try {
      for (let hop = 0; ; hop++) {
        const sent = Date.now();
        const res = await request(url, {
          method: req.method,
          headers: signedHeaders(req, req.method, url),
          dispatcher: opts.dispatcher,
          ...(opts.signal && { signal: opts.signal }),
        });
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
