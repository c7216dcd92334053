/**
 * @module storage/s3/list
 * Listing objects is the store's own ListObjectsV2 (prefix, delimiter, start-after, max-keys);
 * listing multipart uploads is the store's ListMultipartUploads, ordered and paged as S3 does
 * with the initiation times of our upload documents. The caller has checked the bucket.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ListOptions, ListResult, ListUploadsOptions, MultipartUpload, ObjectInfo } from '../driver.js';
import { bareEtag } from './layout.js';
import type { Layout, UploadDoc } from './layout.js';
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
    const page = await store.call(
      () =>
        store.client.send(
          new ListObjectsV2Command({
            Bucket: store.bucket,
            Prefix: base + opts.prefix,
            MaxKeys: Math.min(opts.maxKeys + 1 - entries.length, STORE_PAGE_MAX),
            ...(opts.delimiter && { Delimiter: opts.delimiter }),
            ...(token !== undefined
              ? { ContinuationToken: token }
              : opts.startAfter !== undefined && opts.startAfter !== '' && { StartAfter: base + opts.startAfter }),
          }),
        ),
      { bucket },
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      const key = o.Key.slice(base.length);
      entries.push({
        name: key,
        bytes: Buffer.from(key),
        object: {
          bucket,
          key,
          size: o.Size ?? 0,
          etag: bareEtag(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
          meta: { headers: {}, userMeta: {}, system: {} },
        },
      });
    }
    for (const p of page.CommonPrefixes ?? []) {
      if (!p.Prefix) continue;
      const name = p.Prefix.slice(base.length);
      const bytes = Buffer.from(name);
      // a group the marker is inside of was already returned (S3 semantics)
      if (after && Buffer.compare(bytes, after) <= 0) continue;
      entries.push({ name, bytes });
    }
    truncated = page.IsTruncated === true;
    token = page.NextContinuationToken;
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
