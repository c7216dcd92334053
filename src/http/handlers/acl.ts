/**
 * @module http/handlers/acl
 * GetObjectAcl and PutObjectAcl (`GET|PUT /bucket/key?acl`). What an ACL means is service/acl.ts's.
 */
import { S3Error } from '../../errors.js';
import { aclDocument, aclFromGrants, objectAclFromHeaders, ossAclName } from '../../service/acl.js';
import type { Ctx } from '../context.js';
import { objectTarget } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, readCapped, text } from '../../codec/xml.js';

const MAX_XML = 64 * 1024;

function owner(deps: Deps): { ID: string; DisplayName: string } {
  return { ID: deps.ownerId, DisplayName: deps.ownerId };
}

export async function getObjectAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  const info = await deps.objects.head(bucket, key);
  if (ctx.dialect === 'oss') {
    sendXml(ctx, 200, { AccessControlPolicy: { Owner: owner(deps), AccessControlList: { Grant: ossAclName(info.meta.acl) } } });
    return;
  }
  // no ACL of its own: the object has its bucket's
  sendXml(ctx, 200, aclDocument(await deps.objects.effectiveAcl(bucket, info), owner(deps)));
}

export async function putObjectAcl(ctx: Ctx, deps: Deps): Promise<void> {
  const { bucket, key } = objectTarget(ctx);
  let acl = objectAclFromHeaders(ctx.req.headers);
  const body = await readCapped(ctx.req, MAX_XML, ctx);
  if (acl === undefined && body.length > 0) acl = aclFromGrants(policyGrants(body.toString('utf8')), deps.ownerId);
  if (acl === undefined && !('x-oss-object-acl' in ctx.req.headers)) {
    throw new S3Error('InvalidArgument', { message: 'Give a canned ACL in x-amz-acl or an AccessControlPolicy body.' });
  }
  await deps.objects.setAcl(bucket, key, acl);
  sendEmpty(ctx, 200);
}

/** The grants of an AccessControlPolicy body. */
function policyGrants(xml: string): { uri?: string; id?: string; permission: string }[] {
  const doc = parseXml(xml, ['AccessControlPolicy.AccessControlList.Grant']);
  const policy = doc.AccessControlPolicy;
  if (policy === undefined) throw new S3Error('MalformedXML', { message: 'The body must be an <AccessControlPolicy> document.' });
  return children(child(child(policy, 'AccessControlList'), 'Grant')).map((g) => {
    const grantee = child(g, 'Grantee');
    const uri = text(child(grantee, 'URI'))?.trim();
    const id = text(child(grantee, 'ID'))?.trim();
    return { ...(uri !== undefined && { uri }), ...(id !== undefined && { id }), permission: text(child(g, 'Permission'))?.trim() ?? '' };
  });
}
