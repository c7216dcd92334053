/**
 * @module storage/fs/rows
 * SQLite rows to the driver's types. The JSON columns are read back as `unknown` and checked:
 * a damaged row becomes a clear error instead of an object with a wrong shape.
 */
import type { BucketInfo, MultipartUpload, ObjectInfo, ObjectMeta, PartInfo } from '../driver.js';
import { CANNED_ACLS } from '../driver.js';
import type { Segment } from './blobs.js';
import type { BucketRow, ObjectRow, PartRow, UploadRow } from './meta.js';

export function toBucket(row: BucketRow): BucketInfo {
  const acl = CANNED_ACLS.find((a) => a === row.acl);
  if (!acl) throw new Error(`bucket ${row.name}: unknown ACL ${JSON.stringify(row.acl)} in the database`);
  return { name: row.name, created: new Date(row.created), acl };
}

export function toInfo(row: ObjectRow): ObjectInfo {
  return {
    bucket: row.bucket,
    key: row.key,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.modified),
    meta: parseMeta(row.meta),
  };
}

export function toUpload(row: UploadRow): MultipartUpload {
  return { uploadId: row.upload_id, bucket: row.bucket, key: row.key, initiated: new Date(row.initiated), meta: parseMeta(row.meta) };
}

export function toPart(row: PartRow): PartInfo {
  return { partNumber: row.part_number, etag: row.etag, size: row.size, lastModified: new Date(row.modified) };
}

export function parseSegments(text: string): Segment[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new Error('object row: segments is not a list');
  return value.map((s: unknown): Segment => {
    if (typeof s !== 'object' || s === null || !('id' in s) || !('size' in s)) throw new Error('object row: malformed segment');
    const { id, size } = s;
    if (typeof id !== 'string' || typeof size !== 'number') throw new Error('object row: malformed segment');
    return { id, size };
  });
}

function parseMeta(text: string): ObjectMeta {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) throw new Error('metadata column is not an object');
  const field = (name: string): Record<string, string> => {
    const v: unknown = name in value ? (value as Record<string, unknown>)[name] : undefined;
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'string'))
      throw new Error(`metadata column: ${name} is not a string map`);
    return v as Record<string, string>;
  };
  const acl: unknown = (value as Record<string, unknown>).acl;
  return { headers: field('headers'), userMeta: field('userMeta'), system: field('system'), ...(typeof acl === 'string' && { acl }) };
}

/** ObjectMeta as stored: the three maps and the ACL only, whatever else the caller's object carried. */
export function metaJson(meta: ObjectMeta): string {
  return JSON.stringify({
    headers: meta.headers,
    userMeta: meta.userMeta,
    system: meta.system,
    ...(meta.acl !== undefined && { acl: meta.acl }),
  });
}
