/**
 * @module http/handlers/config-body
 * The body of a bucket configuration PUT (website, CORS): read up to its cap, over which it is
 * MalformedXML (API-08), and checked against Content-MD5 when one is sent (API-05).
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../../errors.js';
import type { Ctx } from '../context.js';
import { header } from '../context.js';
import { readCapped } from '../../codec/xml.js';

export async function readConfigBody(ctx: Ctx, limit: number, what: string): Promise<string> {
  let body: Buffer;
  try {
    body = await readCapped(ctx.req, limit, ctx);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MaxMessageLengthExceeded')
      throw new S3Error('MalformedXML', { message: `The ${what} must be at most ${limit} bytes.` });
    throw err;
  }
  const md5 = header(ctx, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) throw new S3Error('InvalidDigest');
  return body.toString('utf8');
}
