/**
 * @module storage/s3/layout
 * Where everything lives in the store, under one store bucket and an optional prefix P:
 *
 *   P buckets/<name>                  bucket document: {"created": ms, "acl": canned ACL} (JSON)
 *   P b/<name>/c/<config>             bucket configuration documents (website, …), opaque text
 *   P b/<name>/o/<key>                object bytes; Osprey's metadata in x-amz-meta-osprey
 *   P b/<name>/u/<uploadId>           multipart upload document: {"key", "initiated", "meta"}
 *                                     (its parts are the store's own multipart upload on o/<key>)
 *   P l/<sha256(bucket NUL key)>      mirror fill lease: {"owner", "expires": ms} (create-only PUT)
 *   P osprey/credentials.json         the owner key pair when none is configured (create-only PUT)
 *
 * Bucket names never contain '/', so every prefix above is unambiguous.
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../../errors.js';
import type { ObjectMeta } from '../driver.js';

export { bareEtag } from '../multipart.js';

/** The store's longest key (S3 and RGW: 1024 bytes of UTF-8). */
export const STORE_MAX_KEY = 1024;
/**
 * Osprey's metadata travels as one percent-encoded JSON value in x-amz-meta-osprey. RGW accepts
 * about 8 KB of metadata in all; AWS S3 2 KB of user metadata. We keep below RGW's limit and
 * refuse more with MetadataTooLarge instead of letting the store truncate or refuse it.
 */
export const STORE_MAX_META = 7 * 1024;

export class Layout {
  readonly base: string;

  constructor(prefix: string) {
    const p = prefix.replace(/^\/+|\/+$/g, '');
    this.base = p === '' ? '' : `${p}/`;
  }

  bucketDocs(): string {
    return `${this.base}buckets/`;
  }

  bucketDoc(bucket: string): string {
    return `${this.base}buckets/${bucket}`;
  }

  bucketRoot(bucket: string): string {
    return `${this.base}b/${bucket}/`;
  }

  config(bucket: string, name: string): string {
    return `${this.bucketRoot(bucket)}c/${name}`;
  }

  objects(bucket: string): string {
    return `${this.bucketRoot(bucket)}o/`;
  }

  /** The store key of an object; KeyTooLongError when the prefixes make it too long for the store. */
  object(bucket: string, key: string): string {
    const full = `${this.objects(bucket)}${key}`;
    if (Buffer.byteLength(full) > STORE_MAX_KEY) {
      throw new S3Error('KeyTooLongError', {
        key,
        message: `Your key is too long: with the storage prefix it is ${Buffer.byteLength(full)} bytes, the store holds at most ${STORE_MAX_KEY}.`,
        fields: { Size: String(Buffer.byteLength(key)), MaxSizeAllowed: String(STORE_MAX_KEY - Buffer.byteLength(this.objects(bucket))) },
      });
    }
    return full;
  }

  uploads(bucket: string): string {
    return `${this.bucketRoot(bucket)}u/`;
  }

  upload(bucket: string, uploadId: string): string {
    return `${this.uploads(bucket)}${uploadId}`;
  }

  lease(bucket: string, key: string): string {
    return `${this.base}l/${createHash('sha256').update(`${bucket}\0${key}`).digest('hex')}`;
  }

  credentials(): string {
    return `${this.base}osprey/credentials.json`;
  }

  /** the bucket an object or upload store key belongs to, when it is one */
  bucketOf(storeKey: string): string | undefined {
    const rest = storeKey.startsWith(`${this.base}b/`) ? storeKey.slice(this.base.length + 2) : undefined;
    const i = rest?.indexOf('/') ?? -1;
    return rest !== undefined && i > 0 ? rest.slice(0, i) : undefined;
  }
}

/** A multipart upload document (b/<name>/u/<uploadId>). */
export interface UploadDoc {
  key: string;
  initiated: number;
  meta: ObjectMeta;
}

interface MetaDoc {
  h?: Record<string, string>;
  u?: Record<string, string>;
  s?: Record<string, string>;
  /** Last-Modified kept from elsewhere (a mirror's origin), ms */
  lm?: number;
  /** the object's own ACL (ObjectMeta.acl) */
  a?: string;
}

/** ObjectMeta (+ an explicit Last-Modified) -> the x-amz-meta-osprey value; MetadataTooLarge over the store's limit. */
export function encodeMeta(meta: ObjectMeta, lastModified?: Date): string {
  const doc: MetaDoc = {};
  if (Object.keys(meta.headers).length) doc.h = meta.headers;
  if (Object.keys(meta.userMeta).length) doc.u = meta.userMeta;
  if (Object.keys(meta.system).length) doc.s = meta.system;
  if (lastModified) doc.lm = lastModified.getTime();
  if (meta.acl !== undefined) doc.a = meta.acl;
  // percent-encoding keeps every header value ASCII (RGW and HTTP/1.1 headers are not UTF-8 safe)
  const value = encodeURIComponent(JSON.stringify(doc));
  if (value.length > STORE_MAX_META) {
    throw new S3Error('MetadataTooLarge', {
      message: `Your metadata headers exceed the maximum allowed metadata size: encoded for the store they take ${value.length} bytes, at most ${STORE_MAX_META}.`,
    });
  }
  return value;
}

export function decodeMeta(value: string | undefined): { meta: ObjectMeta; lastModified?: Date } {
  const meta: ObjectMeta = { headers: {}, userMeta: {}, system: {} };
  if (!value) return { meta };
  let doc: MetaDoc;
  try {
    doc = JSON.parse(decodeURIComponent(value)) as MetaDoc;
  } catch {
    return { meta };
  }
  Object.assign(meta.headers, doc.h);
  Object.assign(meta.userMeta, doc.u);
  Object.assign(meta.system, doc.s);
  if (typeof doc.a === 'string') meta.acl = doc.a;
  return { meta, ...(typeof doc.lm === 'number' && { lastModified: new Date(doc.lm) }) };
}
