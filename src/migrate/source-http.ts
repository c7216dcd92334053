/**
 * @module migrate/source-http
 * An HTTP origin and a key list, fetched exactly as a mirror fill would: the origin URL is
 * `MirrorURL + key` (spec §3.2, through the same pure `mirrorPlan` when the origin comes from the
 * bucket's own rule: ReplaceKeyWith, EnableReplacePrefix, MirrorHeaders Set/Host, MirrorAuth),
 * redirects followed up to 10 hops, 5xx failing over to MirrorURLSlave and alternates (MIR-37),
 * and what is kept from the answer is what the mirror keeps (mirror/meta).
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { mirrorStoredHeaders, mirrorUserMeta } from '../mirror/meta.js';
import { isOriginFailure, MAX_ORIGIN_REDIRECTS, mirrorPlan, originRequest } from '../rules/mirror-plan.js';
import { signOriginRequest } from '../origin/origin-auth.js';
import type { OriginAuth } from '../origin/origin-auth.js';
import type { RoutingRule } from '../rules/rules.js';
import { encodeKeyPath } from '../origin/uri.js';
import { describe, FatalError, networkProblem, SourceError } from './errors.js';
import type { Fetched, Source, SourceFacts, SourceItem } from './source.js';
import { md5OfContentMd5, md5OfEtag } from './source.js';

/** How one key is fetched: what mirror-plan computes from a rule, or the plain `--origin` form. */
export interface OriginFetchPlan {
  urls: string[];
  headers: Record<string, string>;
  followRedirects: boolean;
  /** MirrorCheckMd5: the origin's Content-MD5 is checked (Osprey refuses a body that does not match) */
  checkMd5: boolean;
  /** MirrorSaveOssMeta */
  saveMeta: boolean;
  /** MirrorSwitchAllErrors */
  switchAllErrors: boolean;
  auth?: OriginAuth;
  /** why a fill would ask no origin for this key (MIR-03 dot segment, an AuthType Osprey cannot sign with) */
  refused?: string;
}

export type Planner = (key: string) => OriginFetchPlan;

/** `--origin URL`: URL + encoded key, no client headers, redirects followed (a rule with defaults). */
export function plainOriginPlanner(base: string, userAgent: string, saveMeta = false): Planner {
  return (key) => ({
    urls: [base + encodeKeyPath(key)],
    headers: { 'user-agent': userAgent, 'accept-encoding': 'identity' },
    followRedirects: true,
    checkMd5: false,
    saveMeta,
    switchAllErrors: false,
  });
}

/** `--from-rule N`: the rule's own plan for each key (the same function the mirror engine runs). */
export function rulePlanner(rule: RoutingRule, userAgent: string, auth: OriginAuth | undefined): Planner {
  return (key) => {
    const plan = mirrorPlan(rule, { key, query: '', headers: {}, userAgent });
    const headers = { ...plan.headers, ...(plan.hostOverride !== undefined && { host: plan.hostOverride }) };
    const asked = originRequest(rule, plan);
    return {
      urls: plan.urls, headers, followRedirects: plan.followRedirects, checkMd5: plan.checkMd5,
      saveMeta: rule.Redirect.MirrorSaveOssMeta === true, switchAllErrors: plan.failover === 'any-unexpected-status', ...(auth && { auth }),
      ...('refused' in asked && { refused: asked.refused }),
    };
  };
}

/**
 * `--origin` must be usable as a MirrorURL: http(s), and ending in '/' unless it has no path at all
 * (then '/' is added), since the key is appended as it is.
 */
export function normalizeOriginUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FatalError(`invalid setting 'origin': '${raw}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FatalError(`invalid setting 'origin': '${raw}' must be an http or https URL`);
  if (u.search || u.hash) throw new FatalError(`invalid setting 'origin': '${raw}' must not have a query or fragment (the key is appended to it)`);
  if (raw.endsWith('/')) return raw;
  if (u.pathname === '/' && !raw.replace(/^[a-z]+:\/\/[^/]*/i, '')) return `${raw}/`;
  throw new FatalError(`invalid setting 'origin': '${raw}' must end with '/' (the origin URL is this URL + the key, as a MirrorURL)`);
}

function headerOf(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class HttpOriginSource implements Source {
  readonly total: number;
  private readonly dispatcher: Dispatcher;

  constructor(
    readonly description: string,
    private readonly keys: readonly string[],
    private readonly planner: Planner,
    timeoutMs: number,
  ) {
    this.total = keys.length;
    this.dispatcher = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 4000 });
  }

  async *items(): AsyncIterable<SourceItem> {
    for (const key of this.keys) yield { key, sourceKey: key };
  }

  /** The origin must answer something (any HTTP status) for the first key. */
  async preflight(signal: AbortSignal): Promise<void> {
    const first = this.keys[0];
    if (first === undefined) return;
    const plan = this.planner(first);
    let last = '';
    for (const url of plan.urls) {
      try {
        const res = await request(url, { method: 'HEAD', headers: this.signed(plan, 'HEAD', url), dispatcher: this.dispatcher, signal });
        await res.body.dump();
        return;
      } catch (err) {
        last = `${new URL(url).origin}: ${networkProblem(err) ?? describe(err)}`;
      }
    }
    throw new FatalError(`the origin cannot be reached (${last})`);
  }

  async fetch(item: SourceItem, signal: AbortSignal): Promise<Fetched> {
    const plan = this.planner(item.key);
    const { res, url } = await this.open(plan, 'GET', signal);
    const length = headerOf(res.headers, 'content-length');
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    const md5 = plan.checkMd5 ? md5OfContentMd5(headerOf(res.headers, 'content-md5')) : undefined;
    const etag = headerOf(res.headers, 'etag');
    const lastModified = headerOf(res.headers, 'last-modified');
    return {
      body: res.body, ...(size !== undefined && { size }), ...(md5 && { md5 }),
      headers: mirrorStoredHeaders(res.headers), userMeta: plan.saveMeta ? mirrorUserMeta(res.headers) : {}, originUrl: url,
      ...(etag !== undefined && { etag }), ...(lastModified !== undefined && { lastModified }),
    };
  }

  /** HEAD (GET without reading the body when the origin refuses HEAD): size, an MD5 when given, the validators. */
  async facts(item: SourceItem, signal: AbortSignal): Promise<SourceFacts> {
    const plan = this.planner(item.key);
    let opened: { res: Dispatcher.ResponseData; url: string };
    try {
      opened = await this.open(plan, 'HEAD', signal);
      await opened.res.body.dump();
    } catch (err) {
      if (!(err instanceof SourceError) || !/answered (405|501)\b/.test(err.message)) throw err;
      opened = await this.open(plan, 'GET', signal);
      opened.res.body.destroy();
    }
    const h = opened.res.headers;
    const length = headerOf(h, 'content-length');
    const etag = headerOf(h, 'etag');
    const md5 = md5OfContentMd5(headerOf(h, 'content-md5')) ?? md5OfEtag(etag);
    const lastModified = headerOf(h, 'last-modified');
    return { ...(length !== undefined && /^\d+$/.test(length) && { size: Number(length) }), ...(md5 && { md5 }), ...(etag && { etag }), ...(lastModified && { lastModified }) };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private signed(plan: OriginFetchPlan, method: string, url: string): Record<string, string> {
    return plan.auth ? signOriginRequest(plan.auth, method, url, plan.headers) : plan.headers;
  }

  /** The mirror's walk (MIR-16, MIR-37): each origin in turn, redirects followed; a 200 answer or a SourceError. */
  private async open(plan: OriginFetchPlan, method: 'GET' | 'HEAD', signal: AbortSignal): Promise<{ res: Dispatcher.ResponseData; url: string }> {
    // made when needed: an error's stack trace per fetch was ~2 % of an import's CPU (issue 19)
    if (plan.refused !== undefined) throw new SourceError(plan.refused, false);
    let failure: SourceError | undefined;
    for (const first of plan.urls) {
      let url = first;
      let final = false;
      try {
        for (let hop = 0; ; hop++) {
          const res = await request(url, { method, headers: this.signed(plan, method, url), dispatcher: this.dispatcher, signal });
          const status = res.statusCode;
          if (status >= 300 && status < 400 && status !== 304) {
            const location = headerOf(res.headers, 'location');
            await res.body.dump();
            // as in a fill: a 3xx without Location and a redirect loop fail over to the next origin
            if (!location) {
              failure = new SourceError(`the origin answered ${status} without a Location`, false);
              break;
            }
            if (!plan.followRedirects) throw new SourceError(`the origin redirected to ${new URL(location, url).toString()} and the rule does not follow redirects (a mirror would answer 302 and store nothing)`, false);
            if (hop + 1 >= MAX_ORIGIN_REDIRECTS) {
              failure = new SourceError(`the origin redirected more than ${MAX_ORIGIN_REDIRECTS} times`, false);
              break;
            }
            url = new URL(location, url).toString();
            continue;
          }
          if (status === 200) return { res, url };
          await res.body.dump();
          // MIR-37: a primary 404 is final; other statuses fail over per MirrorSwitchAllErrors
          if (status === 404) throw new SourceError('the origin answered 404 (not found)', false, true);
          failure = new SourceError(`the origin answered ${status}`, status >= 500 || status === 429);
          final = !isOriginFailure(status, plan.switchAllErrors);
          break;
        }
      } catch (err) {
        if (err instanceof SourceError || signal.aborted) throw err;
        failure = new SourceError(`${new URL(url).origin}: ${networkProblem(err) ?? describe(err)}`, true);
      }
      if (final) throw failure;
    }
    throw failure ?? new SourceError('the origin could not be reached', true);
  }
}
