/**
 * @module http/handlers/multipart
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads.
 */
import { S3Error } from '../../errors.js';
import { objectAclFromHeaders } from '../../service/acl.js';
import { parsePartNumber } from '../../service/multipart.js';
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
  const up = await deps.multipart.create(bucket, key, meta);
  sendXml(ctx, 200, { InitiateMultipartUploadResult: { Bucket: bucket, Key: key, UploadId: up.uploadId } });
}

export async function uploadPart(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  const uploadId = uploadIdOf(q);
  const partNumber = parsePartNumber(q.get('partNumber') ?? '');
  const b = requestBody(ctx);
  const part = await deps.multipart.uploadPart(bucket, key, uploadId, partNumber, b.body, {
    ...(b.size !== undefined && { size: b.size }),
    ...(b.contentMd5 && { contentMd5: b.contentMd5 }),
  });
  sendEmpty(ctx, 200, { ETag: `"${part.etag}"`, ...b.checksums() });
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
  // If-None-Match: * (S3 conditional writes; `osprey import` sends it): only create
  const ifNoneMatch = header(ctx, 'if-none-match')?.trim() === '*';
  // the write path: a mirror fill of the key in progress does not store over the upload (MIR-42)
  const { etag } = await deps.multipart.complete(bucket, key, uploadId, parts, { ifNoneMatch });
  sendXml(ctx, 200, {
    CompleteMultipartUploadResult: { Location: `/${bucket}/${urlEncodeKey(key)}`, Bucket: bucket, Key: key, ETag: `"${etag}"` },
  });
}

export async function abortMultipartUpload(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  await deps.multipart.abort(bucket, key, uploadIdOf(q));
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key, query: q } = objectTarget(ctx);
  const uploadId = uploadIdOf(q);
  const marker = q.get('part-number-marker') ?? '0';
  if (!/^\d+$/.test(marker)) throw new S3Error('InvalidArgument', { message: 'part-number-marker must be a whole number.' });
  const maxParts = maxKeysParam(q, 'max-parts');
  const r = await deps.multipart.listParts(bucket, key, uploadId, { partNumberMarker: Number(marker), maxParts });
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
      Part: r.parts.map((p) => ({
        PartNumber: String(p.partNumber),
        LastModified: p.lastModified.toISOString(),
        ETag: `"${p.etag}"`,
        Size: String(p.size),
      })),
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
  const r = await deps.multipart.listUploads(bucket, {
    prefix,
    maxUploads,
    ...(keyMarker && { keyMarker }),
    ...(uploadIdMarker && { uploadIdMarker }),
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
        Key: u.key,
        UploadId: u.uploadId,
        Initiated: u.initiated.toISOString(),
        StorageClass: 'STANDARD',
        Initiator: { ID: deps.ownerId, DisplayName: deps.ownerId },
        Owner: { ID: deps.ownerId, DisplayName: deps.ownerId },
      })),
    },
  });
}
