/**
 * @module migrate/source-http
 * An HTTP origin and a key list, fetched exactly as a mirror fill would: the origin URL is
 * `MirrorURL + key` (spec §3.2, through the same pure `mirrorPlan` when the origin comes from the
 * bucket's own rule: ReplaceKeyWith, EnableReplacePrefix, MirrorHeaders Set/Host, MirrorAuth),
 * asked through the fill's own walk (origin/walker: redirects followed up to 10 hops, 5xx failing
 * over to MirrorURLSlave and alternates, MIR-37, a 404 final), and what is kept from the answer is
 * what the mirror keeps (mirror/meta). The MirrorURLProbe is not consulted (no probes in a batch).
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { mirrorStoredHeaders, mirrorUserMeta } from '../mirror/meta.js';
import { MAX_ORIGIN_REDIRECTS, mirrorPlan, originRequest } from '../rules/mirror-plan.js';
import type { OriginRequest } from '../rules/mirror-plan.js';
import type { OriginAuth } from '../rules/mirror-auth.js';
import { walkOrigins } from '../origin/walker.js';
import type { OriginResponse } from '../origin/walker.js';
import type { RoutingRule } from '../rules/rules.js';
import { describe, FatalError, networkProblem, SourceError } from './errors.js';
import type { Fetched, Source, SourceFacts, SourceItem } from './source.js';
import { keyPath, md5OfContentMd5, md5OfEtag } from './source.js';

/** How one key is fetched: what mirror-plan computes from a rule, or the plain `--origin` form. */
export interface OriginFetchPlan {
  /** what origin/walker asks, or why a fill would ask nothing (MIR-03 dot segment, an AuthType Osprey cannot sign with) */
  request: OriginRequest | { refused: string };
  /** MirrorCheckMd5: the origin's Content-MD5 is checked (Osprey refuses a body that does not match) */
  checkMd5: boolean;
  /** MirrorSaveOssMeta */
  saveMeta: boolean;
}

export type Planner = (key: string) => OriginFetchPlan;

/** `--origin URL`: URL + encoded key, no client headers, redirects followed (a rule with defaults). */
export function plainOriginPlanner(base: string, userAgent: string, saveMeta = false): Planner {
  return (key) => ({
    request: {
      method: 'GET',
      urls: [base + keyPath(key)],
      headers: { 'user-agent': userAgent, 'accept-encoding': 'identity' },
      followRedirects: true,
      maxRedirects: MAX_ORIGIN_REDIRECTS,
      switchAllErrors: false,
    },
    checkMd5: false,
    saveMeta,
  });
}

/**
 * `--from-rule N`: the rule's own plan for each key and its one conversion into an origin request
 * (the same functions the mirror engine runs). `auth`: the signing key when given apart from the
 * rule (else the rule's MirrorAuth).
 */
export function rulePlanner(rule: RoutingRule, userAgent: string, auth?: OriginAuth): Planner {
  return (key) => {
    const plan = mirrorPlan(rule, { key, query: '', headers: {}, userAgent });
    const request = originRequest(rule, plan);
    return { request: auth && !('refused' in request) ? { ...request, auth } : request, checkMd5: plan.checkMd5, saveMeta: plan.saveMeta };
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
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new FatalError(`invalid setting 'origin': '${raw}' must be an http or https URL`);
  if (u.search || u.hash)
    throw new FatalError(`invalid setting 'origin': '${raw}' must not have a query or fragment (the key is appended to it)`);
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
    this.dispatcher = new Agent({
      connect: { timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 4000,
    });
  }

  async *items(): AsyncIterable<SourceItem> {
    for (const key of this.keys) yield { key, sourceKey: key };
  }

  /** The origin must answer something (any HTTP status) for the first key. */
  async preflight(signal: AbortSignal): Promise<void> {
    const first = this.keys[0];
    if (first === undefined) return;
    const { request } = this.planner(first);
    if ('refused' in request) throw new FatalError(`the origin cannot be reached (${request.refused})`);
    // any status is an answer: only network errors move on to the next origin
    const walked = await walkOrigins(
      { ...request, method: 'HEAD', followRedirects: false },
      { dispatcher: this.dispatcher, signal, usable: () => true },
    );
    if (walked.kind === 'answer') {
      await walked.res.body.dump();
      return;
    }
    const f = walked.kind === 'failed' ? walked.failure : undefined;
    const last = f?.kind === 'network' ? `${new URL(f.url).origin}: ${networkProblem(f.error) ?? describe(f.error)}` : '';
    throw new FatalError(`the origin cannot be reached (${last})`);
  }

  async fetch(item: SourceItem, signal?: AbortSignal): Promise<Fetched> {
    const plan = this.planner(item.key);
    const { res, url } = await this.open(plan, 'GET', signal);
    const length = headerOf(res.headers, 'content-length');
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    const md5 = plan.checkMd5 ? md5OfContentMd5(headerOf(res.headers, 'content-md5')) : undefined;
    const etag = headerOf(res.headers, 'etag');
    const lastModified = headerOf(res.headers, 'last-modified');
    return {
      body: res.body,
      ...(size !== undefined && { size }),
      ...(md5 && { md5 }),
      headers: mirrorStoredHeaders(res.headers),
      userMeta: plan.saveMeta ? mirrorUserMeta(res.headers) : {},
      originUrl: url,
      ...(etag !== undefined && { etag }),
      ...(lastModified !== undefined && { lastModified }),
    };
  }

  /** HEAD (GET without reading the body when the origin refuses HEAD): size, an MD5 when given, the validators. */
  async facts(item: SourceItem, signal?: AbortSignal): Promise<SourceFacts> {
    const plan = this.planner(item.key);
    let opened: { res: OriginResponse; url: string };
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
    return {
      ...(length !== undefined && /^\d+$/.test(length) && { size: Number(length) }),
      ...(md5 && { md5 }),
      ...(etag && { etag }),
      ...(lastModified && { lastModified }),
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** The mirror's walk (origin/walker: MIR-16, MIR-37): a 200 answer, or a SourceError. */
  private async open(
    plan: OriginFetchPlan,
    method: 'GET' | 'HEAD',
    signal: AbortSignal | undefined,
  ): Promise<{ res: OriginResponse; url: string }> {
    // errors are made only when thrown: a stack trace per fetch was ~2 % of an import's CPU (issue 19)
    if ('refused' in plan.request) throw new SourceError(plan.request.refused, false);
    const walked = await walkOrigins(
      { ...plan.request, method },
      { dispatcher: this.dispatcher, ...(signal && { signal }), usable: (status) => status === 200 },
    );
    switch (walked.kind) {
      case 'answer':
        return { res: walked.res, url: walked.url };
      case 'not-found':
        throw new SourceError('the origin answered 404 (not found)', false, true);
      case 'redirect':
        throw new SourceError(
          `the origin redirected to ${walked.location} and the rule does not follow redirects (a mirror would answer 302 and store nothing)`,
          false,
        );
      case 'failed': {
        const f = walked.failure;
        if (!f) throw new SourceError('the origin could not be reached', true);
        if (f.kind === 'status') throw new SourceError(`the origin answered ${f.status}`, f.status >= 500 || f.status === 429);
        if (f.kind === 'redirect') throw new SourceError(f.message, false);
        if (signal?.aborted) throw f.error;
        throw new SourceError(`${new URL(f.url).origin}: ${networkProblem(f.error) ?? describe(f.error)}`, true);
      }
    }
  }
}
