/**
 * @module http/handlers/object-read
 * GetObject, HeadObject: a hit, the rules (redirects, mirror fills, website documents) on a miss.
 */
import { isOutOfSpace, S3Error, storageFull, toS3Error } from '../../errors.js';
import type { Action, WebsiteRequest } from '../../rules/resolve.js';
import { hitIsFinal, resolve } from '../../rules/resolve.js';
import { AUTH_TYPES, authTypeOf, originAuthOf } from '../../rules/mirror-auth.js';
import { mirrorTags, publicTagHeaders, tagSystemMeta } from '../../rules/tagging.js';
import { anonymousMayRead } from '../../service/acl.js';
import type { ObjectInfo } from '../../storage/driver.js';
import type { Ctx } from '../context.js';
import { header, objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { checkConditions, objectHeaders, parseRange, sendBody, sendEmpty, sendStream } from '../respond.js';
import { locationValue } from '../../codec/header-value.js';


export async function getObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  await readThroughWebsite(ctx, deps, bucket, key);
}

export async function headObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  await readThroughWebsite(ctx, deps, bucket, key);
}

/** The request as the website resolver sees it (WEB-06: index/error documents for anonymous or bound-host requests). */
function websiteRequest(ctx: Ctx, bucket: string, key: string): WebsiteRequest {
  const url = ctx.req.url ?? '/';
  const qi = url.indexOf('?');
  const proto = header(ctx, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return {
    method: ctx.req.method ?? 'GET',
    key,
    headers: ctx.req.headers,
    query: qi < 0 ? '' : url.slice(qi + 1),
    host: header(ctx, 'host') ?? 'localhost',
    protocol: proto,
    websiteMode: ctx.auth?.principal.kind === 'anonymous' || ctx.endpoint?.style === 'bound',
    pathPrefix: ctx.endpoint?.style === 'path' ? `/${bucket}/` : '/',
  };
}

/**
 * GET/HEAD of a key (or, in website mode, of the bucket root: key ''): with no website
 * configuration, the object or NoSuchKey; with one, whatever `decide` says (spec §5 WEB-05).
 */
export async function readThroughWebsite(ctx: Ctx, deps: Deps, bucket: string, key: string): Promise<void> {
  const cfg = await deps.website.get(bucket);
  if (!cfg) {
    await serveObject(ctx, deps, bucket, key, 200);
    return;
  }
  let req = websiteRequest(ctx, bucket, key);
  // MIR-06: OSS object names never start with '/', so in an OSS-dialect bucket a missing key written
  // with leading slashes is the key without them (rules, lookups, the stored key); the slashes as
  // written go to the origin only with MirrorPassOriginalSlashes. An object stored under the
  // slashed key (S3 allows it) is still served as it is.
  const bare = key.replace(/^\/+/, '');
  if (cfg.dialect === 'oss' && bare !== key && bare !== '' && (await deps.objects.find(bucket, key)) === undefined) req = { ...req, key: bare, rawKey: key };
  const held = new Map<string, Opened>();
  try {
    // issue 19: a hit the configuration cannot change (no pre-routing rule, no index document or
    // RedirectAllRequestsTo for it) is served on its one lookup, with no rule evaluated; a miss
    // goes on to the rules, which need not look the key up again
    let missing: string | undefined;
    const plainGet = ctx.req.method !== 'HEAD' && header(ctx, 'range') === undefined;
    if (hitIsFinal(cfg, req)) {
      try {
        await serveObject(ctx, deps, bucket, key, 200);
        return;
      } catch (err) {
        if (ctx.res.headersSent || !(err instanceof S3Error && err.code === 'NoSuchKey')) throw err;
        missing = key;
      }
    }
    // a plain GET's lookups open the object, so the key the rules serve is served as it was opened
    const exists = async (k: string): Promise<boolean> => {
      if (k === missing) return false;
      if (!plainGet) return (await deps.objects.find(bucket, k)) !== undefined;
      const got = await deps.objects.open(bucket, k).catch((err: unknown) => {
        if (err instanceof S3Error && err.code === 'NoSuchKey') return undefined;
        throw err;
      });
      if (got) {
        held.get(k)?.body.destroy();
        held.set(k, got);
      }
      return got !== undefined;
    };
    const d = await resolve(cfg, req, exists);
    if (d.action.kind === 'mirror') {
      const handled = await serveMirror(ctx, deps, bucket, d.action);
      if (handled) return;
      // MIR-16: the origin said 404: no later rule (MAT-03); sub-directory handling and the error document
      const after = await resolve(cfg, { ...req, mirrorNotFound: true }, async (k) => (await deps.objects.find(bucket, k)) !== undefined);
      await carryOut(ctx, deps, bucket, after.action);
      return;
    }
    await carryOut(ctx, deps, bucket, d.action, held);
  } catch (err) {
    // RED-05: an error status Osprey itself produced (5xx from storage, …) still goes through error-routing rules
    const e = toS3Error(err);
    if (ctx.res.headersSent || e.status === 404 || e.status < 400) throw e;
    const d = await resolve(cfg, { ...req, status: e.status }, async (k) => (await deps.objects.find(bucket, k)) !== undefined).catch(() => undefined);
    if (!d || d.action.kind === 'error' || d.action.kind === 'lookup' || d.action.kind === 'mirror') throw e;
    await carryOut(ctx, deps, bucket, d.action);
  } finally {
    // opened by a lookup and not served (a directory index answered with a redirect, …)
    for (const o of held.values()) o.body.destroy();
  }
}

type Opened = Awaited<ReturnType<Deps['objects']['open']>>;

/** `held`: objects the lookups opened (a plain GET), by key; the one served is taken from it */
async function carryOut(ctx: Ctx, deps: Deps, bucket: string, action: Action, held?: Map<string, Opened>): Promise<void> {
  switch (action.kind) {
    case 'serve': {
      const opened = held?.get(action.key);
      held?.delete(action.key);
      await serveObject(ctx, deps, bucket, action.key, action.status, opened);
      return;
    }
    case 'redirect':
      deps.metrics.redirect(action.redirectKind);
      // RED-04: empty body, no error document
      sendEmpty(ctx, action.status, { Location: locationValue(action.location) });
      return;
    case 'mirror':
      throw new S3Error('NoSuchKey', { key: action.key });
    case 'error':
    case 'lookup':
      throw new S3Error('NoSuchKey', { key: ctx.endpoint?.key ?? '' });
  }
}

/**
 * Carry out a Mirror action (spec §3): fetch through the engine (single-flight) and stream to
 * this client from the fill's spool. Returns false when the origin answered 404.
 */
async function serveMirror(ctx: Ctx, deps: Deps, bucket: string, action: Extract<Action, { kind: 'mirror' }>): Promise<boolean> {
  const { plan, rule } = action;
  // MIR-03: an origin key with a dot segment would be fetched from outside MirrorURL
  if (plan.refused !== undefined) throw new S3Error('MirrorFailed', { message: plan.refused, key: action.key });
  const headers = { ...plan.headers, ...(plan.hostOverride !== undefined && { host: plan.hostOverride }) };
  const returnHeaders: Record<string, string> = {};
  for (const h of rule.Redirect.MirrorReturnHeaders?.ReturnHeader ?? []) if (h.Key && h.Value !== undefined) returnHeaders[h.Key.toLowerCase()] = h.Value;
  // MIR-15: AWS SigV4, OSS V1 or OSS V4 per MirrorAuth/AuthType (PUT ?website refuses other types)
  const ma = rule.Redirect.MirrorAuth;
  if (ma?.AccessKeyId && ma.AccessKeySecret && authTypeOf(ma.AuthType) === undefined) {
    throw new S3Error('MirrorFailed', { message: `Mirroring failed, please check your mirror configuration: MirrorAuth AuthType '${ma.AuthType ?? ''}' is not supported (use ${AUTH_TYPES}).`, key: action.key });
  }
  const auth = originAuthOf(rule);
  if (plan.method === 'HEAD') {
    // MIR-45: relay the origin's HEAD, store nothing
    const h = await deps.mirror.head({ urls: plan.urls, headers, ...(auth && { auth }), ...(plan.probeUrl !== undefined && { probeUrl: plan.probeUrl }) });
    if ('failed' in h) throw new S3Error('MirrorFailed', { message: h.failed, key: action.key });
    if (h.status === 404) return false;
    sendEmpty(ctx, h.status, h.headers);
    return true;
  }
  const fill = {
    bucket, key: plan.storeKey, urls: plan.urls, ...(plan.probeUrl !== undefined && { probeUrl: plan.probeUrl }), headers, followRedirects: plan.followRedirects, checkMd5: plan.checkMd5,
    switchAllErrors: plan.failover === 'any-unexpected-status', transparentCodes: new Set(plan.transparentStatuses),
    proxyOnly: !plan.store, saveMeta: rule.Redirect.MirrorSaveOssMeta === true, returnHeaders, ...(auth && { auth }),
    originLastModified: rule.Redirect.MirrorUserLastModified === true,
    // MIR-30: MirrorTaggings become the stored object's tags
    tagging: tagSystemMeta(mirrorTags(rule)),
  };
  if (plan.asyncStatus !== undefined) {
    // MIR-47: answer at once; the fill goes on in the background (single-flight applies)
    void deps.mirror.fetch(fill).then((o) => (o.kind === 'stream' ? o.stored : undefined), () => undefined);
    const status = plan.asyncStatus;
    sendEmpty(ctx, status, status >= 300 && status < 400 && plan.urls[0] ? { Location: locationValue(plan.urls[0]) } : {});
    return true;
  }
  const outcome = await deps.mirror.fetch(fill);
  switch (outcome.kind) {
    case 'not-found':
      return false;
    case 'redirect':
      deps.metrics.redirect('Mirror');
      // MIR-17: 302 whatever the origin's 3xx, and no x-oss-tag
      sendEmpty(ctx, 302, { Location: locationValue(outcome.location, 'bytes') });
      return true;
    case 'passthrough':
      sendBody(ctx, outcome.status, outcome.contentType, outcome.body);
      return true;
    case 'failed':
      throw new S3Error('MirrorFailed', { message: outcome.message, key: action.key });
    case 'stream': {
      const out: Record<string, string> = { ...publicTagHeaders(outcome.headers, ctx.dialect), 'Accept-Ranges': 'bytes' };
      // MIR-27: the origin metadata kept, named in the request's dialect as a later GET names it (objectHeaders)
      const metaPrefix = ctx.dialect === 'oss' ? 'x-oss-meta-' : 'x-amz-meta-';
      for (const [k, v] of Object.entries(outcome.userMeta)) out[metaPrefix + k] = v;
      const range = outcome.size !== undefined ? parseRange(header(ctx, 'range'), outcome.size) : undefined;
      if (range) out['Content-Range'] = `bytes ${range.start}-${range.end}/${outcome.size ?? '*'}`;
      const length = range ? range.end - range.start + 1 : outcome.size;
      const reader = outcome.spool.reader(range?.start ?? 0, range?.end);
      // issue #15: when the fill's spool found no room before this client's first byte, the answer
      // is 503 (nothing was sent yet); once bytes went out, the spool relays the rest (mirror/spool)
      let left = false;
      const leave = () => {
        left = true;
        reader.destroy();
      };
      ctx.res.once('close', leave);
      try {
        await reader.ready();
      } catch (err) {
        reader.destroy();
        if (left) return true; // the client went away while waiting: nobody to answer
        throw isOutOfSpace(err) ? storageFull(err, { key: action.key }) : err;
      } finally {
        ctx.res.off('close', leave);
      }
      await sendStream(ctx, range ? 206 : 200, out, () => reader, length);
      return true;
    }
  }
}

/** Serve a stored object. status 200: conditionals and Range apply; another status (an error document) is sent as is. */
async function serveObject(ctx: Ctx, deps: Deps, bucket: string, key: string, status: number, lookedUp?: Opened): Promise<void> {
  const query = ctx.endpoint?.query ?? new Map<string, string>();
  const plain = status === 200;
  if (ctx.req.method !== 'HEAD' && header(ctx, 'range') === undefined) {
    // the common GET: one lookup, conditionals checked on what was opened
    const got = lookedUp ?? (await deps.objects.open(bucket, key));
    try {
      checkObjectAcl(ctx, got.info);
      if (plain) checkConditions(ctx, got.info);
    } catch (err) {
      if (!got.bytes) got.body.destroy();
      throw err;
    }
    await sendStream(ctx, status, publicTagHeaders(objectHeaders(ctx, got.info, query), ctx.dialect), () => got.body, got.info.size, got.bytes);
    return;
  }
  const info = await deps.objects.head(bucket, key);
  checkObjectAcl(ctx, info);
  if (plain) checkConditions(ctx, info);
  const range = plain ? parseRange(header(ctx, 'range'), info.size) : undefined;
  if (ctx.req.method === 'HEAD') {
    const headers = publicTagHeaders(objectHeaders(ctx, info, query), ctx.dialect);
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers['Content-Length'] = String(range ? range.end - range.start + 1 : info.size);
    sendEmpty(ctx, range ? 206 : status, headers);
    return;
  }
  const opened$ = await deps.objects.open(bucket, key, range);
  const { info: opened, bytes } = opened$;
  const body = () => opened$.body;
  // The object may have been replaced between head and open: answer with what was opened.
  const headers = publicTagHeaders(objectHeaders(ctx, opened, query), ctx.dialect);
  if (range) {
    // A stored checksum covers the whole object, never a range (S3 omits it on 206 too).
    for (const name of Object.keys(headers)) if (name.startsWith('x-amz-checksum-')) delete headers[name];
    const r = parseRange(header(ctx, 'range'), opened.size) ?? range;
    headers['Content-Range'] = `bytes ${r.start}-${r.end}/${opened.size}`;
    await sendStream(ctx, 206, headers, body, r.end - r.start + 1, bytes);
  } else {
    await sendStream(ctx, status, headers, body, opened.size, bytes);
  }
}

/**
 * An object with an ACL of its own: an anonymous reader needs its AllUsers READ grant, whatever
 * the bucket's ACL (server.ts's authorize() let the request through on the bucket's, or on this).
 */
function checkObjectAcl(ctx: Ctx, info: ObjectInfo): void {
  if (ctx.auth?.principal.kind === 'anonymous' && info.meta.acl !== undefined && !anonymousMayRead(info.meta.acl)) {
    throw new S3Error('AccessDenied');
  }
}
