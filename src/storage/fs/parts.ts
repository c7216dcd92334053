/**
 * @module storage/fs/parts
 * CompleteMultipartUpload's checks and ETag, as a pure function of the client's list and the
 * stored parts. The chosen parts' blobs become the object's segments: no byte is copied.
 */
import { createHash, randomBytes } from 'node:crypto';
import { S3Error } from '../../errors.js';
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

/** ETags arrive quoted or not, in either case. */
function bareEtag(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
}

/**
 * In S3's order of checks: the list's order as a whole (InvalidPartOrder), then each part exists
 * with that ETag (InvalidPart), then every part but the last is at least minPartSize
 * (EntityTooSmall).
 */
export function assembleParts(listed: readonly { partNumber: number; etag: string }[], stored: readonly PartRow[], minPartSize: number): Assembled {
  if (listed.length === 0) throw new S3Error('MalformedXML', { message: 'You must specify at least one part.' });
  for (let i = 1; i < listed.length; i++) {
    if ((listed[i]?.partNumber ?? 0) <= (listed[i - 1]?.partNumber ?? 0)) throw new S3Error('InvalidPartOrder');
  }
  const byNumber = new Map(stored.map((p) => [p.part_number, p]));
  const chosen = listed.map((p) => {
    const part = byNumber.get(p.partNumber);
    if (!part || part.etag !== bareEtag(p.etag)) throw new S3Error('InvalidPart', { fields: { PartNumber: String(p.partNumber), ETag: p.etag } });
    return part;
  });
  chosen.forEach((part, i) => {
    if (i < chosen.length - 1 && part.size < minPartSize) {
      throw new S3Error('EntityTooSmall', {
        fields: { PartNumber: String(part.part_number), ProposedSize: String(part.size), MinSizeAllowed: String(minPartSize) },
      });
    }
  });
  const digests = Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex')));
  const used = new Set(chosen.map((p) => p.blob));
  return {
    segments: chosen.map((p) => ({ id: p.blob, size: p.size })),
    size: chosen.reduce((n, p) => n + p.size, 0),
    etag: `${createHash('md5').update(digests).digest('hex')}-${chosen.length}`,
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
