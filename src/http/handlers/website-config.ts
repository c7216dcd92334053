/**
 * @module http/handlers/website-config
 * PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite (spec §1.1, API-01..API-08).
 */
import { MAX_WEBSITE_XML, serializeWebsiteXml } from '../../rules/rules.js';
import type { Ctx } from '../context.js';
import { bucketOf } from '../context.js';
import type { Deps } from '../deps.js';
import { sendBody, sendEmpty } from '../respond.js';
import { readConfigBody } from './config-body.js';

export async function putBucketWebsite(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const body = await readConfigBody(ctx, MAX_WEBSITE_XML, 'website configuration');
  await deps.website.put(bucket, body);
  sendEmpty(ctx, 200);
}

export async function getBucketWebsite(ctx: Ctx, deps: Deps): Promise<void> {
  const cfg = await deps.website.require(bucketOf(ctx));
  sendBody(ctx, 200, 'application/xml', serializeWebsiteXml(cfg));
}

export async function deleteBucketWebsite(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.website.delete(bucketOf(ctx));
  sendEmpty(ctx, 204);
}
