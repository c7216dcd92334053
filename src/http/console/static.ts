/**
 * @module http/console/static
 * The console's built files (scripts/build-console.ts writes them to dist/web/console/): index.html
 * revalidated on every visit, content-hashed assets cached for a year. Nothing else on disk is
 * reachable: asset names are checked against a strict pattern before any path is built.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../context.js';
import { sendBody } from '../respond.js';

/** src/http/console and dist/http/console (compiled) are both three levels below the project root. */
export const CONSOLE_DIR = path.resolve(import.meta.dirname, '../../../dist/web/console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Everything the page needs comes from this origin; nothing is inlined and nothing may frame it. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Osprey console not built</title>
<h1>The Osprey web console has not been built</h1>
<p>Build it with <code>npm run build</code> (or <code>node --import tsx scripts/build-console.ts</code>) and reload this page.</p>`;

/** Serve `rest` ('' or 'index.html' for the page, 'assets/NAME' for a file). Returns false when there is no such file. */
export async function serveStatic(ctx: Ctx, rest: string, dir = CONSOLE_DIR): Promise<boolean> {
  const method = ctx.req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (rest === '' || rest === 'index.html') {
    let html: Buffer;
    try {
      html = await readFile(path.join(dir, 'index.html'));
    } catch {
      sendBody(ctx, 503, TYPES['.html'] ?? '', NOT_BUILT, { 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      return true;
    }
    sendBody(ctx, 200, TYPES['.html'] ?? '', html, { 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
    return true;
  }
  const m = /^assets\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(js|css|svg|map|txt))$/.exec(rest);
  if (!m?.[1]) return false;
  let body: Buffer;
  try {
    body = await readFile(path.join(dir, 'assets', m[1]));
  } catch {
    return false;
  }
  // names carry a content hash (app-3FJ2K1QX.js): a new build is a new name
  const hashed = /-[A-Z0-9]{8}\./.test(m[1]);
  sendBody(ctx, 200, TYPES[`.${m[2] ?? ''}`] ?? 'application/octet-stream', body, {
    'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  return true;
}
