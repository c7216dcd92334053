/**
 * @module mirror/meta
 * What a mirror fill stores from an origin answer (spec §3.6, §3.7), pure: the kept response
 * headers (MIR-26), the origin's user metadata (MIR-27, MirrorSaveOssMeta) and the `x-oss-tag`
 * origin marker (MIR-34). The mirror engine and `osprey import` both use it, so an imported object
 * carries exactly what a mirror fill of the same key would have stored.
 */

/** MIR-26: origin response headers stored with the object and returned. */
export const MIRROR_KEPT_HEADERS: readonly string[] = [
  'content-type',
  'content-encoding',
  'content-disposition',
  'cache-control',
  'expires',
  'content-language',
  'access-control-allow-origin',
];

/**
 * The request header by which an authenticated owner's PutObject or CreateMultipartUpload says
 * "this object comes from that origin URL" (what `osprey import` sends): the server stores the
 * same `x-oss-tag` a mirror fill of that URL would (in the server's `--mirror-tag` form). Anonymous
 * writers may not send it.
 */
export const MIRROR_SOURCE_HEADER = 'x-osprey-mirror-source';

type Headers = Record<string, string | string[] | undefined>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** MIR-26: the kept headers of an origin answer (lower-case names; headers absent stay absent). */
export function mirrorStoredHeaders(origin: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MIRROR_KEPT_HEADERS) {
    const v = first(origin[name]);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** MIR-27: `x-oss-meta-*` and `x-amz-meta-*` of an origin answer, as user metadata (names without the prefix). */
export function mirrorUserMeta(origin: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(origin)) {
    const m = /^x-(?:oss|amz)-meta-(.+)$/i.exec(name);
    if (m?.[1] && typeof v === 'string') out[m[1].toLowerCase()] = v;
  }
  return out;
}

/** One run of escapes decoded; a piece that is not UTF-8 stays as it was (OSS sends such octets raw; a header can't carry them as text). */
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    let out = '';
    for (let i = 0; i < run.length;) {
      let n = 4;
      for (; n > 0; n--) {
        if (i + 3 * n > run.length) continue;
        try {
          out += decodeURIComponent(run.slice(i, i + 3 * n));
          break;
        } catch {
          // shorter
        }
      }
      if (n === 0) {
        out += run.slice(i, i + 3);
        n = 1;
      }
      i += 3 * n;
    }
    return out;
  }
}

/** MIR-34 (amended): every percent-escape decoded, as OSS's url_decode does (`%2B` -> `+`, `%E4%B8%AD` -> `中`). */
export function decodeOriginUrl(url: string): string {
  return url.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeRun);
}

/**
 * MIR-34: `MIRROR <URL-decoded origin URL>`, or bare `MIRROR`. This is text (stored as such): the
 * header writer sends it as UTF-8 octets with controls escaped (codec/header-value), so a tag
 * stored before that writer existed reads the same.
 */
export function mirrorTag(originUrl: string, form: 'url' | 'bare'): string {
  return form === 'bare' ? 'MIRROR' : `MIRROR ${decodeOriginUrl(originUrl)}`;
}

/**
 * The origin URL a MIRROR_SOURCE_HEADER value names, or why it is refused: an absolute http(s) URL
 * of printable ASCII (percent-encoded, as sent to the origin), at most 4096 characters.
 */
export function parseMirrorSource(value: string): { url: string } | { problem: string } {
  const v = value.trim();
  if (v.length > 4096 || !/^[\x21-\x7e]+$/.test(v))
    return { problem: `${MIRROR_SOURCE_HEADER} must be a percent-encoded URL of at most 4096 characters` };
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { problem: `${MIRROR_SOURCE_HEADER} is not a URL` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { problem: `${MIRROR_SOURCE_HEADER} must be an http or https URL` };
  return { url: v };
}

/**
 * The origin's validators of the copy a mirror fill or an import stored: its `ETag` and
 * `Last-Modified` as the origin sent them, kept in the object's system metadata under these names
 * (so returned with the object, as `x-oss-tag` is), from which `osprey verify` and
 * `osprey import --check` tell a file changed at the origin with a HEAD, without reading it. An
 * import sends them as request headers of the same names, beside MIRROR_SOURCE_HEADER.
 */
export const ORIGIN_ETAG_META = 'x-osprey-origin-etag';
export const ORIGIN_LAST_MODIFIED_META = 'x-osprey-origin-last-modified';

/** A validator worth recording: printable ASCII, at most 256 characters (anything else is not recorded). */
function validatorValue(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t && t.length <= 256 && /^[\x20-\x7e]+$/.test(t) ? t : undefined;
}

/** The system-metadata entries recording an origin answer's validators (none for what it did not send). */
export function originValidators(origin: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const etag = validatorValue(first(origin.etag));
  const lastModified = validatorValue(first(origin['last-modified']));
  if (etag !== undefined) out[ORIGIN_ETAG_META] = etag;
  if (lastModified !== undefined) out[ORIGIN_LAST_MODIFIED_META] = lastModified;
  return out;
}
