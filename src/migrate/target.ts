/**
 * @module migrate/target
 * The Osprey side of `osprey import` and `osprey verify`: an AWS SDK v3 client for a running
 * Osprey (or a source S3 store), the up-front bucket check, and a client view that adds request
 * headers (the origin marker) and reports the multipart uploads it starts (for the journal).
 */
import { CreateMultipartUploadCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
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
    requestHandler: { connectionTimeout: s.timeoutMs, requestTimeout: s.timeoutMs, httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) },
  });
}

/** The bucket must exist and the credentials must be accepted; else a FatalError naming which. */
export async function checkBucket(client: S3Client, bucket: string, endpoint: string): Promise<void> {
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const c = s3Code(err);
    if (c?.code === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' does not exist at ${endpoint}`);
    if (isCredentialError(err)) throw new FatalError(`${endpoint} refused the credentials: ${describe(err)} (check --access-key-id/--secret-access-key or OSPREY_ACCESS_KEY_ID/OSPREY_SECRET_ACCESS_KEY)`);
    if (c?.code === 'AccessDenied' || c?.status === 403) throw new FatalError(`${endpoint} denied access to bucket '${bucket}': ${describe(err)}`);
    throw new FatalError(`cannot reach ${endpoint}: ${describe(err)}`);
  }
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

/** HEAD of a key, or undefined when it does not exist. */
export async function headKey(client: S3Client, bucket: string, key: string, signal: AbortSignal): Promise<BucketObject | undefined> {
  // the marker and the recorded validators are headers the SDK's output does not carry
  let raw: Record<string, string | undefined> = {};
  const command = new HeadObjectCommand({ Bucket: bucket, Key: key });
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { statusCode?: number; headers?: Record<string, string | undefined>; body?: { resume?: () => void } } | undefined;
      raw = response?.headers ?? {};
      // the SDK never reads the (empty) body of a HEAD's error answer (404): read here, else its
      // connection never goes back to the pool and every missing key costs a new one
      if ((response?.statusCode ?? 200) >= 300) response?.body?.resume?.();
      return out;
    },
    // low: next to the raw answer, inside the SDK's deserializer
    { step: 'deserialize', name: 'ospreyRawHeaders', priority: 'low' },
  );
  try {
    const h = await client.send(command, { abortSignal: signal });
    const etag = raw[ORIGIN_ETAG_META];
    const lastModified = raw[ORIGIN_LAST_MODIFIED_META];
    return {
      size: h.ContentLength ?? 0, etag: (h.ETag ?? '').replace(/^"|"$/g, ''), fromOrigin: raw['x-oss-tag'] !== undefined,
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
      (next: (args: { request?: { headers?: Record<string, string> } }) => Promise<unknown>) => async (args: { request?: { headers?: Record<string, string> } }) => {
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
