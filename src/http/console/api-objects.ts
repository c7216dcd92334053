/**
 * @module http/console/api-objects
 * The console's buckets and objects calls. Each one is a thin adapter over the same services the
 * S3 handlers call (buckets, objects, multipart), so names, limits, errors and the write path
 * (MIR-42) are the API's own.
 */
import { S3Error } from '../../errors.js';
import { metaFromHeaders } from '../body.js';
import { header } from '../context.js';
import { attachmentDisposition } from '../../codec/header-value.js';
import { objectHeaders, sendStream } from '../respond.js';
import type { CannedAcl, ObjectInfo } from '../../storage/driver.js';
import { CANNED_ACLS } from '../../storage/driver.js';
import { parsePartNumber } from '../../service/multipart.js';
import { validateBucketName } from '../../service/names.js';
import type { ApiCall } from './http.js';
import { bucketParam, keyParam, methodNotAllowed, readJsonBody, sendJson, str } from './http.js';

function acl(v: unknown): CannedAcl {
  if (typeof v === 'string' && (CANNED_ACLS as readonly string[]).includes(v)) return v as CannedAcl;
  throw new S3Error('InvalidArgument', {
    message: `Unsupported canned ACL '${String(v)}': use private, public-read or public-read-write.`,
  });
}

/** /buckets and /buckets/:b[/acl] */
export async function buckets(call: ApiCall): Promise<void> {
  const { ctx, deps, method, parts } = call;
  if (parts.length === 1) {
    if (method === 'GET') {
      const list = await deps.buckets.all();
      sendJson(ctx, 200, { buckets: list.map((b) => ({ name: b.name, created: b.created.toISOString(), acl: b.acl })) });
      return;
    }
    if (method === 'POST') {
      const body = await readJsonBody(ctx);
      const name = str(body.name, 'name');
      validateBucketName(name);
      const b = await deps.buckets.create(name, body.acl === undefined ? 'private' : acl(body.acl));
      sendJson(ctx, 201, { name: b.name, created: b.created.toISOString(), acl: b.acl });
      return;
    }
    throw methodNotAllowed(call);
  }
  const bucket = bucketParam(call);
  if (parts.length === 2 && method === 'DELETE') {
    await deps.buckets.delete(bucket);
    sendJson(ctx, 200, { deleted: bucket });
    return;
  }
  if (parts.length === 3 && parts[2] === 'acl' && method === 'PUT') {
    const body = await readJsonBody(ctx);
    const value = acl(body.acl);
    await deps.buckets.setAcl(bucket, value);
    sendJson(ctx, 200, { name: bucket, acl: value });
    return;
  }
  throw methodNotAllowed(call);
}

function objectSummary(o: ObjectInfo) {
  return { key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified.toISOString(), origin: o.meta.system['x-oss-tag'] ?? null };
}

/** GET /buckets/:b/objects?prefix=&after=&max=: one page, folders from the '/' delimiter. */
export async function listObjects(call: ApiCall): Promise<void> {
  const { ctx, deps, query: q } = call;
  if (call.method !== 'GET') throw methodNotAllowed(call);
  const bucket = bucketParam(call);
  const prefix = q.get('prefix') ?? '';
  const after = q.get('after') || undefined;
  const maxRaw = q.get('max') ?? '50';
  if (!/^\d{1,4}$/.test(maxRaw) || Number(maxRaw) < 1)
    throw new S3Error('InvalidArgument', { message: `max must be a whole number from 1 to 1000, not '${maxRaw}'.` });
  await deps.buckets.require(bucket);
  const r = await deps.objects.list(bucket, {
    prefix,
    delimiter: '/',
    ...(after !== undefined && { startAfter: after }),
    maxKeys: Math.min(1000, Number(maxRaw)),
  });
  sendJson(ctx, 200, {
    bucket,
    prefix,
    folders: r.commonPrefixes,
    objects: r.objects.map(objectSummary),
    truncated: r.isTruncated,
    ...(r.isTruncated && r.nextMarker !== undefined && { next: r.nextMarker }),
  });
}

/** /buckets/:b/object?key=: details (GET), upload in one request (PUT, body streamed), DELETE. */
export async function object(call: ApiCall): Promise<void> {
  const { ctx, deps, method } = call;
  const bucket = bucketParam(call);
  const key = keyParam(call);
  if (method === 'GET') {
    const info = await deps.objects.head(bucket, key);
    // the headers a GET of the object answers with, as an S3 client would see them
    const headers = objectHeaders({ ...ctx, dialect: 's3' }, info, new Map());
    headers['Content-Length'] = String(info.size);
    sendJson(ctx, 200, { ...objectSummary(info), headers, userMeta: info.meta.userMeta, system: info.meta.system });
    return;
  }
  if (method === 'PUT') {
    const size = Number(header(ctx, 'content-length') ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) throw new S3Error('MissingContentLength');
    // counted without starting the flow (as http/body does): a 'data' listener alone sets the
    // request flowing, and the bytes it emits before the storage driver attaches its pipe (the S3
    // driver first awaits its own checks) were lost: 400 IncompleteBody
    ctx.req.pause();
    ctx.req.on('data', (chunk: Buffer) => {
      ctx.bytesIn += chunk.length;
    });
    const info = await deps.objects.put(bucket, key, ctx.req, { meta: metaFromHeaders(ctx), size });
    sendJson(ctx, 200, objectSummary(info));
    return;
  }
  if (method === 'DELETE') {
    await deps.objects.delete(bucket, key);
    sendJson(ctx, 200, { deleted: key });
    return;
  }
  throw methodNotAllowed(call);
}

/** RFC 6266 filename*: the last path segment of the key (codec/header-value). */
function contentDisposition(key: string): string {
  return attachmentDisposition(key.split('/').filter(Boolean).pop() ?? 'download');
}

/** GET /buckets/:b/download?key=: the stored bytes as an attachment (never rendered by the console's origin). */
export async function download(call: ApiCall): Promise<void> {
  const { ctx, deps } = call;
  if (call.method !== 'GET') throw methodNotAllowed(call);
  const bucket = bucketParam(call);
  const key = keyParam(call);
  const got = await deps.objects.open(bucket, key);
  const headers = objectHeaders({ ...ctx, dialect: 's3' }, got.info, new Map());
  Object.assign(headers, {
    'Content-Disposition': contentDisposition(key),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "sandbox; default-src 'none'",
    'Cache-Control': 'no-store',
  });
  await sendStream(ctx, 200, headers, () => got.body, got.info.size, got.bytes);
}

/**
 * Multipart uploads for large files: POST /buckets/:b/uploads?key= starts one; PUT
 * /buckets/:b/uploads/:id?key=&part=N sends a part; POST …/:id?key= with {parts} completes it;
 * DELETE …/:id?key= aborts it.
 */
export async function uploads(call: ApiCall): Promise<void> {
  const { ctx, deps, method, parts, query } = call;
  const bucket = bucketParam(call);
  const key = keyParam(call);
  if (parts.length === 3) {
    if (method !== 'POST') throw methodNotAllowed(call);
    const up = await deps.multipart.create(bucket, key, metaFromHeaders(ctx));
    sendJson(ctx, 200, { uploadId: up.uploadId });
    return;
  }
  const uploadId = parts[3] ?? '';
  if (parts.length !== 4 || uploadId === '') throw methodNotAllowed(call);
  if (method === 'PUT') {
    const partNumber = parsePartNumber(query.get('part') ?? '');
    const size = Number(header(ctx, 'content-length') ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) throw new S3Error('MissingContentLength');
    const part = await deps.multipart.uploadPart(bucket, key, uploadId, partNumber, ctx.req, { size });
    sendJson(ctx, 200, { partNumber: part.partNumber, etag: part.etag, size: part.size });
    return;
  }
  if (method === 'POST') {
    const body = await readJsonBody(ctx);
    if (!Array.isArray(body.parts) || body.parts.length === 0)
      throw new S3Error('MalformedXML', { message: 'You must specify at least one part.' });
    const list = body.parts.map((p: unknown) => {
      const o = (p ?? {}) as { partNumber?: unknown; etag?: unknown };
      if (typeof o.partNumber !== 'number' || typeof o.etag !== 'string')
        throw new S3Error('InvalidArgument', { message: 'Each part needs a partNumber and an etag.' });
      return { partNumber: o.partNumber, etag: o.etag };
    });
    // the write path: a completed upload wins over a mirror fill of the key, as a PUT does (MIR-42)
    const info = await deps.multipart.complete(bucket, key, uploadId, list);
    sendJson(ctx, 200, objectSummary(info));
    return;
  }
  if (method === 'DELETE') {
    await deps.multipart.abort(bucket, key, uploadId);
    sendJson(ctx, 200, { aborted: uploadId });
    return;
  }
  throw methodNotAllowed(call);
}
