/**
 * @module http/handlers/bucket
 * ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, Get/PutBucketAcl,
 * DeleteObjects.
 */
import { S3Error } from '../../errors.js';
import { validateObjectKey } from '../../service/names.js';
import type { CannedAcl } from '../../storage/driver.js';
import { CANNED_ACLS } from '../../storage/driver.js';
import type { Ctx } from '../context.js';
import { bucketOf, header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, readCapped, text } from '../xml.js';

const MAX_XML = 1024 * 1024;


function owner(deps: Deps): Record<string, string> {
  return { ID: deps.ownerId, DisplayName: deps.ownerId };
}

export async function listBuckets(ctx: Ctx, deps: Deps): Promise<void> {
  const buckets = await deps.driver.listBuckets();
  sendXml(ctx, 200, {
    ListAllMyBucketsResult: {
      Owner: owner(deps),
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.created.toISOString() })) },
    },
  });
}

function cannedAcl(ctx: Ctx): CannedAcl | undefined {
  const v = header(ctx, 'x-amz-acl') ?? header(ctx, 'x-oss-acl');
  if (v === undefined) return undefined;
  if (!(CANNED_ACLS as readonly string[]).includes(v)) {
    throw new S3Error('InvalidArgument', { message: `Unsupported canned ACL '${v}': use private, public-read or public-read-write.`, fields: { ArgumentName: 'x-amz-acl', ArgumentValue: v } });
  }
  return v as CannedAcl;
}

export async function createBucket(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const acl = cannedAcl(ctx) ?? 'private';
  // A CreateBucketConfiguration body (LocationConstraint) may come along; it is read and checked for well-formedness only.
  const body = await readCapped(ctx.req, MAX_XML, ctx);
  if (body.length > 0) parseXml(body.toString('utf8'));
  await deps.driver.createBucket(bucket, acl);
  sendEmpty(ctx, 200, { Location: `/${bucket}` });
}

export async function headBucket(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  if (!(await deps.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': deps.config.region });
}

export async function deleteBucket(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.driver.deleteBucket(bucketOf(ctx));
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  if (!(await deps.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
  // S3 answers an empty LocationConstraint for us-east-1.
  sendXml(ctx, 200, { LocationConstraint: deps.config.region === 'us-east-1' ? '' : deps.config.region });
}

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

export async function getBucketAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const info = await deps.driver.getBucket(bucket);
  if (!info) throw new S3Error('NoSuchBucket', { bucket });
  const grant = (grantee: Record<string, unknown>, permission: string) => ({ Grantee: grantee, Permission: permission });
  const ownerGrantee = { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'CanonicalUser', ...owner(deps) };
  const groupGrantee = { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'Group', URI: ALL_USERS };
  const grants = [grant(ownerGrantee, 'FULL_CONTROL')];
  if (info.acl === 'public-read' || info.acl === 'public-read-write') grants.push(grant(groupGrantee, 'READ'));
  if (info.acl === 'public-read-write') grants.push(grant(groupGrantee, 'WRITE'));
  const doc =
    ctx.dialect === 'oss'
      ? { AccessControlPolicy: { Owner: owner(deps), AccessControlList: { Grant: info.acl } } }
      : { AccessControlPolicy: { Owner: owner(deps), AccessControlList: { Grant: grants } } };
  sendXml(ctx, 200, doc);
}

export async function putBucketAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  let acl = cannedAcl(ctx);
  const body = await readCapped(ctx.req, MAX_XML, ctx);
  if (acl === undefined && body.length > 0) acl = aclFromPolicy(body.toString('utf8'));
  if (acl === undefined) throw new S3Error('InvalidArgument', { message: 'Give a canned ACL in x-amz-acl (private, public-read, public-read-write).' });
  await deps.driver.setBucketAcl(bucket, acl);
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
  throw new S3Error('NotImplemented', { message: 'Only grants equivalent to the canned ACLs private, public-read and public-read-write are supported.' });
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
  if (!(await deps.driver.getBucket(bucket))) throw new S3Error('NoSuchBucket', { bucket });
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
      const e = err instanceof S3Error ? err : new S3Error('InternalError');
      errors.push({ Key: key, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 200, { DeleteResult: { ...(deleted.length > 0 && { Deleted: deleted }), ...(errors.length > 0 && { Error: errors }) } });
}
