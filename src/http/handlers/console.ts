/**
 * @module http/handlers/console
 * The web console under /-/console: the built page and its assets (open: they hold no data) and
 * the JSON API under /-/console/api/ (session cookie; see console/session). The console does its
 * own authentication, so admin.ts lets these paths past the S3 signature check.
 */
import { handleApi } from '../console/api.js';
import { ConsoleError, sendConsoleError } from '../console/http.js';
import { serveStatic } from '../console/static.js';
import type { Ctx } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty } from '../respond.js';

/** `/-/console` and everything below it (adminPath is the path after `/-/`). */
export function isConsolePath(adminPath: string): boolean {
  return adminPath === 'console' || adminPath.startsWith('console/');
}

export async function handleConsole(ctx: Ctx, deps: Deps): Promise<void> {
  const path = ctx.endpoint?.adminPath ?? '';
  try {
    if (path === 'console') {
      sendEmpty(ctx, 301, { Location: '/-/console/' });
      return;
    }
    const rest = path.slice('console/'.length);
    if (rest.startsWith('api/')) {
      await handleApi(ctx, deps, rest.slice('api/'.length));
      return;
    }
    if (!(await serveStatic(ctx, rest))) throw new ConsoleError(404, 'NotFound', `No console file /-/console/${rest}.`);
  } catch (err) {
    sendConsoleError(ctx, deps, err);
    discardBody(ctx);
  }
}

/** After an early error, read what the client still sends (so it sees the answer), up to a point. */
function discardBody(ctx: Ctx): void {
  const { req } = ctx;
  if (req.complete || req.destroyed) return;
  let n = 0;
  req.on('data', (chunk: Buffer) => {
    n += chunk.length;
    if (n > 16 * 1024 * 1024) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
