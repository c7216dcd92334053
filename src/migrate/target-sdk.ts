/**
 * @module migrate/target-sdk
 * The AWS SDK v3 side of `osprey import` and `osprey verify`, loaded only when a run needs it: a
 * client for a running Osprey or a source S3 store (an S3 source, `verify`, multipart uploads), the
 * HEAD that `verify` sends, and a client view that adds request headers (the origin marker) and
 * reports the multipart uploads it starts (for the journal). Loading the SDK costs about 0.3 s of
 * CPU, more than an import of a thousand small objects spends on them (issue 19); migrate/target
 * does the rest without it.
 */
import { CreateMultipartUploadCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ORIGIN_ETAG_META, ORIGIN_LAST_MODIFIED_META } from '../mirror/meta.js';
import { describe, FatalError, isCredentialError, s3Code } from './errors.js';
import type { BucketObject } from './target.js';

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
