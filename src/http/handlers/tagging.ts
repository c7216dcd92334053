/**
 * @module http/handlers/tagging
 * GetObjectTagging (`GET /bucket/key?tagging`): the tags stored with an object, which today come
 * from a Mirror rule's MirrorTaggings (MIR-30, rules/tagging.ts). Put/DeleteObjectTagging are
 * not implemented and say so (501) instead of falling through to PutObject/DeleteObject.
 */
import { S3Error } from '../../errors.js';
import type { Ctx } from '../context.js';
import { objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { sendXml } from '../respond.js';

export async function getObjectTagging(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  const tags = await deps.objects.tags(bucket, key);
  sendXml(ctx, 200, { Tagging: { TagSet: tags.length === 0 ? '' : { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } } });
}

export async function putObjectTagging(): Promise<void> {
  throw new S3Error('NotImplemented', { message: 'PutObjectTagging is not implemented; object tags come from MirrorTaggings.' });
}

export async function deleteObjectTagging(): Promise<void> {
  throw new S3Error('NotImplemented', { message: 'DeleteObjectTagging is not implemented; object tags come from MirrorTaggings.' });
}
