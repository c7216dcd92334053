/**
 * @module http/handlers/object-write
 * PutObject, CopyObject, DeleteObject.
 */
import { S3Error } from '../../errors.js';
import { decodePathPart, validateBucketName, validateObjectKey } from '../../service/names.js';
import { objectAclFromHeaders } from '../../service/acl.js';
import type { Ctx } from '../context.js';
import { header, objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { metaFromHeaders, requestBody } from '../body.js';
import { checkConditions, sendEmpty, sendXml } from '../respond.js';

export async function putObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  const meta = metaFromHeaders(ctx, deps.config.mirrorTag);
  const acl = objectAclFromHeaders(ctx.req.headers);
  if (acl !== undefined) meta.acl = acl;
  const ifNoneMatch = header(ctx, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', { message: 'Only If-None-Match: * is supported on PutObject.' });
  }
  const b = requestBody(ctx);
  const info = await deps.objects.put(bucket, key, b.body, {
    meta,
    ...(b.size !== undefined && { size: b.size }),
    ...(b.contentMd5 && { contentMd5: b.contentMd5 }),
    ...(ifNoneMatch !== undefined && { ifNoneMatch: true }),
    systemAtEnd: b.checksums,
  });
  sendEmpty(ctx, 200, { ETag: `"${info.etag}"`, ...checksumHeaders(info.meta.system) });
}

function checksumHeaders(system: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(system).filter(([k]) => k.startsWith('x-amz-checksum-')));
}

export async function copyObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  const raw = header(ctx, 'x-amz-copy-source') ?? header(ctx, 'x-oss-copy-source') ?? '';
  const src = parseCopySource(raw);
  const directive = (header(ctx, 'x-amz-metadata-directive') ?? header(ctx, 'x-oss-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', { message: `Unknown metadata directive '${directive}': use COPY or REPLACE.` });
  }
  const replace = directive === 'REPLACE' ? metaFromHeaders(ctx, deps.config.mirrorTag) : undefined;
  const prefix =
    header(ctx, 'x-amz-copy-source-if-match') !== undefined ||
    header(ctx, 'x-amz-copy-source-if-none-match') !== undefined ||
    header(ctx, 'x-amz-copy-source-if-modified-since') !== undefined ||
    header(ctx, 'x-amz-copy-source-if-unmodified-since') !== undefined
      ? 'x-amz-copy-source-'
      : undefined;
  // the copy has the ACL the request gives, not the source's (as S3)
  const acl = objectAclFromHeaders(ctx.req.headers);
  const info = await deps.objects.copy(src, { bucket, key }, replace, acl, (srcInfo) => {
    if (prefix) checkConditions(ctx, srcInfo, prefix);
  });
  sendXml(ctx, 200, { CopyObjectResult: { LastModified: info.lastModified.toISOString(), ETag: `"${info.etag}"` } });
}

/** `x-amz-copy-source: /bucket/key` or `bucket/key`, URL-encoded, optionally `?versionId=`. */
export function parseCopySource(raw: string): { bucket: string; key: string } {
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error('InvalidArgument', { message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.' });
  }
  const bucket = decodePathPart(path.slice(0, slash));
  const key = decodePathPart(path.slice(slash + 1));
  validateBucketName(bucket);
  validateObjectKey(key);
  return { bucket, key };
}

export async function deleteObject(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  await deps.objects.delete(bucket, key);
  sendEmpty(ctx, 204);
}
