/**
 * @module storage/s3/list
 * Listing objects is the store's own ListObjectsV2 (prefix, delimiter, start-after, max-keys);
 * listing multipart uploads is the store's ListMultipartUploads, ordered and paged as S3 does
 * with the initiation times of our upload documents. The caller has checked the bucket.
 *
 * The object listing is asked through the lean reader (reader.ts: undici and the driver's own
 * signer), not the AWS SDK, and its answer is read by `parseListPage`, a scan made for this one
 * document: the SDK's parse of a 1,000-key page and the garbage it left were most of the driver's
 * CPU per page (issue 19, bench/README.md "The S3 driver's page"). The store is asked with
 * `encoding-type=url`: XML 1.0 cannot carry control characters, and RGW writes them as character
 * references (`&#x01;`) that XML parsers refuse or drop.
 */
import type { ListOptions, ListResult, ListUploadsOptions, MultipartUpload, ObjectInfo } from '../driver.js';
import { bareEtag } from './layout.js';
import type { Layout, UploadDoc } from './layout.js';
import { StoreReader } from './reader.js';
import type { StoreResponse } from './reader.js';
import type { Store } from './store.js';

/** the most entries a store answers one ListObjectsV2 with (S3's and RGW's rgw_max_listing_results) */
const STORE_PAGE_MAX = 1000;

export async function listObjects(store: Store, layout: Layout, bucket: string, opts: ListOptions): Promise<ListResult> {
  if (opts.maxKeys <= 0) return { objects: [], commonPrefixes: [], isTruncated: false };
  const base = layout.objects(bucket);
  /** `bytes`: the name's UTF-8, S3's order (made once per entry, not per comparison) */
  type Entry = { name: string; bytes: Buffer; object?: ObjectInfo };
  const entries: Entry[] = [];
  const after = opts.startAfter ? Buffer.from(opts.startAfter) : undefined;
  // One more than asked: whether the page is truncated is then known, not guessed. A store may
  // answer a truncated page with fewer entries than asked (RGW does when a delimiter folds many
  // keys into few prefixes), so its pages are followed until that many are known or none is left.
  // A store gives at most STORE_PAGE_MAX per answer: a full page of that size takes the store's
  // own IsTruncated, not a second request for the one entry after it (issue 19: a 1,000-key page
  // cost two RGW listings).
  const enough = opts.maxKeys >= STORE_PAGE_MAX ? opts.maxKeys : opts.maxKeys + 1;
  let token: string | undefined;
  let truncated = false;
  do {
    const query: Record<string, string> = {
      'list-type': '2',
      prefix: base + opts.prefix,
      'max-keys': String(Math.min(opts.maxKeys + 1 - entries.length, STORE_PAGE_MAX)),
      'encoding-type': 'url',
    };
    if (opts.delimiter) query.delimiter = opts.delimiter;
    if (token !== undefined) query['continuation-token'] = token;
    else if (opts.startAfter !== undefined && opts.startAfter !== '') query['start-after'] = base + opts.startAfter;
    const page = await store.call(() => storePage(store, query), { bucket });
    for (const o of page.contents) {
      if (!o.key) continue;
      const key = o.key.slice(base.length);
      entries.push({
        name: key,
        bytes: Buffer.from(key),
        object: {
          bucket,
          key,
          size: o.size,
          etag: bareTag(o.etag),
          lastModified: o.lastModified,
          meta: { headers: {}, userMeta: {}, system: {} },
        },
      });
    }
    for (const p of page.prefixes) {
      if (!p) continue;
      const name = p.slice(base.length);
      const bytes = Buffer.from(name);
      // a group the marker is inside of was already returned (S3 semantics)
      if (after && Buffer.compare(bytes, after) <= 0) continue;
      entries.push({ name, bytes });
    }
    truncated = page.truncated;
    token = page.nextToken;
  } while (truncated && token !== undefined && entries.length < enough);
  entries.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const more = entries.length > opts.maxKeys || truncated;
  const shown = entries.slice(0, opts.maxKeys);
  const last = shown.at(-1)?.name;
  return {
    objects: shown.flatMap((e) => (e.object ? [e.object] : [])),
    commonPrefixes: shown.filter((e) => !e.object).map((e) => e.name),
    isTruncated: more,
    ...(last !== undefined && { nextMarker: last }),
  };
}

/** bareEtag, without its regular expression for the usual `"…"` (2 % of a page's CPU in a profile) */
function bareTag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') && etag.indexOf('"', 1) === etag.length - 1
    ? etag.slice(1, -1).toLowerCase()
    : bareEtag(etag);
}

/** One answer of the store's ListObjectsV2, its names decoded. */
export interface StorePage {
  contents: { key: string; size: number; etag: string; lastModified: Date }[];
  prefixes: string[];
  truncated: boolean;
  /** the store's NextContinuationToken, as it gave it (opaque: never URL-decoded) */
  nextToken?: string;
}

/** the pause before a listing is asked again, jittered ±50 % */
const RETRY_DELAY_MS = 100;
/** the answers a listing is asked again after (besides a network failure): the SDK's transient and throttling statuses */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * One ListObjectsV2 of the store. A failure takes the shape errors.ts maps (StoreReader.failure's);
 * a network failure or a 429/500/502/503/504 answer is asked once more after a short pause, as the
 * AWS SDK the driver used for listings did (maxAttempts 2).
 */
async function storePage(store: Store, query: Record<string, string>): Promise<StorePage> {
  for (let attempt = 1; ; attempt++) {
    let res: (StoreResponse & { bytes: Buffer }) | undefined;
    let failure: unknown;
    try {
      res = await store.getBucket(query);
    } catch (err) {
      failure = err;
    }
    const again = res === undefined || RETRY_STATUSES.has(res.status);
    if (again && attempt < 2) {
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * (0.5 + Math.random())));
      continue;
    }
    if (res === undefined) throw failure;
    if (res.status !== 200) throw await StoreReader.failure(res);
    return parseListPage(res.bytes.toString('utf8'));
  }
}

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** an element's text with XML's references resolved (&amp; … and character references such as RGW's &#x01;) */
function xmlText(s: string): string {
  const amp = s.indexOf('&');
  if (amp < 0) return s;
  // an ETag: "…" written as &quot;…&quot; (the common case, without the regular expression)
  if (amp === 0 && s.startsWith('&quot;') && s.endsWith('&quot;') && s.indexOf('&', 6) === s.length - 6) return `"${s.slice(6, -6)}"`;
  return s.replace(ENTITY, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const cp = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

/**
 * A name the store URL-encoded (`encoding-type=url`): percent-escapes of UTF-8, and `+` for a space
 * as S3 writes it (RGW writes %20, and a `+` itself as %2B on both). Invalid UTF-8 (a key written
 * by something else) decodes byte for byte, with U+FFFD for what is not UTF-8.
 */
function urlText(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  const t = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    return Buffer.from(
      t.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  }
}

/**
 * A ListObjectsV2 answer, read by a scan made for it: each `<Contents>`'s Key, Size, ETag and
 * LastModified, each `<CommonPrefixes>`'s Prefix, IsTruncated and NextContinuationToken. In a
 * well-formed S3 answer a literal `<` only starts markup (a name's own `<` is `&lt;`), so a tag found
 * by its text is that tag; element text is taken as it is (no trimming: a key may end in a space).
 * Key and Prefix are URL-decoded when the answer says `<EncodingType>url</EncodingType>` (a store that
 * ignores the parameter sends them as they are); NextContinuationToken is opaque (RGW's is the raw
 * key) and only its XML references are resolved.
 */
export function parseListPage(xml: string): StorePage {
  // a 200 that is not a listing (a proxy's page): a failure, never an empty listing
  if (!xml.includes('<ListBucketResult')) throw new Error(`the store answered a listing with something else: ${xml.slice(0, 200)}`);
  if (xml.includes('<![CDATA[')) throw new Error('the store answered a listing with CDATA sections, which this driver does not read');
  const encoded = xml.includes('<EncodingType>url</EncodingType>');
  const name = encoded ? (s: string) => urlText(xmlText(s)) : xmlText;
  const contents: StorePage['contents'] = [];
  const prefixes: string[] = [];
  let at = 0;
  for (;;) {
    const start = xml.indexOf('<Contents>', at);
    if (start < 0) break;
    const end = xml.indexOf('</Contents>', start);
    if (end < 0) break;
    const key = element(xml, 'Key', start, end);
    const size = element(xml, 'Size', start, end);
    const modified = element(xml, 'LastModified', start, end);
    contents.push({
      key: key === undefined ? '' : name(key),
      size: size === undefined ? 0 : Number(size),
      etag: xmlText(element(xml, 'ETag', start, end) ?? ''),
      lastModified: modified === undefined ? new Date(0) : new Date(modified),
    });
    at = end;
  }
  at = 0;
  for (;;) {
    const start = xml.indexOf('<CommonPrefixes>', at);
    if (start < 0) break;
    const end = xml.indexOf('</CommonPrefixes>', start);
    if (end < 0) break;
    const prefix = element(xml, 'Prefix', start, end);
    if (prefix !== undefined) prefixes.push(name(prefix));
    at = end;
  }
  const token = element(xml, 'NextContinuationToken', 0, xml.length);
  return {
    contents,
    prefixes,
    truncated: element(xml, 'IsTruncated', 0, xml.length)?.trim() === 'true',
    ...(token !== undefined && { nextToken: xmlText(token) }),
  };
}

/** the text of the first `<tag>…</tag>` between `from` and `to`; undefined when there is none */
function element(xml: string, tag: string, from: number, to: number): string | undefined {
  const open = xml.indexOf(`<${tag}>`, from);
  if (open < 0 || open >= to) return undefined;
  const start = open + tag.length + 2;
  const close = xml.indexOf(`</${tag}>`, start);
  if (close < 0 || close > to) return undefined;
  return xml.slice(start, close);
}

export async function listUploads(
  store: Store,
  layout: Layout,
  bucket: string,
  opts: ListUploadsOptions,
): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
  if (opts.maxUploads <= 0) return { uploads: [], isTruncated: false };
  const base = layout.objects(bucket);
  // S3 orders one key's uploads by initiation; the store by (random) upload id. So whole
  // key groups are collected, ordered by our documents' initiation time, then paged.
  const found: { key: string; uploadId: string }[] = [];
  const collect = async (prefix: string, keyMarker: string | undefined, only?: string) => {
    for await (const u of store.uploads(prefix, keyMarker)) {
      const key = u.storeKey.slice(base.length);
      if (only !== undefined && key !== only) continue;
      // RGW also returns the marker's own key; S3 starts strictly after it
      if (only === undefined && opts.keyMarker !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(opts.keyMarker)) <= 0)
        continue;
      // enough once more than a page follows the marker's own group, and the last group is whole
      if (found.length - markerGroup > opts.maxUploads && found.at(-1)?.key !== key) return true;
      found.push({ key, uploadId: u.uploadId });
    }
    return false;
  };
  let markerGroup = 0;
  if (opts.keyMarker !== undefined && opts.uploadIdMarker !== undefined) {
    if (opts.keyMarker.startsWith(opts.prefix)) await collect(base + opts.keyMarker, undefined, opts.keyMarker);
    markerGroup = found.length;
  }
  const more = await collect(base + opts.prefix, opts.keyMarker !== undefined ? base + opts.keyMarker : undefined);
  const docs = await mapLimited(found, 16, async (u) => {
    const text = await store.getText(layout.upload(bucket, u.uploadId));
    const doc = text === undefined ? undefined : (JSON.parse(text) as UploadDoc);
    return doc && doc.key === u.key ? { ...u, doc } : undefined;
  });
  const known = docs.filter((d): d is NonNullable<typeof d> => d !== undefined);
  known.sort(
    (a, b) =>
      Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || a.doc.initiated - b.doc.initiated || (a.uploadId < b.uploadId ? -1 : 1),
  );
  let from = 0;
  if (opts.keyMarker !== undefined && opts.uploadIdMarker !== undefined) {
    const at = known.findIndex((u) => u.key === opts.keyMarker && u.uploadId === opts.uploadIdMarker);
    from = at >= 0 ? at + 1 : known.filter((u) => u.key === opts.keyMarker).length;
  }
  const rest = known.slice(from);
  const page = rest.slice(0, opts.maxUploads);
  return {
    uploads: page.map((u) => ({ uploadId: u.uploadId, bucket, key: u.key, initiated: new Date(u.doc.initiated), meta: u.doc.meta })),
    isTruncated: more || rest.length > opts.maxUploads,
  };
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
