/**
 * @module http/handlers/admin
 * Osprey's own endpoints under /-/ (a prefix that can never be a bucket name):
 * health (open), and the rule simulator (owner credentials only).
 */
import { timingSafeEqual } from 'node:crypto';
import { S3Error } from '../../errors.js';
import type { Ctx } from '../context.js';
import { header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendBody } from '../respond.js';
import { readCapped } from '../../codec/xml.js';
import { handleConsole, isConsolePath } from './console.js';

/**
 * Paths that skip S3 signature checks: health (open to all) and metrics (loopback or bearer token,
 * checked below); everything else under /-/ needs the owner's signature.
 */
export function isOpenAdminPath(path: string): boolean {
  // the web console (page, assets and JSON API) checks its own session cookie (console/session)
  return path === 'health/live' || path === 'health/ready' || path === 'metrics' || isConsolePath(path);
}

export async function handleAdmin(ctx: Ctx, deps: Deps): Promise<void> {
  const path = ctx.endpoint?.adminPath ?? '';
  if (isConsolePath(path)) {
    await handleConsole(ctx, deps);
    return;
  }
  if (path === 'health/live') {
    sendBody(ctx, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    return;
  }
  if (path === 'health/ready') {
    try {
      await deps.buckets.ping();
      sendBody(ctx, 200, 'application/json', JSON.stringify({ status: 'ready' }));
    } catch {
      sendBody(ctx, 503, 'application/json', JSON.stringify({ status: 'store unavailable' }));
    }
    return;
  }
  if (path === 'metrics') {
    await metricsEndpoint(ctx, deps);
    return;
  }
  if (path === 'rules/explain' && ctx.req.method === 'POST') {
    await explainEndpoint(ctx, deps);
    return;
  }
  throw new S3Error('InvalidRequest', { message: `No such Osprey endpoint: ${ctx.req.method ?? ''} /-/${path}` });
}

/** Prometheus scrape: from loopback, or with `Authorization: Bearer <metricsToken>` (like MinIO). */
async function metricsEndpoint(ctx: Ctx, deps: Deps): Promise<void> {
  const token = deps.config.metricsToken;
  const given = /^Bearer\s+(.+)$/i.exec(header(ctx, 'authorization') ?? '')?.[1];
  const allowed = token !== undefined && given !== undefined ? sameSecret(given, token) : isLoopback(ctx.req.socket.remoteAddress);
  if (!allowed)
    throw new S3Error('AccessDenied', {
      message:
        token === undefined
          ? 'Metrics are served to loopback only; set --metrics-token to scrape from elsewhere.'
          : 'A valid bearer token is required for metrics.',
    });
  sendBody(ctx, 200, deps.metrics.contentType, await deps.metrics.text());
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface ExplainBody {
  bucket?: unknown;
  key?: unknown;
  method?: unknown;
  headers?: unknown;
  status?: unknown;
  query?: unknown;
  website?: unknown;
}

/**
 * POST /-/rules/explain {bucket, key, method?, headers?, status?, query?, website?}: what a request
 * would do, without contacting any origin or changing anything (the rule simulator).
 */
async function explainEndpoint(ctx: Ctx, deps: Deps): Promise<void> {
  const raw = await readCapped(ctx.req, 64 * 1024, ctx);
  let body: ExplainBody;
  try {
    body = JSON.parse(raw.toString('utf8')) as ExplainBody;
  } catch {
    throw new S3Error('InvalidArgument', { message: 'The body must be JSON: {"bucket": …, "key": …}.' });
  }
  if (typeof body.bucket !== 'string' || typeof body.key !== 'string')
    throw new S3Error('InvalidArgument', { message: 'bucket and key are required strings.' });
  const headers: Record<string, string> = {};
  if (body.headers && typeof body.headers === 'object') {
    for (const [k, v] of Object.entries(body.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  // the read service explains the decision its read path carries out (status 404: "as if missing"),
  // as the console's simulator asks it
  const result = await deps.reads.explain({
    bucket: body.bucket,
    key: body.key,
    headers,
    method: typeof body.method === 'string' ? body.method.toUpperCase() : 'GET',
    query: typeof body.query === 'string' ? body.query : '',
    websiteMode: body.website === true,
    ...(typeof body.status === 'number' && { status: body.status }),
  });
  sendBody(ctx, 200, 'application/json', JSON.stringify(result, null, 2));
}
