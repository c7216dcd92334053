/**
 * @module http/console/session
 * Stateless console sessions: the cookie carries the access key id, an expiry and a nonce, MACed
 * with a key derived from that access key's secret. Any Osprey node that knows the key pair (all
 * nodes of one store do) can check it, so no session table is shared between nodes. Changing the
 * secret key ends every session. The CSRF token is a second MAC over the cookie value: the page
 * learns it from the session endpoint (it cannot read the HttpOnly cookie) and sends it in a
 * header with every state-changing call; another site can neither read nor forge it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyStore } from '../../auth/types.js';

export const SESSION_COOKIE = 'osprey_console';
/** How long a sign-in lasts; the cookie's Max-Age and the token's expiry say the same. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const CSRF_HEADER = 'x-osprey-csrf';
const VERSION = 'v1';

export interface Session {
  accessKeyId: string;
  /** epoch ms */
  expires: number;
  /** the cookie value the session came from (the CSRF token is bound to it) */
  token: string;
}

/** The MAC key for one secret: never the secret itself, so a leaked MAC key signs no S3 request. */
function macKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('osprey console session v1').digest();
}

function mac(secret: string, data: string): string {
  return createHmac('sha256', macKey(secret)).update(data).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A fresh session token for a key pair that has just been checked. */
export function issueSession(accessKeyId: string, secret: string, now = Date.now(), ttlMs = SESSION_TTL_MS): Session {
  const expires = now + ttlMs;
  const body = [
    VERSION,
    Buffer.from(accessKeyId, 'utf8').toString('base64url'),
    String(Math.floor(expires / 1000)),
    randomBytes(12).toString('base64url'),
  ].join('.');
  return { accessKeyId, expires: Math.floor(expires / 1000) * 1000, token: `${body}.${mac(secret, body)}` };
}

/**
 * The session a cookie value stands for: 'expired' for a genuine token past its expiry (the page
 * says so), undefined for anything else (missing, malformed, forged, unknown or changed key).
 */
export function readSession(token: string | undefined, keys: KeyStore, now = Date.now()): Session | 'expired' | undefined {
  if (!token || token.length > 512) return undefined;
  const parts = token.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
  const [, id64 = '', exp = '', , sig = ''] = parts;
  if (!/^\d{1,12}$/.test(exp)) return undefined;
  const accessKeyId = Buffer.from(id64, 'base64url').toString('utf8');
  const secret = keys.secretFor(accessKeyId);
  if (secret === undefined) return undefined;
  if (!sameText(sig, mac(secret, parts.slice(0, 4).join('.')))) return undefined;
  const expires = Number(exp) * 1000;
  if (expires <= now) return 'expired';
  return { accessKeyId, expires, token };
}

/** The CSRF token of a session (deterministic: every node computes the same one). */
export function csrfToken(session: Session, keys: KeyStore): string {
  const secret = keys.secretFor(session.accessKeyId) ?? '';
  return mac(secret, `csrf\n${session.token}`);
}

export function checkCsrf(session: Session, keys: KeyStore, given: string | undefined): boolean {
  return given !== undefined && sameText(given, csrfToken(session, keys));
}

/** Does this access key id / secret pair belong to the store? (constant time in the secret) */
export function checkKeyPair(keys: KeyStore, accessKeyId: string, secret: string): boolean {
  const expected = keys.secretFor(accessKeyId);
  // digests have one length whatever the inputs, so neither the secret's length nor an unknown id shows in the timing
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const match = timingSafeEqual(digest(secret), digest(expected ?? `\0${secret}`));
  return match && expected !== undefined;
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session (or, with `session` undefined, one that removes it). */
export function sessionCookie(session: Session | undefined, secure: boolean): string {
  const attrs = ['Path=/-/console', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (!session) return [`${SESSION_COOKIE}=`, 'Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT', ...attrs].join('; ');
  const maxAge = Math.max(0, Math.floor((session.expires - Date.now()) / 1000));
  return [`${SESSION_COOKIE}=${session.token}`, `Max-Age=${maxAge}`, `Expires=${new Date(session.expires).toUTCString()}`, ...attrs].join(
    '; ',
  );
}
