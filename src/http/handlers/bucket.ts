/**
 * @module http/handlers/bucket
 * ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, Get/PutBucketAcl,
 * DeleteObjects.
 */
import { S3Error, toS3Error } from '../../errors.js';
import { aclDocument, fromBucketAcl } from '../../service/acl.js';
import { validateObjectKey } from '../../service/names.js';
import type { CannedAcl } from '../../storage/driver.js';
import { CANNED_ACLS } from '../../storage/driver.js';
import type { Ctx } from '../context.js';
import { bucketOf, header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, readCapped, text } from '../../codec/xml.js';

const MAX_XML = 1024 * 1024;

function owner(deps: Deps): Record<string, string> {
  return { ID: deps.ownerId, DisplayName: deps.ownerId };
}

/** ListBuckets, with S3's paging: max-buckets (1..10000), continuation-token (opaque: base64url of the last name), prefix. */
export async function listBuckets(ctx: Ctx, deps: Deps): Promise<void> {
  const q = ctx.endpoint?.query ?? new Map<string, string>();
  const maxParam = q.get('max-buckets');
  if (maxParam !== undefined && (!/^\d+$/.test(maxParam) || Number(maxParam) < 1 || Number(maxParam) > 10000)) {
    throw new S3Error('InvalidArgument', {
      message: 'max-buckets must be a whole number from 1 to 10000.',
      fields: { ArgumentName: 'max-buckets', ArgumentValue: maxParam },
    });
  }
  const token = q.get('continuation-token');
  const after = token === undefined || token === '' ? undefined : Buffer.from(token, 'base64url').toString('utf8');
  const prefix = q.get('prefix') ?? '';
  const { buckets: page, more } = await deps.buckets.page({
    prefix,
    ...(after !== undefined && { after }),
    max: maxParam === undefined ? Infinity : Number(maxParam),
  });
  const last = page[page.length - 1];
  sendXml(ctx, 200, {
    ListAllMyBucketsResult: {
      Owner: owner(deps),
      Buckets: { Bucket: page.map((b) => ({ Name: b.name, CreationDate: b.created.toISOString() })) },
      ...(more && last && { ContinuationToken: Buffer.from(last.name, 'utf8').toString('base64url') }),
      ...(q.has('prefix') && { Prefix: prefix }),
    },
  });
}

function cannedAcl(ctx: Ctx): CannedAcl | undefined {
  const v = header(ctx, 'x-amz-acl') ?? header(ctx, 'x-oss-acl');
  if (v === undefined) return undefined;
  if (!(CANNED_ACLS as readonly string[]).includes(v)) {
    throw new S3Error('InvalidArgument', {
      message: `Unsupported canned ACL '${v}': use private, public-read or public-read-write.`,
      fields: { ArgumentName: 'x-amz-acl', ArgumentValue: v },
    });
  }
  return v as CannedAcl;
}

export async function createBucket(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const acl = cannedAcl(ctx) ?? 'private';
  // A CreateBucketConfiguration body (LocationConstraint) may come along; it is read and checked for well-formedness only.
  const body = await readCapped(ctx.req, MAX_XML, ctx);
  if (body.length > 0) parseXml(body.toString('utf8'));
  // re-creating your own bucket: S3's us-east-1 legacy answer, or 409 (service/buckets)
  await deps.buckets.createFromApi(bucket, acl, ctx.dialect);
  sendEmpty(ctx, 200, { Location: `/${bucket}` });
}

export async function headBucket(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.buckets.require(bucketOf(ctx));
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': deps.config.region });
}

export async function deleteBucket(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.buckets.delete(bucketOf(ctx));
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.buckets.require(bucketOf(ctx));
  // S3 answers an empty LocationConstraint for us-east-1.
  sendXml(ctx, 200, { LocationConstraint: deps.config.region === 'us-east-1' ? '' : deps.config.region });
}

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

export async function getBucketAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const info = await deps.buckets.require(bucketOf(ctx));
  // grants listed as RGW lists them: group grants first, then the owner's FULL_CONTROL
  const doc =
    ctx.dialect === 'oss'
      ? { AccessControlPolicy: { Owner: owner(deps), AccessControlList: { Grant: info.acl } } }
      : aclDocument(fromBucketAcl(info.acl), { ID: deps.ownerId, DisplayName: deps.ownerId });
  sendXml(ctx, 200, doc);
}

export async function putBucketAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  let acl = cannedAcl(ctx);
  const body = await readCapped(ctx.req, MAX_XML, ctx);
  if (acl === undefined && body.length > 0) acl = aclFromPolicy(body.toString('utf8'));
  if (acl === undefined)
    throw new S3Error('InvalidArgument', { message: 'Give a canned ACL in x-amz-acl (private, public-read, public-read-write).' });
  await deps.buckets.setAcl(bucket, acl);
  sendEmpty(ctx, 200);
}

/** An AccessControlPolicy body is accepted when it is exactly one of the canned ACLs. */
function aclFromPolicy(xml: string): CannedAcl {
  const doc = parseXml(xml, ['AccessControlPolicy.AccessControlList.Grant']);
  const grants = children(child(child(doc.AccessControlPolicy, 'AccessControlList'), 'Grant'));
  const perms = new Set<string>();
  for (const g of grants) {
    const uri = text(child(child(g, 'Grantee'), 'URI'));
    if (uri === ALL_USERS) perms.add(text(child(g, 'Permission')) ?? '');
  }
  if (perms.size === 0) return 'private';
  if (perms.size === 1 && perms.has('READ')) return 'public-read';
  if (perms.size === 2 && perms.has('READ') && perms.has('WRITE')) return 'public-read-write';
  throw new S3Error('NotImplemented', {
    message: 'Only grants equivalent to the canned ACLs private, public-read and public-read-write are supported.',
  });
}

export async function deleteObjects(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const body = await readCapped(ctx.req, 2 * MAX_XML, ctx);
  const doc = parseXml(body.toString('utf8'), ['Delete.Object']);
  const del = doc.Delete;
  if (del === undefined) throw new S3Error('MalformedXML', { message: 'The body must be a <Delete> document.' });
  const objects = children(child(del, 'Object'));
  if (objects.length > 1000) throw new S3Error('MalformedXML', { message: 'A DeleteObjects request can name at most 1000 keys.' });
  const quiet = text(child(del, 'Quiet'))?.trim().toLowerCase() === 'true';
  await deps.buckets.require(bucket);
  const deleted: Record<string, string>[] = [];
  const errors: Record<string, string>[] = [];
  for (const o of objects) {
    const key = text(child(o, 'Key'));
    if (key === undefined) throw new S3Error('MalformedXML', { message: 'Each <Object> must have a <Key>.' });
    try {
      validateObjectKey(key);
      await deps.objects.delete(bucket, key);
      if (!quiet) deleted.push({ Key: key });
    } catch (err) {
      // the one table (errors.ts): out of space is ServiceUnavailable here too, as in every answer
      const e = toS3Error(err);
      if (e.code === 'InternalError') deps.log.error({ reqId: ctx.reqId, key, err }, 'internal error deleting a key');
      errors.push({ Key: key, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 200, { DeleteResult: { ...(deleted.length > 0 && { Deleted: deleted }), ...(errors.length > 0 && { Error: errors }) } });
}
