/**
 * @module auth/encoding
 * The byte-level helpers the signature schemes share: AWS-style URI encoding, hashing, HMAC and
 * timing-safe comparison.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** RFC 3986 encoding as AWS SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ (and '/' when asked). */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Percent-decode leniently (a bad escape stays as it is: the signature check will fail instead). */
export function lenientDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Constant-time string equality (length differences still answer false without early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * SigV4's canonical query string of decoded [name, value] pairs: names and values URI-encoded by
 * AWS's rules, sorted by encoded name, then value (ASCII: code-unit order is byte order; not by
 * `name=value`, where '-' sorts before '='), joined with '&'. The verifier and the S3 driver's
 * store reader both sign with it.
 */
export function canonicalQuery(pairs: Iterable<readonly [string, string]>): string {
  const encoded: [string, string][] = [];
  for (const [name, value] of pairs) encoded.push([uriEncode(name, false), uriEncode(value, false)]);
  encoded.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Raw query string -> [name, value] pairs, both percent-decoded. */
export function queryPairs(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [lenientDecode(p), ''] : [lenientDecode(p.slice(0, i)), lenientDecode(p.slice(i + 1))];
    });
}
