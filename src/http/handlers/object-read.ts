/**
 * @module http/handlers/object-read
 * GetObject, HeadObject: the request parsed into a ReadRequest, the read service's outcome
 * (service/read.ts: the object, a redirect, a mirror fill, a website document) rendered.
 */
import { locationValue } from '../../codec/header-value.js';
import { publicTagHeaders } from '../../rules/tagging.js';
import type { ReadOutcome, ReadRequest } from '../../service/read.js';
import type { Ctx } from '../context.js';
import { header, objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { checkConditions, objectHeaders, parseRange, sendBody, sendEmpty, sendStream } from '../respond.js';

export async function getObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  await readThroughWebsite(ctx, deps, bucket, key);
}

export async function headObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  await readThroughWebsite(ctx, deps, bucket, key);
}

/** The request as the read service sees it (WEB-06: index/error documents for anonymous or bound-host requests). */
function readRequest(ctx: Ctx, bucket: string, key: string): ReadRequest {
  const url = ctx.req.url ?? '/';
  const qi = url.indexOf('?');
  const range = header(ctx, 'range');
  return {
    bucket,
    key,
    method: ctx.req.method === 'HEAD' ? 'HEAD' : 'GET',
    anonymous: ctx.auth?.principal.kind === 'anonymous',
    headers: ctx.req.headers,
    query: qi < 0 ? '' : url.slice(qi + 1),
    host: header(ctx, 'host') ?? 'localhost',
    protocol: header(ctx, 'x-forwarded-proto') === 'https' ? 'https' : 'http',
    websiteMode: ctx.auth?.principal.kind === 'anonymous' || ctx.endpoint?.style === 'bound',
    pathPrefix: ctx.endpoint?.style === 'path' ? `/${bucket}/` : '/',
    ...(range !== undefined && { range: (size: number) => parseRange(range, size) }),
    preconditions: (info) => checkConditions(ctx, info),
    onClientGone: (listener) => {
      ctx.res.once('close', listener);
      return () => ctx.res.off('close', listener);
    },
  };
}

/**
 * GET/HEAD of a key (or, in website mode, of the bucket root: key ''), as the read service
 * decides it (spec §5 WEB-05). An answer that fails before its first byte goes out is given to
 * the service again (RED-05: error-routing rules for its status).
 */
export async function readThroughWebsite(ctx: Ctx, deps: Deps, bucket: string, key: string): Promise<void> {
  const req = readRequest(ctx, bucket, key);
  const outcome = await deps.reads.read(req, ctx.bucketView);
  try {
    await render(ctx, deps, outcome);
  } catch (err) {
    if (ctx.res.headersSent) throw err;
    await render(ctx, deps, await deps.reads.afterError(req, err));
  }
}

async function render(ctx: Ctx, deps: Deps, outcome: ReadOutcome): Promise<void> {
  switch (outcome.kind) {
    case 'object': {
      const { info, range } = outcome;
      const headers = publicTagHeaders(objectHeaders(ctx, info, ctx.endpoint?.query ?? new Map<string, string>()), ctx.dialect);
      const length = range ? range.end - range.start + 1 : info.size;
      if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`;
      const { opened } = outcome;
      if (!opened) {
        headers['Content-Length'] = String(length);
        sendEmpty(ctx, outcome.status, headers);
        return;
      }
      // A stored checksum covers the whole object, never a range (S3 omits it on 206 too).
      if (range) for (const name of Object.keys(headers)) if (name.startsWith('x-amz-checksum-')) delete headers[name];
      await sendStream(ctx, outcome.status, headers, () => opened.body, length, opened.bytes);
      return;
    }
    case 'redirect':
      deps.metrics.redirect(outcome.redirectKind);
      sendEmpty(ctx, outcome.status, {
        Location: outcome.encoding ? locationValue(outcome.location, outcome.encoding) : locationValue(outcome.location),
      });
      return;
    case 'empty':
      sendEmpty(
        ctx,
        outcome.status,
        outcome.location !== undefined ? { ...outcome.headers, Location: locationValue(outcome.location) } : outcome.headers,
      );
      return;
    case 'origin-answer':
      sendBody(ctx, outcome.status, outcome.contentType, outcome.body);
      return;
    case 'mirror': {
      const { range, size, reader } = outcome;
      const out: Record<string, string> = { ...publicTagHeaders(outcome.headers, ctx.dialect), 'Accept-Ranges': 'bytes' };
      // MIR-27: the origin metadata kept, named in the request's dialect as a later GET names it (objectHeaders)
      const metaPrefix = ctx.dialect === 'oss' ? 'x-oss-meta-' : 'x-amz-meta-';
      for (const [k, v] of Object.entries(outcome.userMeta)) out[metaPrefix + k] = v;
      if (range) out['Content-Range'] = `bytes ${range.start}-${range.end}/${size ?? '*'}`;
      await sendStream(ctx, range ? 206 : 200, out, () => reader, range ? range.end - range.start + 1 : size);
      return;
    }
    case 'gone':
      return;
  }
}
