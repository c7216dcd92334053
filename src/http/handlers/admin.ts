/**
 * @module http/handlers/admin
 * Osprey's own endpoints under /-/ (a prefix that can never be a bucket name): health now;
 * metrics, the rule simulator and the console later.
 */
import { S3Error } from '../../errors.js';
import type { Ctx } from '../context.js';
import type { Deps } from '../deps.js';
import { sendBody } from '../respond.js';

export async function handleAdmin(ctx: Ctx, deps: Deps): Promise<void> {
  const path = ctx.endpoint?.adminPath ?? '';
  if (path === 'health/live') {
    sendBody(ctx, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    return;
  }
  if (path === 'health/ready') {
    try {
      await deps.driver.ping();
      sendBody(ctx, 200, 'application/json', JSON.stringify({ status: 'ready' }));
    } catch {
      sendBody(ctx, 503, 'application/json', JSON.stringify({ status: 'store unavailable' }));
    }
    return;
  }
  throw new S3Error('InvalidRequest', { message: `No such Osprey endpoint: /-/${path}` });
}
