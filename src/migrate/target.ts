/**
 * @module migrate/target
 * The Osprey side of `osprey import` and `osprey verify`: an AWS SDK v3 client for a running
 * Osprey (or a source S3 store), the up-front bucket check, and a client view that adds request
 * headers (the origin marker) and reports the multipart uploads it starts (for the journal).
 */
import { CreateMultipartUploadCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../auth/sigv4.js';
import { errorBody } from '../codec/xml.js';
import { encodeKeyPath } from '../codec/uri.js';
import { ORIGIN_ETAG_META, ORIGIN_LAST_MODIFIED_META } from '../mirror/meta.js';
import { describe, FatalError, isCredentialError, s3Code } from './errors.js';
import type { Validators } from './source.js';

export interface ClientSettings {
  /** undefined: AWS's own endpoint for the region */
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** socket idle timeout and connect timeout, ms */
  timeoutMs: number;
  maxSockets: number;
}

export function makeClient(s: ClientSettings): S3Client {
  // the SDK warns on every Node 20 start that it will want Node 22 in 2027; not this tool's news
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agentOptions = { keepAlive: true, maxSockets: s.maxSockets };
  return new S3Client({
    ...(s.endpoint !== undefined && { endpoint: s.endpoint, forcePathStyle: true }),
    region: s.region,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // retries are the tool's own (with backoff, per object); a streamed body cannot be sent twice anyway
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: s.timeoutMs,
      requestTimeout: s.timeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

/** The bucket must exist and the credentials must be accepted; else a FatalError naming which. */
export async function checkBucket(client: S3Client, bucket: string, endpoint: string): Promise<void> {
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: AbortSignal.timeout(30_000) });
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
  client: S3Client,
  bucket: string,
  prefix: string,
  maxPages: number,
  signal: AbortSignal,
): Promise<Map<string, { size: number; etag: string }> | undefined> {
  const found = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    // encoding-type=url: any key survives the XML (control characters too)
    const out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: 1000,
        EncodingType: 'url',
        ...(token !== undefined && { ContinuationToken: token }),
      }),
      { abortSignal: signal },
    );
    for (const c of out.Contents ?? []) {
      if (c.Key !== undefined) found.set(decodeURIComponent(c.Key), { size: c.Size ?? 0, etag: (c.ETag ?? '').replace(/^"|"$/g, '') });
    }
    if (!out.IsTruncated) return found;
    token = out.NextContinuationToken;
    if (token === undefined) return undefined;
  }
  return undefined;
}

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

/**
 * The requests an import sends per object (HEAD of the key, a PUT of one object), signed here with
 * SigV4 and sent over one keep-alive pool of `connections` (undici). The AWS SDK stays for the rest
 * (the bucket check, multipart uploads): per small object it cost more CPU than the copy itself
 * (its middleware stack, endpoint rules and signer each time; issue 19).
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

  /** The same settings as an SDK client's (its region and credentials). */
  static async of(client: S3Client, endpoint: string, opts: { timeoutMs: number; connections: number }): Promise<TargetClient> {
    const creds = await client.config.credentials();
    return new TargetClient(
      endpoint,
      await client.config.region(),
      { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      opts,
    );
  }

  private path(bucket: string, key: string): string {
    return `${this.pathPrefix}/${encodeKeyPath(bucket)}/${encodeKeyPath(key)}`;
  }

  private signed(method: string, path: string, headers: Record<string, string>, payloadHash: string): Record<string, string> {
    return signRequestV4({ method, url: path, headers: { host: this.host, ...headers } }, this.creds, payloadHash, new Date(), this.region);
  }

  /** HEAD of a key, or undefined when it does not exist. */
  async head(bucket: string, key: string, signal: AbortSignal): Promise<BucketObject | undefined> {
    const p = this.path(bucket, key);
    // reset: false: undici closes the connection after a HEAD unless told (for servers that send a
    // body with one); Osprey does not, and a new connection per key doubled the import's CPU
    const res = await request(this.origin + p, {
      method: 'HEAD',
      headers: this.signed('HEAD', p, {}, EMPTY_SHA256),
      dispatcher: this.dispatcher,
      signal,
      reset: false,
    });
    await res.body.dump();
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
    signal: AbortSignal,
  ): Promise<{ etag?: string }> {
    const p = this.path(bucket, key);
    const signed = this.signed('PUT', p, { ...headers, 'content-length': String(size) }, 'UNSIGNED-PAYLOAD');
    const res = await request(this.origin + p, { method: 'PUT', headers: signed, body, dispatcher: this.dispatcher, signal, reset: false });
    if (res.statusCode === 200) {
      await res.body.dump();
      const etag = one(res.headers.etag);
      return etag !== undefined ? { etag: etag.replace(/^"|"$/g, '') } : {};
    }
    const text = await res.body.text().catch(() => '');
    const e = errorBody(text);
    const err = new TargetError(
      e.code ?? STATUS_CODE[res.statusCode] ?? `HTTP${res.statusCode}`,
      res.statusCode,
      e.message ?? `PUT answered ${res.statusCode}`,
    );
    if (err.name === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' no longer exists`);
    if (isCredentialError(err)) throw new FatalError(`the credentials were refused: ${describe(err)}`);
    throw err;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** HEAD of a key through the AWS SDK (verify's), or undefined when it does not exist. */
export async function headKey(client: S3Client, bucket: string, key: string, signal: AbortSignal): Promise<BucketObject | undefined> {
  // the marker and the recorded validators are headers the SDK's output does not carry
  let raw: Record<string, string | undefined> = {};
  const command = new HeadObjectCommand({ Bucket: bucket, Key: key });
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      raw = (out.response as { headers?: Record<string, string | undefined> } | undefined)?.headers ?? {};
      return out;
    },
    { step: 'deserialize', name: 'ospreyRawHeaders' },
  );
  try {
    const h = await client.send(command, { abortSignal: signal });
    const etag = raw[ORIGIN_ETAG_META];
    const lastModified = raw[ORIGIN_LAST_MODIFIED_META];
    return {
      size: h.ContentLength ?? 0,
      etag: (h.ETag ?? '').replace(/^"|"$/g, ''),
      fromOrigin: raw['x-oss-tag'] !== undefined,
      origin: { ...(etag !== undefined && { etag }), ...(lastModified !== undefined && { lastModified }) },
    };
  } catch (err) {
    const c = s3Code(err);
    if (c?.status === 404 && c.code !== 'NoSuchBucket') return undefined;
    if (c?.code === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' no longer exists`);
    if (isCredentialError(err)) throw new FatalError(`the credentials were refused: ${describe(err)}`);
    throw err;
  }
}

interface Sendable {
  middlewareStack: { add(mw: unknown, opts: object): void };
}

/**
 * The same client, but every request also carries `headers`, and `onUpload` hears the UploadId of
 * every CreateMultipartUpload (lib-storage's Upload starts them out of sight).
 */
export function withRequestHooks(client: S3Client, headers: Record<string, string>, onUpload?: (uploadId: string) => void): S3Client {
  const send = async (command: Sendable, options?: unknown): Promise<unknown> => {
    command.middlewareStack.add(
      (next: (args: { request?: { headers?: Record<string, string> } }) => Promise<unknown>) =>
        async (args: { request?: { headers?: Record<string, string> } }) => {
          if (args.request?.headers) Object.assign(args.request.headers, headers);
          return next(args);
        },
      { step: 'build', name: 'ospreyImportHeaders', override: true },
    );
    const out = await (client.send as (c: unknown, o?: unknown) => Promise<unknown>).call(client, command, options);
    const uploadId = (out as { UploadId?: string }).UploadId;
    if (command instanceof CreateMultipartUploadCommand && uploadId) onUpload?.(uploadId);
    return out;
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      return prop === 'send' ? send : Reflect.get(target, prop, receiver);
    },
  });
}
