/**
 * @module http/respond
 * The only place that writes responses: common headers, XML bodies, S3/OSS-shaped errors,
 * object headers, Range and conditional-request evaluation, streamed bodies. Helpers elsewhere
 * return values; only this module writes (STYLE §5, "answering twice").
 */
import type { Readable } from 'node:stream';
import { isSelfWriting, pipe } from '../streams.js';
import { S3Error } from '../errors.js';
import type { ByteRange, ObjectInfo } from '../storage/driver.js';
import type { Ctx } from './context.js';
import { header } from './context.js';
import { headerValue, textHeaderValue } from '../codec/header-value.js';
import { buildXml } from '../codec/xml.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function commonHeaders(ctx: Ctx): void {
  const res = ctx.res;
  res.setHeader('Server', 'Osprey');
  res.setHeader('x-amz-request-id', ctx.reqId);
  res.setHeader('x-amz-id-2', ctx.reqId);
  if (ctx.dialect === 'oss') res.setHeader('x-oss-request-id', ctx.reqId);
}

/**
 * Every header this module writes goes through here: values built from data (keys, metadata,
 * origin answers) are made writable, never thrown on (codec/header-value). `x-oss-tag` is stored
 * as text (the decoded origin URL, MIR-34) and goes out as its UTF-8 octets.
 */
function setHeaders(res: Ctx['res'], headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, outValue(k, v));
}

function outValue(name: string, value: string): string {
  return name === 'x-oss-tag' ? textHeaderValue(value) : headerValue(value);
}

/**
 * The bucket's CORS headers, set after the handler's: when the bucket has a CORS configuration
 * they replace every Access-Control-* header a handler set (a mirrored object's stored
 * Access-Control-Allow-Origin, MIR-26); without one, the handler's go out as they are (README, "CORS").
 */
function corsHeaders(ctx: Ctx): void {
  const cors = ctx.cors;
  if (cors === undefined) return;
  const res = ctx.res;
  for (const name of res.getHeaderNames()) if (name.startsWith('access-control-')) res.removeHeader(name);
  setHeaders(res, cors);
}

/**
 * `res.end(body)`, except when a Content-Disposition holds octets above 0x7F: Node re-decodes that
 * header as UTF-8 when end() carries the body (nodejs/node#46528), which garbles a stored UTF-8
 * file name (`日` went out as one octet 0xE5, `上` as a bare LF). Then the body goes by write().
 */
function endWith(res: Ctx['res'], body: Buffer, contentDisposition = res.getHeader('content-disposition')): void {
  if (typeof contentDisposition === 'string' && !/^[\x00-\x7f]*$/.test(contentDisposition)) {
    res.write(body);
    res.end();
    return;
  }
  res.end(body);
}

export function sendEmpty(ctx: Ctx, status: number, headers: Record<string, string> = {}): void {
  commonHeaders(ctx);
  setHeaders(ctx.res, headers);
  corsHeaders(ctx);
  ctx.res.statusCode = status;
  if (status !== 204 && status !== 304 && !ctx.res.hasHeader('content-length')) ctx.res.setHeader('Content-Length', '0');
  ctx.res.end();
}

/** `doc` is `{ RootElement: {...} }`; the S3 namespace is added to the root element. */
export function sendXml(ctx: Ctx, status: number, doc: Record<string, unknown>, headers: Record<string, string> = {}, ns = true): void {
  const [root] = Object.keys(doc);
  const body =
    root !== undefined && ns && ctx.dialect === 's3'
      ? buildXml({ [root]: { '@_xmlns': S3_NS, ...(doc[root] as Record<string, unknown>) } })
      : buildXml(doc);
  sendBody(ctx, status, 'application/xml', body, headers);
}

export function sendBody(ctx: Ctx, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  commonHeaders(ctx);
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  ctx.res.statusCode = status;
  ctx.res.setHeader('Content-Type', contentType);
  ctx.res.setHeader('Content-Length', String(buf.length));
  setHeaders(ctx.res, headers);
  corsHeaders(ctx);
  ctx.bytesOut += buf.length;
  if (ctx.req.method === 'HEAD') ctx.res.end();
  else endWith(ctx.res, buf);
}

/** Error document in the request's dialect (spec ERR-01, ERR-02, ERR-04). */
export function sendError(ctx: Ctx, err: S3Error): void {
  const res = ctx.res;
  if (res.headersSent) {
    // Too late for a clean answer: a truncated body must never look complete.
    res.destroy(err);
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const fields: Record<string, string> = { Code: err.code, Message: err.message };
  if (err.detail.key !== undefined) fields.Key = err.detail.key;
  if (err.detail.bucket !== undefined) fields.BucketName = err.detail.bucket;
  Object.assign(fields, err.detail.fields ?? {});
  if (ctx.dialect === 's3') fields.Resource = resourceOf(ctx);
  fields.RequestId = ctx.reqId;
  fields.HostId = ctx.dialect === 'oss' ? (header(ctx, 'host') ?? 'osprey') : ctx.reqId;
  if (ctx.dialect === 'oss') fields.EC = err.ec;
  const xml = buildXml({ Error: fields });
  const headers: Record<string, string> = { ...(err.detail.headers ?? {}) };
  if (ctx.dialect === 'oss') {
    headers['x-oss-ec'] = err.ec;
    if (ctx.req.method === 'HEAD') headers['x-oss-err'] = Buffer.from(xml).toString('base64');
  }
  if (err.status === 304) {
    sendEmpty(ctx, 304, headers);
    return;
  }
  if (ctx.req.method === 'HEAD') {
    // the GET's headers without its body: with no Content-Length, Node.js's HTTP client (the AWS
    // SDK's) takes the answer to run to the connection's end and closes it (issue 19)
    commonHeaders(ctx);
    res.setHeader('Content-Type', 'application/xml');
    res.setHeader('Content-Length', String(Buffer.byteLength(xml)));
    setHeaders(res, headers);
    corsHeaders(ctx);
    res.statusCode = err.status;
    res.end();
    return;
  }
  sendBody(ctx, err.status, 'application/xml', xml, headers);
}

function resourceOf(ctx: Ctx): string {
  const url = ctx.req.url ?? '/';
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

let lastDateMs = NaN;
let lastDate = '';
/** RFC 7231 date; the last answer is reused for the same second (the hot GET path formats one per response). */
export function httpDate(d: Date): string {
  const ms = d.getTime() - (d.getTime() % 1000);
  if (ms !== lastDateMs) {
    lastDateMs = ms;
    lastDate = d.toUTCString();
  }
  return lastDate;
}

const STORED_HEADERS: Record<string, string> = {
  'content-type': 'Content-Type',
  'content-encoding': 'Content-Encoding',
  'content-disposition': 'Content-Disposition',
  'cache-control': 'Cache-Control',
  expires: 'Expires',
  'content-language': 'Content-Language',
};
export const STORED_HEADER_NAMES = Object.keys(STORED_HEADERS);

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

/** Headers describing a stored object (GET/HEAD), with response-* query overrides applied. */
export function objectHeaders(ctx: Ctx, info: ObjectInfo, query: Map<string, string>): Record<string, string> {
  const h: Record<string, string> = {
    ETag: `"${info.etag}"`,
    'Last-Modified': httpDate(info.lastModified),
    'Accept-Ranges': 'bytes',
  };
  const stored = info.meta.headers;
  for (const name in STORED_HEADERS) {
    const v = stored[name];
    if (v !== undefined) h[STORED_HEADERS[name]!] = v;
  }
  if (h['Content-Type'] === undefined) h['Content-Type'] = 'binary/octet-stream';
  // MIR-26: a mirror fill keeps the origin's CORS header (only fills store it; PUT does not accept it)
  const acao = stored['access-control-allow-origin'];
  if (acao !== undefined) h['Access-Control-Allow-Origin'] = acao;
  const metaPrefix = ctx.dialect === 'oss' ? 'x-oss-meta-' : 'x-amz-meta-';
  const { userMeta, system } = info.meta;
  for (const k in userMeta) h[metaPrefix + k] = userMeta[k]!;
  for (const k in system) {
    if (k.startsWith('x-amz-checksum-') && header(ctx, 'x-amz-checksum-mode')?.toUpperCase() !== 'ENABLED') continue;
    h[k] = system[k]!;
  }
  if (query.size > 0)
    for (const param in OVERRIDES) {
      const v = query.get(param);
      // a decoded query parameter is text: its UTF-8 octets, as S3 sends them
      if (v !== undefined) h[OVERRIDES[param]!] = textHeaderValue(v);
    }
  return h;
}

/**
 * Parse a single `Range: bytes=…` header against the object size.
 * Returns undefined for no Range (or a syntax that RFC 9110 says to ignore, such as several
 * ranges or another unit); throws InvalidRange (416) when it cannot be satisfied.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const unsatisfiable = () =>
    new S3Error('InvalidRange', {
      fields: { RangeRequested: value, ActualObjectSize: String(size) },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) throw unsatisfiable();
  return { start, end };
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const s = t.trim().replace(/^W\//, '');
    return s === '*' || s.replace(/^"|"$/g, '') === etag;
  });
}

function parseDate(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Conditional GET/HEAD per RFC 9110 §13.2.2 and S3: If-Match (412) takes precedence over
 * If-Unmodified-Since; If-None-Match (304) over If-Modified-Since.
 */
export function checkConditions(ctx: Ctx, info: ObjectInfo, prefix = ''): void {
  const get = (n: string) => header(ctx, prefix + n);
  const lastModified = Math.floor(info.lastModified.getTime() / 1000);
  const ifMatch = get('if-match');
  const ifNoneMatch = get('if-none-match');
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, info.etag)) throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-Match' } });
  } else {
    const ius = parseDate(get('if-unmodified-since'));
    if (ius && lastModified > Math.floor(ius.getTime() / 1000)) {
      throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-Unmodified-Since' } });
    }
  }
  const notModified = () =>
    new S3Error('NotModified', { headers: { ETag: `"${info.etag}"`, 'Last-Modified': httpDate(info.lastModified) } });
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, info.etag)) {
      if (prefix) throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-None-Match' } });
      throw notModified();
    }
  } else {
    const ims = parseDate(get('if-modified-since'));
    if (ims && lastModified <= Math.floor(ims.getTime() / 1000)) {
      if (prefix) throw new S3Error('PreconditionFailed', { fields: { Condition: 'If-Modified-Since' } });
      throw notModified();
    }
  }
}

/**
 * A body held whole (a small object's bytes): the same headers as commonHeaders + setHeaders +
 * corsHeaders would set, given to `writeHead` as one list, and the body in the same write. Node's
 * header object (one setHeader per header, then the object walked again) cost ~10 µs of a 4 KiB
 * hit's ~85 (issue 19). A name given twice, in any case, keeps its last value, as setHeader does.
 */
function sendWhole(ctx: Ctx, status: number, headers: Record<string, string>, length: number | undefined, bytes: Buffer): void {
  const flat = ['Server', 'Osprey', 'x-amz-request-id', ctx.reqId, 'x-amz-id-2', ctx.reqId];
  if (ctx.dialect === 'oss') flat.push('x-oss-request-id', ctx.reqId);
  const at: Record<string, number> = { server: 0, 'x-amz-request-id': 2, 'x-amz-id-2': 4 };
  const cors = ctx.cors;
  for (const k in headers) {
    // with a CORS configuration the bucket's Access-Control-* replace the handler's (corsHeaders)
    if (cors !== undefined && k.toLowerCase().startsWith('access-control-')) continue;
    putHeader(flat, at, k, outValue(k, headers[k]!));
  }
  if (cors !== undefined) for (const k in cors) putHeader(flat, at, k, outValue(k, cors[k]!));
  putHeader(flat, at, 'Content-Length', String(length ?? bytes.length));
  ctx.bytesOut += bytes.length;
  ctx.res.writeHead(status, flat);
  const cd = at['content-disposition'];
  endWith(ctx.res, bytes, cd === undefined ? '' : flat[cd + 1]);
}

/** Adds a header to a writeHead list; a name already there (any case) gets the new value, as setHeader does. */
function putHeader(flat: string[], at: Record<string, number>, name: string, value: string): void {
  const lower = name.toLowerCase();
  const i = at[lower];
  if (i === undefined) {
    at[lower] = flat.length;
    flat.push(name, value);
  } else flat[i + 1] = value;
}

/**
 * Stream an object body (or write `bytes` at once when the driver had them in memory). On a
 * failure after the headers went out, the socket is destroyed: never a clean, short answer (MIR-22).
 */
export async function sendStream(
  ctx: Ctx,
  status: number,
  headers: Record<string, string>,
  body: () => Readable,
  length: number | undefined,
  bytes?: Buffer,
): Promise<void> {
  if (bytes) {
    sendWhole(ctx, status, headers, length, bytes);
    return;
  }
  commonHeaders(ctx);
  ctx.res.statusCode = status;
  setHeaders(ctx.res, headers);
  corsHeaders(ctx);
  // no length (a mirrored body whose origin sent none): chunked, as the origin did (MIR-20)
  if (length !== undefined) ctx.res.setHeader('Content-Length', String(length));
  const stream = body();
  if (ctx.req.method === 'HEAD') {
    stream.destroy();
    ctx.res.end();
    return;
  }
  if (isSelfWriting(stream)) {
    await stream.writeInto(ctx.res, (n) => {
      ctx.bytesOut += n;
    });
    return;
  }
  stream.on('data', (chunk: Buffer) => {
    ctx.bytesOut += chunk.length;
  });
  await pipe(stream, ctx.res);
}
