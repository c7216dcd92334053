/**
 * @module http/console/http
 * What the console API handlers share: the request bundle, JSON in and out, and errors in the
 * shape the page shows (`{error: {code, message, status, requestId}}`): S3 errors keep the API's
 * own code and words (BucketNotEmpty, the rule validator's messages).
 */
import { S3Error } from '../../errors.js';
import type { Ctx } from '../context.js';
import type { Deps } from '../deps.js';
import { sendBody } from '../respond.js';
import { validateBucketName, validateObjectKey } from '../../service/names.js';
import { readCapped } from '../../codec/xml.js';
import type { Session } from './session.js';

export interface ApiCall {
  ctx: Ctx;
  deps: Deps;
  method: string;
  /** the path after /-/console/api/, split on '/' (already percent-decoded by the router) */
  parts: string[];
  query: Map<string, string>;
  session: Session;
}

/** A console-only refusal (not an S3 error): its own code and status. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const NO_STORE = { 'Cache-Control': 'no-store' };

export function sendJson(ctx: Ctx, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBody(ctx, status, 'application/json; charset=utf-8', JSON.stringify(value), {
    ...NO_STORE,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
}

export function sendConsoleError(ctx: Ctx, deps: Deps, err: unknown): void {
  let status: number;
  let code: string;
  let message: string;
  if (err instanceof ConsoleError) {
    ({ status, code, message } = err);
  } else if (err instanceof S3Error && err.code !== 'InternalError') {
    ({ status, code, message } = err);
  } else {
    deps.log.error({ reqId: ctx.reqId, err }, 'console: internal error');
    ({ status, code, message } = new S3Error('InternalError'));
  }
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  sendJson(ctx, status, { error: { code, message, status, requestId: ctx.reqId } });
}

/** A JSON object body (capped); anything else is InvalidArgument. */
export async function readJsonBody(ctx: Ctx, limit = 512 * 1024): Promise<Record<string, unknown>> {
  const raw = await readCapped(ctx.req, limit, ctx);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new S3Error('InvalidArgument', { message: 'The request body must be JSON.' });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new S3Error('InvalidArgument', { message: 'The request body must be a JSON object.' });
  return v as Record<string, unknown>;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new S3Error('InvalidArgument', { message: `${what} is required.` });
  return v;
}

export function bucketParam(call: ApiCall): string {
  const b = call.parts[1] ?? '';
  validateBucketName(b);
  return b;
}

export function keyParam(call: ApiCall): string {
  const key = call.query.get('key') ?? '';
  validateObjectKey(key);
  return key;
}

export function methodNotAllowed(call: ApiCall): ConsoleError {
  return new ConsoleError(405, 'MethodNotAllowed', `${call.method} is not allowed on /-/console/api/${call.parts.join('/')}.`);
}
