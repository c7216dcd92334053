/**
 * @module storage/multipart
 * What every driver's CompleteMultipartUpload shares, as pure functions of the client's list and
 * the stored parts: the checks in S3's order, the multipart ETag, the smallest part. The drivers
 * only find their stored parts and make the object from the chosen ones (storage/fs: the parts'
 * blobs become its segments; storage/s3: the store completes its own multipart upload).
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../errors.js';

/** smallest part except the last in CompleteMultipartUpload (S3: 5 MiB; drivers take another for tests) */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** a part as the client listed it in CompleteMultipartUpload */
export interface ListedPart {
  partNumber: number;
  etag: string;
}

/** an ETag as sent or stored, quoted or not, in either case -> its bare lower-case form */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '')
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
}

/**
 * A part number listed twice in a row: the later entry is the one meant (a part uploaded again
 * while the first upload was still running; RGW and s3-tests' resend_first_finishes_last). Any
 * other repetition stays, and the order check refuses it.
 */
export function collapseRepeats<P extends ListedPart>(listed: readonly P[]): P[] {
  return listed.filter((p, i) => listed[i + 1]?.partNumber !== p.partNumber);
}

/**
 * The checks of the list on its own, S3's first: at least one part (MalformedXML), part numbers
 * strictly ascending (InvalidPartOrder; a number listed twice too). A driver that must ask its
 * store for the parts calls it first, so that a bad list costs no store request.
 */
export function checkPartList(listed: readonly ListedPart[]): void {
  if (listed.length === 0) throw new S3Error('MalformedXML', { message: 'You must specify at least one part.' });
  for (let i = 1; i < listed.length; i++) {
    if ((listed[i]?.partNumber ?? 0) <= (listed[i - 1]?.partNumber ?? 0)) throw new S3Error('InvalidPartOrder');
  }
}

/**
 * The stored parts the client's list names, in its order, after S3's checks in S3's order: the
 * list's own (checkPartList), then each part stored with that ETag (InvalidPart), then every part
 * but the last at least `minPartSize` (EntityTooSmall).
 */
export function chooseParts<P extends { etag: string; size: number }>(
  listed: readonly ListedPart[],
  stored: ReadonlyMap<number, P>,
  minPartSize: number,
): P[] {
  checkPartList(listed);
  const chosen = listed.map((p) => {
    const part = stored.get(p.partNumber);
    if (!part || part.etag !== bareEtag(p.etag))
      throw new S3Error('InvalidPart', { fields: { PartNumber: String(p.partNumber), ETag: p.etag } });
    return part;
  });
  chosen.forEach((part, i) => {
    if (i < chosen.length - 1 && part.size < minPartSize) {
      throw new S3Error('EntityTooSmall', {
        fields: { PartNumber: String(listed[i]?.partNumber), ProposedSize: String(part.size), MinSizeAllowed: String(minPartSize) },
      });
    }
  });
  return chosen;
}

/** A multipart object's ETag: the hex MD5 of the parts' binary MD5s (hex, in order), "-", the part count. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const digests = Buffer.concat(partMd5s.map((md5) => Buffer.from(md5, 'hex')));
  return `${createHash('md5').update(digests).digest('hex')}-${partMd5s.length}`;
}
