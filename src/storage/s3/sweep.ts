/**
 * @module storage/s3/sweep
 * The sweep the driver runs at start, then hourly (SWEEP_EVERY_MS in index.ts).
 */
import type { Layout } from './layout.js';
import type { Store } from './store.js';

/**
 * Housekeeping a crashed node cannot do: multipart uploads of the driver's own (those without
 * an upload document) older than `staleUploadMs` are aborted, expired lease objects deleted.
 */
export async function sweep(
  store: Store,
  layout: Layout,
  staleUploadMs: number,
  now = Date.now(),
): Promise<{ aborted: number; leases: number }> {
  let aborted = 0;
  let leases = 0;
  for await (const u of store.uploads(`${layout.base}b/`)) {
    if (now - u.initiated.getTime() < staleUploadMs) continue;
    const bucket = layout.bucketOf(u.storeKey);
    if (bucket !== undefined && (await store.getText(layout.upload(bucket, u.uploadId))) !== undefined) continue;
    await store.abortUpload(u.storeKey, u.uploadId);
    aborted++;
  }
  for await (const lk of store.keysUnder(`${layout.base}l/`)) {
    const text = await store.getText(lk);
    const expires = text === undefined ? 0 : Number((JSON.parse(text) as { expires?: unknown }).expires);
    if (text !== undefined && Number.isFinite(expires) && expires + 60_000 < now) {
      await store.deleteKey(lk);
      leases++;
    }
  }
  return { aborted, leases };
}
