/**
 * @module codec/uri
 * URL pieces shared by redirects (§4) and mirror plans (§3.2): RFC 3986 key encoding and the
 * query-string filter that keeps request credentials from leaving Osprey (MIR-08).
 */

/**
 * MIR-05, RED-02: percent-encode an object key for a URL path per RFC 3986, each segment on its own
 * and '/' kept; only unreserved characters (A-Z a-z 0-9 - . _ ~) stay as they are.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
}

/**
 * MIR-08: authentication parameters of every scheme Osprey accepts (SigV2/SigV4 presigned, OSS V1
 * signed URLs, OSS V4 presigned, STS tokens).
 */
const AUTH_PARAM =
  /^(?:x-amz-.*|awsaccesskeyid|signature|expires|ossaccesskeyid|x-oss-signature.*|x-oss-credential|x-oss-date|x-oss-expires|x-oss-additional-headers|security-token|x-oss-security-token)$/i;

function paramName(pair: string): string {
  const raw = pair.split('=')[0] ?? '';
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Is this query parameter (by name) a credential of some signature scheme? */
export function isAuthParam(name: string): boolean {
  return AUTH_PARAM.test(name);
}

/** MIR-08: the raw query (no '?') without authentication parameters, the others kept in order and as sent. */
export function stripAuthParams(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((p) => p !== '' && !isAuthParam(paramName(p)))
    .join('&');
}

/** `url` + `query` (raw, no '?'), joined with '?' or '&' as the URL needs. */
export function withQuery(url: string, query: string): string {
  if (query === '') return url;
  return url + (url.includes('?') ? '&' : '?') + query;
}
