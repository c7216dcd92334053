/**
 * @module codec/header-value
 * Response header values built from data (keys, metadata, origin answers, rule text) made into
 * values Node writes, never throws on (MIR-34, amended). Node writes a header string as latin1
 * and refuses any character outside HTAB, SP, VCHAR and obs-text (U+0080-U+00FF), so a JS string
 * with `日`, `🙂` or a combining accent (U+0301), or with a control character, turned the whole
 * answer into a 500.
 *
 * Two kinds of string reach a header, and they must not be confused:
 * - a byte string: what Node (or undici) received in a header, one char per octet (latin1). Sent
 *   back as is, it is the same octets again (what S3 and RGW do with `x-amz-meta-*`: raw bytes).
 * - text: a decoded key or URL, rule text, a query parameter. Its octets on the wire are its
 *   UTF-8 encoding (what OSS sends for `x-oss-tag`, what S3 sends for `response-*` overrides).
 * Characters no header may carry (controls, CR, LF, DEL) are percent-encoded in both.
 */

/** A value Node's http accepts as is: HTAB, SP, VCHAR, obs-text. */
const WRITABLE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

function pct(byte: number): string {
  return '%' + (byte < 16 ? '0' : '') + byte.toString(16).toUpperCase();
}

function escapeControls(s: string): string {
  return s.replace(CONTROL, (c) => pct(c.charCodeAt(0)));
}

/**
 * Text -> its UTF-8 octets as a byte string (how Node writes them), controls percent-encoded, and
 * so are spaces and tabs at either end (HTTP drops them: `MIRROR http://o/a ` would lose its space).
 */
export function textHeaderValue(text: string): string {
  const safe = escapeControls(text).replace(/^[ \t]+|[ \t]+$/g, (ws) => Array.from(ws, (c) => pct(c.charCodeAt(0))).join(''));
  // ASCII needs no re-encoding; anything else goes out as its UTF-8 octets
  return /^[\x00-\x7f]*$/.test(safe) ? safe : Buffer.from(safe, 'utf8').toString('latin1');
}

/**
 * Any value: a writable one unchanged (a byte string as received); a character above U+00FF means
 * text (it cannot be a byte string), sent as UTF-8; controls percent-encoded. Never throws.
 */
export function headerValue(value: string): string {
  if (WRITABLE.test(value)) return value;
  return /[^\x00-\xff]/.test(value) ? textHeaderValue(value) : escapeControls(value);
}

/**
 * A `Location` URL: what a URL may carry as is (printable ASCII) stays; anything else is
 * percent-encoded, as a browser does with a URL it is given: text as its UTF-8 octets, a byte
 * string (`bytes`, e.g. an origin's own Location header) octet by octet. Existing escapes stay.
 */
export function locationValue(url: string, form: 'text' | 'bytes' = 'text'): string {
  if (/^[\x21-\x7e]*$/.test(url)) return url;
  const octets = form === 'bytes' ? Buffer.from(url, 'latin1') : Buffer.from(url, 'utf8');
  let out = '';
  for (const b of octets) out += b > 0x20 && b < 0x7f ? String.fromCharCode(b) : pct(b);
  return out;
}

/** RFC 5987 attr-char: everything else in an ext-value is percent-encoded (UTF-8). */
function extValue(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8'))
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : pct(b);
  return out;
}

/**
 * RFC 6266 `attachment` with a file name: an ASCII `filename` for old clients (other characters as
 * `_`) and the exact name in `filename*=UTF-8''…` (RFC 5987).
 */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}
