/**
 * @module http/handlers/object-read
 * GetObject, HeadObject: the request parsed into a ReadRequest, the read service's outcome
 * (service/read.ts: the object, a redirect, a mirror fill, a website document) rendered.
 */
import { locationValue } from '../../codec/header-value.js';
import { publicTagHeaders } from '../../rules/tagging.js';
import type { ReadOutcome, ReadRequest } from '../../service/read.js';
import type { ByteRange, ObjectInfo } from '../../storage/driver.js';
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

/**
 * The request as the read service sees it (WEB-06: index/error documents for anonymous or
 * bound-host requests). A class, not an object literal with closures: a hit makes one object and
 * no functions (its methods are the prototype's).
 */
class HttpReadRequest implements ReadRequest {
  readonly method: 'GET' | 'HEAD';
  readonly anonymous: boolean;
  readonly headers: ReadRequest['headers'];
  readonly query: string;
  readonly host: string;
  readonly protocol: 'http' | 'https';
  readonly websiteMode: boolean;
  readonly pathPrefix: string;
  readonly range: ((size: number) => ByteRange | undefined) | undefined;

  constructor(
    private readonly ctx: Ctx,
    readonly bucket: string,
    readonly key: string,
  ) {
    const url = ctx.req.url ?? '/';
    const qi = url.indexOf('?');
    const range = header(ctx, 'range');
    const anonymous = ctx.auth?.principal.kind === 'anonymous';
    this.method = ctx.req.method === 'HEAD' ? 'HEAD' : 'GET';
    this.anonymous = anonymous;
    this.headers = ctx.req.headers;
    this.query = qi < 0 ? '' : url.slice(qi + 1);
    this.host = header(ctx, 'host') ?? 'localhost';
    this.protocol = header(ctx, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
    this.websiteMode = anonymous || ctx.endpoint?.style === 'bound';
    this.pathPrefix = ctx.endpoint?.style === 'path' ? `/${bucket}/` : '/';
    this.range = range === undefined ? undefined : (size: number) => parseRange(range, size);
  }

  preconditions(info: ObjectInfo): void {
    checkConditions(this.ctx, info);
  }

  onClientGone(listener: () => void): () => void {
    const { res } = this.ctx;
    res.once('close', listener);
    return () => res.off('close', listener);
  }
}

/**
 * GET/HEAD of a key (or, in website mode, of the bucket root: key ''), as the read service
 * decides it (spec §5 WEB-05). An answer that fails before its first byte goes out is given to
 * the service again (RED-05: error-routing rules for its status).
 */
export async function readThroughWebsite(ctx: Ctx, deps: Deps, bucket: string, key: string): Promise<void> {
  const req = new HttpReadRequest(ctx, bucket, key);
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
