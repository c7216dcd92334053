/**
 * @module http/handlers/cors
 * PutBucketCors, GetBucketCors, DeleteBucketCors (S3 and OSS dialects), and the preflight
 * (`OPTIONS` of a bucket or object, AWS's "OPTIONS object"), which the server answers before
 * authentication. What a configuration or a preflight means is service/cors.
 */
import { corsDocument, MAX_CORS_XML } from '../../service/cors.js';
import type { Ctx } from '../context.js';
import { bucketOf, header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty, sendXml } from '../respond.js';
import { readConfigBody } from './config-body.js';

export async function putBucketCors(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const body = await readConfigBody(ctx, MAX_CORS_XML, 'CORS configuration');
  await deps.cors.put(bucket, body, ctx.dialect);
  sendEmpty(ctx, 200);
}

export async function getBucketCors(ctx: Ctx, deps: Deps): Promise<void> {
  const cfg = await deps.cors.require(bucketOf(ctx));
  sendXml(ctx, 200, corsDocument(cfg));
}

export async function deleteBucketCors(ctx: Ctx, deps: Deps): Promise<void> {
  await deps.cors.delete(bucketOf(ctx));
  sendEmpty(ctx, 204);
}

/** OPTIONS: 200 with the Access-Control-* headers of the matching rule, or the service's 400/403. */
export async function optionsObject(ctx: Ctx, deps: Deps): Promise<void> {
  const headers = await deps.cors.preflight(
    bucketOf(ctx),
    header(ctx, 'origin'),
    header(ctx, 'access-control-request-method'),
    header(ctx, 'access-control-request-headers'),
  );
  sendEmpty(ctx, 200, headers);
}
