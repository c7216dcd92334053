/**
 * @module http/handlers/website-config
 * PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite (spec §1.1, API-01..API-08).
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../../errors.js';
import { MAX_WEBSITE_XML, serializeWebsiteXml } from '../../origin/rules.js';
import type { Ctx } from '../context.js';
import { bucketOf, header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendBody, sendEmpty } from '../respond.js';
import { readCapped } from '../xml.js';


export async function putBucketWebsite(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  let body: Buffer;
  try {
    body = await readCapped(ctx.req, MAX_WEBSITE_XML, ctx);
  } catch (err) {
    // API-08: over the cap is MalformedXML
    if (err instanceof S3Error && err.code === 'MaxMessageLengthExceeded') throw new S3Error('MalformedXML', { message: `The website configuration must be at most ${MAX_WEBSITE_XML} bytes.` });
    throw err;
  }
  const md5 = header(ctx, 'content-md5');
  // API-05
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) throw new S3Error('InvalidDigest');
  await deps.website.put(bucket, body.toString('utf8'));
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
