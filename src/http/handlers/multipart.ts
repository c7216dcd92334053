/**
 * @module http/handlers/multipart
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads.
 */
import { S3Error } from '../../errors.js';
import { objectAclFromHeaders } from '../../service/acl.js';
import type { Ctx } from '../context.js';
import { header, objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { metaFromHeaders, requestBody } from '../body.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, readCapped, text } from '../../codec/xml.js';
import { maxKeysParam, urlEncodeKey } from './list.js';


function uploadIdOf(q: Map<string, string>): string {
  const id = q.get('uploadId');
  if (!id) throw new S3Error('NoSuchUpload');
  return id;
}

export async function createMultipartUpload(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  const meta = metaFromHeaders(ctx, deps.config.mirrorTag);
  const acl = objectAclFromHeaders(ctx.req.headers);
  if (acl !== undefined) meta.acl = acl;
  const up = await deps.driver.createMultipartUpload(bucket, key, meta);
  sendXml(ctx, 200, { InitiateMultipartUploadResult: { Bucket: bucket, Key: key, UploadId: up.uploadId } });
}

export async function uploadPart(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  const uploadId = uploadIdOf(q);
  const pn = q.get('partNumber') ?? '';
  if (!/^\d+$/.test(pn) || Number(pn) < 1 || Number(pn) > 10000) {
    throw new S3Error('InvalidArgument', { message: 'Part number must be an integer between 1 and 10000, inclusive.', fields: { ArgumentName: 'partNumber', ArgumentValue: pn } });
  }
  const b = requestBody(ctx);
  const part = await deps.driver.uploadPart(bucket, key, uploadId, Number(pn), b.body, {
    ...(b.size !== undefined && { size: b.size }),
    ...(b.contentMd5 && { contentMd5: b.contentMd5 }),
    maxSize: 5 * 1024 ** 3,
  });
  sendEmpty(ctx, 200, { ETag: `"${part.etag}"`, ...b.checksums() });
}

/**
 * Uploads this process completed lately (at most COMPLETED_KEPT): a repeated
 * CompleteMultipartUpload is answered from here. Per node and not kept over a restart.
 */
const COMPLETED_KEPT = 10_000;
const completed = new Map<string, { bucket: string; key: string; etag: string }>();
function remember(uploadId: string, bucket: string, key: string, etag: string): void {
  completed.set(uploadId, { bucket, key, etag });
  if (completed.size > COMPLETED_KEPT) completed.delete(completed.keys().next().value as string);
}

export async function completeMultipartUpload(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  const uploadId = uploadIdOf(q);
  const body = await readCapped(ctx.req, 2 * 1024 * 1024, ctx);
  const doc = parseXml(body.toString('utf8'), ['CompleteMultipartUpload.Part']);
  const root = doc.CompleteMultipartUpload;
  if (root === undefined) throw new S3Error('MalformedXML', { message: 'The body must be a <CompleteMultipartUpload> document.' });
  const parts = children(child(root, 'Part')).map((p) => {
    const n = text(child(p, 'PartNumber'));
    const etag = text(child(p, 'ETag'));
    if (n === undefined || !/^\d+$/.test(n.trim()) || etag === undefined) {
      throw new S3Error('MalformedXML', { message: 'Each <Part> needs a numeric <PartNumber> and an <ETag>.' });
    }
    return { partNumber: Number(n.trim()), etag: etag.trim().replace(/^"|"$/g, '') };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML', { message: 'You must specify at least one part.' });
  // A part number listed twice in a row: the later entry is the one meant (a part uploaded again
  // while the first upload was still running; RGW and s3-tests' resend_first_finishes_last)
  const listed = parts.filter((p, i) => parts[i + 1]?.partNumber !== p.partNumber);
  // If-None-Match: * (S3 conditional writes; `osprey import` sends it): only create
  const ifNoneMatch = header(ctx, 'if-none-match')?.trim() === '*';
  let etag: string;
  try {
    // the write path: a mirror fill of the key in progress does not store over the upload (MIR-42)
    etag = (await deps.objects.completeUpload(bucket, key, uploadId, listed, { ifNoneMatch })).etag;
    remember(uploadId, bucket, key, etag);
  } catch (err) {
    // CompleteMultipartUpload again of an upload this node completed: 200 with the same ETag
    // (S3 answers so while the object it made is still there), not NoSuchUpload
    const done = err instanceof S3Error && err.code === 'NoSuchUpload' ? completed.get(uploadId) : undefined;
    if (!done || done.bucket !== bucket || done.key !== key || (await deps.objects.find(bucket, key))?.etag !== done.etag) throw err;
    etag = done.etag;
  }
  sendXml(ctx, 200, {
    CompleteMultipartUploadResult: { Location: `/${bucket}/${urlEncodeKey(key)}`, Bucket: bucket, Key: key, ETag: `"${etag}"` },
  });
}

export async function abortMultipartUpload(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  await deps.driver.abortMultipartUpload(bucket, key, uploadIdOf(q));
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  const uploadId = uploadIdOf(q);
  const marker = q.get('part-number-marker') ?? '0';
  if (!/^\d+$/.test(marker)) throw new S3Error('InvalidArgument', { message: 'part-number-marker must be a whole number.' });
  const maxParts = maxKeysParam(q, 'max-parts');
  const r = await deps.driver.listParts(bucket, key, uploadId, { partNumberMarker: Number(marker), maxParts });
  const last = r.parts[r.parts.length - 1];
  sendXml(ctx, 200, {
    ListPartsResult: {
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumberMarker: marker,
      ...(last && { NextPartNumberMarker: String(last.partNumber) }),
      MaxParts: String(maxParts),
      IsTruncated: String(r.isTruncated),
      Part: r.parts.map((p) => ({ PartNumber: String(p.partNumber), LastModified: p.lastModified.toISOString(), ETag: `"${p.etag}"`, Size: String(p.size) })),
    },
  });
}

export async function listMultipartUploads(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = ctx.endpoint?.bucket;
  if (bucket === undefined) throw new Error('no bucket');
  const q = ctx.endpoint?.query ?? new Map<string, string>();
  const prefix = q.get('prefix') ?? '';
  const keyMarker = q.get('key-marker') || undefined;
  const uploadIdMarker = q.get('upload-id-marker') || undefined;
  const maxUploads = maxKeysParam(q, 'max-uploads');
  const r = await deps.driver.listMultipartUploads(bucket, {
    prefix, maxUploads, ...(keyMarker && { keyMarker }), ...(uploadIdMarker && { uploadIdMarker }),
  });
  const last = r.uploads[r.uploads.length - 1];
  sendXml(ctx, 200, {
    ListMultipartUploadsResult: {
      Bucket: bucket,
      KeyMarker: keyMarker ?? '',
      UploadIdMarker: uploadIdMarker ?? '',
      ...(r.isTruncated && last && { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId }),
      Prefix: prefix,
      MaxUploads: String(maxUploads),
      IsTruncated: String(r.isTruncated),
      Upload: r.uploads.map((u) => ({
        Key: u.key, UploadId: u.uploadId, Initiated: u.initiated.toISOString(), StorageClass: 'STANDARD',
        Initiator: { ID: deps.ownerId, DisplayName: deps.ownerId }, Owner: { ID: deps.ownerId, DisplayName: deps.ownerId },
      })),
    },
  });
}
