/**
 * @module storage/fs/parts
 * CompleteMultipartUpload on the embedded store, as a pure function of the client's list and the
 * stored parts (the checks and the ETag are storage/multipart.ts's). The chosen parts' blobs
 * become the object's segments: no byte is copied.
 */
import { randomBytes } from 'node:crypto';
import { chooseParts, multipartEtag } from '../multipart.js';
import type { ListedPart } from '../multipart.js';
import type { Segment } from './blobs.js';
import type { PartRow } from './meta.js';

export interface Assembled {
  segments: Segment[];
  size: number;
  /** hex MD5 of the concatenated binary part MD5s, then "-" and the part count */
  etag: string;
  /** stored parts the client did not list: garbage once the upload completes */
  unused: string[];
}

/**
 * The checks of storage/multipart.ts (InvalidPartOrder, InvalidPart, EntityTooSmall, in S3's
 * order), then the chosen parts' blobs as the object's segments and the multipart ETag.
 */
export function assembleParts(listed: readonly ListedPart[], stored: readonly PartRow[], minPartSize: number): Assembled {
  const chosen = chooseParts(listed, new Map(stored.map((p) => [p.part_number, p])), minPartSize);
  const used = new Set(chosen.map((p) => p.blob));
  return {
    segments: chosen.map((p) => ({ id: p.blob, size: p.size })),
    size: chosen.reduce((n, p) => n + p.size, 0),
    etag: multipartEtag(chosen.map((p) => p.etag)),
    unused: stored.filter((p) => !used.has(p.blob)).map((p) => p.blob),
  };
}

let lastStamp = 0;

/**
 * 12 hex digits of creation time, then 128 random bits: unguessable, and sorting by id sorts a
 * key's uploads by initiation, the order ListMultipartUploads promises. The time part is made
 * strictly increasing, so two uploads in one millisecond still sort in creation order.
 */
export function newUploadId(now: number): string {
  lastStamp = Math.max(now, lastStamp + 1);
  return lastStamp.toString(16).padStart(12, '0') + randomBytes(16).toString('hex');
}
