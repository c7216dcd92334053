/**
 * @module http/console/api
 * The console's JSON API under /-/console/api/: sign-in and sign-out, then every other call behind
 * the session cookie. State-changing calls (anything but GET/HEAD) also need the CSRF header and
 * must not come from another site (Origin / Sec-Fetch-Site), on top of the cookie's SameSite=Strict.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { header } from '../context.js';
import type { Ctx } from '../context.js';
import type { Deps } from '../deps.js';
import { buckets, download, listObjects, object, uploads } from './api-objects.js';
import { activity, simulate, website } from './api-origin.js';
import type { ApiCall } from './http.js';
import { ConsoleError, readJsonBody, sendJson } from './http.js';
import type { Session } from './session.js';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  checkCsrf,
  checkKeyPair,
  cookieValue,
  csrfToken,
  issueSession,
  readSession,
  sessionCookie,
} from './session.js';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

function secureRequest(ctx: Ctx): boolean {
  return header(ctx, 'x-forwarded-proto') === 'https';
}

/** Refuse requests another site made the browser send (defence in depth next to the CSRF token). */
function checkSameOrigin(ctx: Ctx): void {
  if (header(ctx, 'sec-fetch-site') === 'cross-site')
    throw new ConsoleError(403, 'CrossSiteRequest', 'Cross-site requests to the console are refused.');
  const origin = header(ctx, 'origin');
  if (origin === undefined || origin === 'null') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  if (host !== header(ctx, 'host')) throw new ConsoleError(403, 'CrossSiteRequest', `Requests from ${origin} are refused.`);
}

function sessionView(session: Session, deps: Deps) {
  return { accessKeyId: session.accessKeyId, expiresAt: new Date(session.expires).toISOString(), csrfToken: csrfToken(session, deps.keys) };
}

/** /session: GET who is signed in (and the CSRF token), POST sign in, DELETE sign out. */
async function sessionCall(ctx: Ctx, deps: Deps, method: string, current: Session | 'expired' | undefined): Promise<void> {
  if (method === 'POST') {
    checkSameOrigin(ctx);
    if (!(header(ctx, 'content-type') ?? '').startsWith('application/json'))
      throw new ConsoleError(415, 'UnsupportedMediaType', 'Sign in with a JSON body.');
    const body = await readJsonBody(ctx, 8 * 1024);
    const id = typeof body.accessKeyId === 'string' ? body.accessKeyId.trim() : '';
    const secret = typeof body.secretAccessKey === 'string' ? body.secretAccessKey : '';
    if (!id || !secret || !checkKeyPair(deps.keys, id, secret)) {
      await sleep(250); // slows down guessing; the answer never says which half was wrong
      throw new ConsoleError(403, 'InvalidCredentials', 'The access key ID or secret access key is not correct.');
    }
    const session = issueSession(id, secret);
    sendJson(ctx, 200, sessionView(session, deps), { 'Set-Cookie': sessionCookie(session, secureRequest(ctx)) });
    return;
  }
  if (method === 'DELETE') {
    // signing out needs no valid session (an expired one is cleared too), but must not be forced by another site
    checkSameOrigin(ctx);
    if (current !== undefined && current !== 'expired' && !checkCsrf(current, deps.keys, header(ctx, CSRF_HEADER))) {
      throw new ConsoleError(403, 'InvalidCsrfToken', "The request is missing the console's CSRF token; reload the page.");
    }
    sendJson(ctx, 200, { signedOut: true }, { 'Set-Cookie': sessionCookie(undefined, secureRequest(ctx)) });
    return;
  }
  if (method !== 'GET') throw new ConsoleError(405, 'MethodNotAllowed', `${method} is not allowed on /-/console/api/session.`);
  sendJson(ctx, 200, sessionView(requireSession(current), deps));
}

function requireSession(s: Session | 'expired' | undefined): Session {
  if (s === 'expired') throw new ConsoleError(401, 'SessionExpired', 'Your session has expired. Sign in again.');
  if (s === undefined) throw new ConsoleError(401, 'NotSignedIn', 'Sign in to use the console.');
  return s;
}

/** Dispatch one API call; `rest` is the path after /-/console/api/. Throws for the caller's error boundary. */
export async function handleApi(ctx: Ctx, deps: Deps, rest: string): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  const parts = rest.split('/');
  const current = readSession(cookieValue(header(ctx, 'cookie'), SESSION_COOKIE), deps.keys);
  if (parts.length === 1 && parts[0] === 'session') {
    await sessionCall(ctx, deps, method, current);
    return;
  }
  const session = requireSession(current);
  if (!SAFE_METHODS.has(method)) {
    checkSameOrigin(ctx);
    if (!checkCsrf(session, deps.keys, header(ctx, CSRF_HEADER))) {
      throw new ConsoleError(403, 'InvalidCsrfToken', "The request is missing the console's CSRF token; reload the page.");
    }
  }
  const call: ApiCall = { ctx, deps, method, parts, query: ctx.endpoint?.query ?? new Map(), session };
  const [first, , third] = parts;
  if (first === 'buckets') {
    if (parts.length <= 2 || third === 'acl') return buckets(call);
    if (third === 'objects') return listObjects(call);
    if (third === 'object') return object(call);
    if (third === 'download') return download(call);
    if (third === 'uploads') return uploads(call);
    if (third === 'website') return website(call);
  }
  if (first === 'explain' && parts.length === 1) return simulate(call);
  if (first === 'activity' && parts.length === 1) return activity(call);
  throw new ConsoleError(404, 'NoSuchEndpoint', `No console endpoint ${method} /-/console/api/${rest}.`);
}
