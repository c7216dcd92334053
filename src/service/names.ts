/**
 * @module service/names
 * Bucket and key validation, done before auth and before any storage path is built
 * (STYLE §2.12; seaweedfs #9687 shows why the same parsed names must serve auth and storage).
 */
import { S3Error } from '../errors.js';

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(name: string): void {
  if (!BUCKET_RE.test(name) || name.includes('..') || name.includes('.-') || name.includes('-.') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Error('InvalidBucketName', {
      bucket: name,
      message: `The specified bucket is not valid: '${name}' must be 3-63 characters of lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.`,
    });
  }
}

/** Keys: valid UTF-8 (the caller decodes; a lone surrogate means it wasn't), 1..1024 bytes, no NUL, no '.'/'..' segments. */
export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidObjectName', { message: 'The object key must not be empty.' });
  // a UTF-16 code unit is at most 3 bytes of UTF-8: a key of up to 341 units cannot be too long
  if (key.length > 341 && Buffer.byteLength(key, 'utf8') > 1024) {
    throw new S3Error('KeyTooLongError', { key: key.slice(0, 64) + '…', message: 'Your key is too long: at most 1024 bytes of UTF-8.' });
  }
  if (!key.isWellFormed()) throw new S3Error('InvalidObjectName', { message: 'The object key is not valid UTF-8.' });
  if (key.includes('\0')) throw new S3Error('InvalidObjectName', { key, message: 'The object key must not contain NUL.' });
  if (key.includes('.') && DOT_SEGMENT.test(key)) {
    throw new S3Error('InvalidObjectName', { key, message: "The object key must not contain '.' or '..' path segments." });
  }
}

/** a '.' or '..' path segment */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

// ignoreBOM: a leading U+FEFF is part of the key (the WHATWG decoder would strip it, so
// '/b/%EF%BB%BFk' would read and write key 'k').
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Percent-decode a path part as UTF-8; malformed escapes or invalid UTF-8 -> InvalidObjectName / InvalidURI-like error. */
export function decodePathPart(raw: string): string {
  if (/^[\x21-\x24\x26-\x7e]*$/.test(raw)) return raw; // printable ASCII, no '%': nothing to decode
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        throw new S3Error('InvalidObjectName', {
          message: `Malformed percent-encoding in the request path near '${raw.slice(i, i + 3)}'.`,
        });
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Raw non-ASCII in the request target: Node gives us latin1 code units; treat as bytes.
      for (const b of Buffer.from(raw[i] ?? '', c <= 0xff ? 'latin1' : 'utf8')) bytes.push(b);
    }
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    throw new S3Error('InvalidObjectName', { message: 'The object key is not valid UTF-8.' });
  }
}
