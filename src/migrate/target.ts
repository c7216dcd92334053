/**
 * @module migrate/target
 * The Osprey side of `osprey import` and `osprey verify`: the requests every run sends (the
 * up-front bucket check, the listing of what the bucket already holds, a HEAD and a PUT per
 * object), signed here with SigV4 over one undici pool, without the AWS SDK (migrate/target-sdk,
 * loaded only for multipart uploads, an S3 source and `verify`'s reads).
 */
import { createHmac, hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { canonicalQuery } from '../auth/encoding.js';
import { signingKey, signRequestV4 } from '../auth/sigv4.js';
import { child, children, errorBody, parseXml, text } from '../codec/xml.js';
import { encodeKeyPath } from '../codec/uri.js';
import { ORIGIN_ETAG_META, ORIGIN_LAST_MODIFIED_META } from '../mirror/meta.js';
import { describe, FatalError, isCredentialError, s3Code } from './errors.js';
import { keyPath } from './source.js';
import type { Validators } from './source.js';

/** An object in the bucket, as its HEAD tells. */
export interface BucketObject {
  size: number;
  /** no quotes */
  etag: string;
  /** it carries the origin marker (`x-oss-tag`): a mirror fill or an import wrote it, not a client */
  fromOrigin: boolean;
  /** the origin's validators recorded with the copy (none: an older Osprey copied it, or a client wrote it) */
  origin: Validators;
}

/**
 * An error answer from Osprey, shaped as the AWS SDK shapes one (`name` the S3 code, `$metadata`
 * the HTTP status), so errors.ts tells it apart the same way.
 */
export class TargetError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** The S3 code a body-less answer (HEAD) stands for, as the AWS SDK names it. */
const STATUS_CODE: Record<number, string> = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 412: 'PreconditionFailed' };

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A path that is its own canonical URI: only unreserved characters, '/' and upper-case escapes (what encodeKeyPath makes). */
const CANONICAL_PATH = /^(?:[A-Za-z0-9\-._~/]|%[0-9A-F]{2})*$/;
/** A header value SigV4's trimming would change (leading, trailing or repeated blanks, tabs). */
const UNTRIMMED = /^[ \t]|[ \t]$|[ \t][ \t]|\t/;

let amzSecond = -1;
let amzDate = '';

/**
 * SigV4 headers of one request of the import's own, exactly as auth/sigv4's signRequestV4 signs it
 * (test/unit/migrate-target-sign.test.ts compares the two), for a path already in canonical form
 * and a query already canonical (sorted, encoded): the general signer re-encodes the path byte by
 * byte and copies the headers three times, 0.13 ms per object of an import's 1.2 (issue 19).
 * `headers`: lower-case names, host included.
 */
export function sigV4Headers(
  method: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  creds: { accessKeyId: string; secretAccessKey: string },
  payloadHash: string,
  region: string,
  now = Date.now(),
): Record<string, string> {
  const second = Math.floor(now / 1000);
  if (second !== amzSecond) {
    amzSecond = second;
    amzDate = new Date(second * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  }
  const date = amzDate.slice(0, 8);
  const all: Record<string, string> = { ...headers, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const names = Object.keys(all).sort();
  let canonical = `${method}\n${path}\n${query}\n`;
  for (const name of names) {
    const v = all[name]!;
    canonical += `${name}:${UNTRIMMED.test(v) ? v.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ') : v}\n`;
  }
  const signed = names.join(';');
  canonical += `\n${signed}\n${payloadHash}`;
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${hash('sha256', canonical)}`;
  const signature = createHmac('sha256', signingKey(creds.secretAccessKey, date, region, 's3'))
    .update(toSign)
    .digest('hex');
  all.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
  return all;
}

/**
 * The requests an import sends (ListObjectsV2 pages, HEAD of a key, a PUT of one object), signed
 * here with SigV4 and sent over one keep-alive pool of `connections` (undici). The AWS SDK stays
 * for multipart uploads (migrate/target-sdk): per small object it cost more CPU than the copy
 * itself (its middleware stack, endpoint rules and signer each time), and loading it 0.3 s (issue 19).
 */
export class TargetClient {
  private readonly dispatcher: Agent;
  /** scheme, host and port */
  private readonly origin: string;
  /** the endpoint's own path, if it has one (a proxy's), without a trailing '/' */
  private readonly pathPrefix: string;
  private readonly host: string;

  constructor(
    endpoint: string,
    private readonly region: string,
    private readonly creds: { accessKeyId: string; secretAccessKey: string },
    opts: { timeoutMs: number; connections: number },
  ) {
    const u = new URL(endpoint);
    this.origin = u.origin;
    this.pathPrefix = u.pathname.replace(/\/+$/, '');
    this.host = u.host;
    this.dispatcher = new Agent({
      connections: opts.connections,
      connect: { timeout: opts.timeoutMs },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  private path(bucket: string, key: string): string {
    return `${this.pathPrefix}/${keyPath(bucket)}/${keyPath(key)}`;
  }

  /**
   * One request through the pool, its answer read whole (the body of an answer to a HEAD or a PUT
   * is nothing, or an error document). undici's dispatch with a plain handler: request() made a
   * stream and an async resource per answer, ~10 % of the client's CPU per request (issue 19).
   * A body is kept up to 1 MiB (an error document is a few hundred bytes).
   */
  private send(
    method: 'HEAD' | 'PUT',
    path: string,
    headers: Record<string, string>,
    body: Buffer | Readable | null,
    signal: AbortSignal | undefined,
  ): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let statusCode = 0;
      let answer: Record<string, string | string[] | undefined> = {};
      const chunks: Buffer[] = [];
      let kept = 0;
      let controller: Dispatcher.DispatchController | undefined;
      let settled = false;
      const onAbort = () => {
        controller?.abort(signal?.reason);
        finish(signal?.reason);
      };
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve({ statusCode, headers: answer, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatcher.dispatch(
        { origin: this.origin, path, method, headers, body, reset: false },
        {
          onRequestStart: (c) => {
            controller = c;
            // aborted while it waited for a connection
            if (settled) c.abort(signal?.reason);
          },
          onResponseStart: (_c, status, h) => {
            statusCode = status;
            answer = h;
          },
          onResponseData: (_c, chunk) => {
            if (kept + chunk.length <= 1024 * 1024) chunks.push(chunk);
            kept += chunk.length;
          },
          onResponseEnd: () => finish(undefined),
          onResponseError: (_c, err) => finish(err),
        },
      );
    });
  }

  /** `pathAndQuery`: a query, if any, in canonical form (auth/encoding's canonicalQuery). */
  private signed(method: string, pathAndQuery: string, headers: Record<string, string>, payloadHash: string): Record<string, string> {
    const q = pathAndQuery.indexOf('?');
    const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
    if (CANONICAL_PATH.test(path) && Object.keys(headers).every((n) => n === n.toLowerCase()))
      return sigV4Headers(
        method,
        path,
        q < 0 ? '' : pathAndQuery.slice(q + 1),
        { host: this.host, ...headers },
        this.creds,
        payloadHash,
        this.region,
      );
    return signRequestV4(
      { method, url: pathAndQuery, headers: { host: this.host, ...headers } },
      this.creds,
      payloadHash,
      new Date(),
      this.region,
    );
  }

  /** HEAD of a key, or undefined when it does not exist. */
  async head(bucket: string, key: string, signal?: AbortSignal): Promise<BucketObject | undefined> {
    const p = this.path(bucket, key);
    // reset: false: undici closes the connection after a HEAD unless told (for servers that send a
    // body with one); Osprey does not, and a new connection per key doubled the import's CPU
    const res = await this.send('HEAD', p, this.signed('HEAD', p, {}, EMPTY_SHA256), null, signal);
    const h = res.headers;
    if (res.statusCode === 200) {
      const etag = one(h[ORIGIN_ETAG_META]);
      const lastModified = one(h[ORIGIN_LAST_MODIFIED_META]);
      const length = Number(one(h['content-length']) ?? 0);
      return {
        size: Number.isSafeInteger(length) ? length : 0,
        etag: (one(h.etag) ?? '').replace(/^"|"$/g, ''),
        fromOrigin: h['x-oss-tag'] !== undefined,
        origin: { ...(etag !== undefined && { etag }), ...(lastModified !== undefined && { lastModified }) },
      };
    }
    // a HEAD's answer has no body: its status tells (a missing bucket is a 404 too; its PUT then says NoSuchBucket)
    if (res.statusCode === 404) return undefined;
    const err = new TargetError(STATUS_CODE[res.statusCode] ?? `HTTP${res.statusCode}`, res.statusCode, `HEAD answered ${res.statusCode}`);
    if (isCredentialError(err)) throw new FatalError(`the credentials were refused: ${describe(err)}`);
    throw err;
  }

  /**
   * PUT of one object of `size` bytes (a Buffer, or a stream of exactly that many). The payload is
   * not hashed for the signature (UNSIGNED-PAYLOAD, as the SDK signs a stream); Osprey checks the
   * length, and Content-MD5 when `headers` has one. Returns the ETag without quotes.
   */
  async put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    size: number,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ etag?: string }> {
    const p = this.path(bucket, key);
    const signed = this.signed('PUT', p, { ...headers, 'content-length': String(size) }, 'UNSIGNED-PAYLOAD');
    const res = await this.send('PUT', p, signed, body, signal);
    if (res.statusCode === 200) {
      const etag = one(res.headers.etag);
      return etag !== undefined ? { etag: etag.replace(/^"|"$/g, '') } : {};
    }
    const e = errorBody(res.body.toString());
    const err = new TargetError(
      e.code ?? STATUS_CODE[res.statusCode] ?? `HTTP${res.statusCode}`,
      res.statusCode,
      e.message ?? `PUT answered ${res.statusCode}`,
    );
    if (err.name === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' no longer exists`);
    if (isCredentialError(err)) throw new FatalError(`the credentials were refused: ${describe(err)}`);
    throw err;
  }

  /**
   * One page of ListObjectsV2 (keys URL-encoded by the server, decoded here: any key survives the
   * XML, control characters too).
   */
  async list(
    bucket: string,
    q: { prefix?: string; maxKeys: number; token?: string },
    signal: AbortSignal,
  ): Promise<{ contents: { key: string; size: number; etag: string }[]; truncated: boolean; next?: string }> {
    const params: [string, string][] = [
      ['list-type', '2'],
      ['encoding-type', 'url'],
      ['max-keys', String(q.maxKeys)],
    ];
    if (q.token !== undefined) params.push(['continuation-token', q.token]);
    if (q.prefix) params.push(['prefix', q.prefix]);
    // sent in canonical form, as signed
    const p = `${this.pathPrefix}/${encodeKeyPath(bucket)}?${canonicalQuery(params)}`;
    const res = await request(this.origin + p, {
      method: 'GET',
      headers: this.signed('GET', p, {}, EMPTY_SHA256),
      dispatcher: this.dispatcher,
      signal,
      reset: false,
    });
    const body = await res.body.text();
    if (res.statusCode !== 200) {
      const e = errorBody(body);
      throw new TargetError(
        e.code ?? STATUS_CODE[res.statusCode] ?? `HTTP${res.statusCode}`,
        res.statusCode,
        e.message ?? `GET answered ${res.statusCode}`,
      );
    }
    const result = child(parseXml(body, ['ListBucketResult.Contents']), 'ListBucketResult');
    const contents: { key: string; size: number; etag: string }[] = [];
    for (const c of children(child(result, 'Contents'))) {
      const key = text(child(c, 'Key'));
      if (key === undefined) continue;
      const size = Number(text(child(c, 'Size')) ?? 0);
      contents.push({
        key: decodeURIComponent(key),
        size: Number.isSafeInteger(size) ? size : 0,
        etag: (text(child(c, 'ETag')) ?? '').replace(/^"|"$/g, ''),
      });
    }
    const next = text(child(result, 'NextContinuationToken'));
    return { contents, truncated: text(child(result, 'IsTruncated')) === 'true', ...(next !== undefined && { next }) };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The bucket must exist and the credentials must be accepted; else a FatalError naming which. */
export async function checkBucket(target: TargetClient, bucket: string, endpoint: string): Promise<void> {
  try {
    await target.list(bucket, { maxKeys: 1 }, AbortSignal.timeout(30_000));
  } catch (err) {
    const c = s3Code(err);
    if (c?.code === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' does not exist at ${endpoint}`);
    if (isCredentialError(err))
      throw new FatalError(
        `${endpoint} refused the credentials: ${describe(err)} (check --access-key-id/--secret-access-key or OSPREY_ACCESS_KEY_ID/OSPREY_SECRET_ACCESS_KEY)`,
      );
    if (c?.code === 'AccessDenied' || c?.status === 403)
      throw new FatalError(`${endpoint} denied access to bucket '${bucket}': ${describe(err)}`);
    throw new FatalError(`cannot reach ${endpoint}: ${describe(err)}`);
  }
}

/**
 * The keys under `prefix` in the bucket with their size and ETag, from at most `maxPages` pages of
 * ListObjectsV2 (1,000 keys each); undefined when the listing does not end within them.
 */
export async function listKeys(
  target: TargetClient,
  bucket: string,
  prefix: string,
  maxPages: number,
  signal: AbortSignal,
): Promise<Map<string, { size: number; etag: string }> | undefined> {
  const found = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const out = await target.list(bucket, { prefix, maxKeys: 1000, ...(token !== undefined && { token }) }, signal);
    for (const c of out.contents) found.set(c.key, { size: c.size, etag: c.etag });
    if (!out.truncated) return found;
    token = out.next;
    if (token === undefined) return undefined;
  }
  return undefined;
}
