/**
 * @module http/handlers/cors
 * PutBucketCors, GetBucketCors, DeleteBucketCors (S3 and OSS dialects), and the preflight
 * (`OPTIONS` of a bucket or object, AWS's "OPTIONS object"), which the server answers before
 * authentication. What a configuration or a preflight means is service/cors.
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../../errors.js';
import { corsDocument, MAX_CORS_XML } from '../../service/cors.js';
import type { Ctx } from '../context.js';
import { bucketOf, header } from '../context.js';
import type { Deps } from '../deps.js';
import { sendEmpty, sendXml } from '../respond.js';
import { readCapped } from '../xml.js';

export async function putBucketCors(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  let body: Buffer;
  try {
    body = await readCapped(ctx.req, MAX_CORS_XML, ctx);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MaxMessageLengthExceeded') throw new S3Error('MalformedXML', { message: `The CORS configuration must be at most ${MAX_CORS_XML} bytes.` });
    throw err;
  }
  const md5 = header(ctx, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) throw new S3Error('InvalidDigest');
  await deps.cors.put(bucket, body.toString('utf8'), ctx.dialect);
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
