/**
 * @module http/context
 * The per-request bundle handed from the server to the handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthResult } from '../auth/types.js';
import type { BucketView } from '../service/read.js';
import type { Endpoint } from './route.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  reqId: string;
  /** process.hrtime.bigint() at arrival */
  started: bigint;
  endpoint?: Endpoint;
  auth?: AuthResult;
  /** which error/header dialect to answer in */
  dialect: 's3' | 'oss';
  /**
   * The bucket's CORS headers for this answer (service/cors), decided before authentication; set
   * only when the bucket has a CORS configuration, and then they replace every Access-Control-*
   * header a handler set (respond.ts).
   */
  cors?: Readonly<Record<string, string>>;
  /** GetObject/HeadObject: the bucket, its website and CORS configurations, read once for the request (service/read) */
  bucketView?: BucketView;
  /** bytes of body received / sent, for the access log */
  bytesIn: number;
  bytesOut: number;
}

export function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The bucket a bucket-level handler works on (the router guarantees one). */
export function bucketOf(ctx: Ctx): string {
  const b = ctx.endpoint?.bucket;
  if (b === undefined) throw new Error(`${ctx.endpoint?.op ?? 'handler'} without a bucket`);
  return b;
}

/** Bucket, key and query of an object-level handler (the router guarantees both). */
export function objectTarget(ctx: Ctx): { bucket: string; key: string; query: Map<string, string> } {
  const ep = ctx.endpoint;
  if (!ep?.bucket || ep.key === undefined) throw new Error(`${ep?.op ?? 'handler'} without a bucket and key`);
  return { bucket: ep.bucket, key: ep.key, query: ep.query };
}
