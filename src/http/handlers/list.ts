/**
 * @module http/handlers/list
 * ListObjects (v1) and ListObjectsV2: prefix, delimiter, max-keys, marker / continuation-token /
 * start-after, encoding-type=url. Keys come back in UTF-8 binary order from the driver's index.
 */
import { S3Error } from '../../errors.js';
import type { ListResult } from '../../storage/driver.js';
import type { Ctx } from '../context.js';
import { bucketOf } from '../context.js';
import type { Deps } from '../deps.js';
import { sendXml } from '../respond.js';
import { readThroughWebsite } from './object-read.js';

async function isWebsiteRoot(ctx: Ctx, deps: Deps, bucket: string): Promise<boolean> {
  if (ctx.auth?.principal.kind !== 'anonymous' && ctx.endpoint?.style !== 'bound') return false;
  if (ctx.endpoint && ctx.endpoint.query.size > 0) return false;
  const cfg = await deps.website.get(bucket);
  return cfg?.IndexDocument !== undefined || cfg?.RedirectAllRequestsTo !== undefined;
}

export function maxKeysParam(q: Map<string, string>, name: string, def = 1000): number {
  const v = q.get(name);
  if (v === undefined || v === '') return def;
  if (!/^\d+$/.test(v))
    throw new S3Error('InvalidArgument', {
      message: `${name} must be a non-negative whole number, not '${v}'.`,
      fields: { ArgumentName: name, ArgumentValue: v },
    });
  return Math.min(Number(v), 1000);
}

/** S3's encoding-type=url: percent-encode like URLEncoder (keeps '/' readable? no: S3 encodes all but unreserved and '/'). */
export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function encodingType(q: Map<string, string>): (s: string) => string {
  const e = q.get('encoding-type');
  if (e === undefined) return (s) => s;
  if (e.toLowerCase() !== 'url')
    throw new S3Error('InvalidArgument', {
      message: `Invalid Encoding Method specified in Request: '${e}'.`,
      fields: { ArgumentName: 'encoding-type' },
    });
  return urlEncodeKey;
}

function contents(r: ListResult, enc: (s: string) => string, ownerId: string | undefined) {
  return r.objects.map((o) => ({
    Key: enc(o.key),
    LastModified: o.lastModified.toISOString(),
    ETag: `"${o.etag}"`,
    Size: String(o.size),
    ...(ownerId !== undefined && { Owner: { ID: ownerId, DisplayName: ownerId } }),
    StorageClass: 'STANDARD',
  }));
}

function prefixes(r: ListResult, enc: (s: string) => string) {
  return r.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
}

export async function listObjects(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  if (await isWebsiteRoot(ctx, deps, bucket)) {
    // WEB-01: an anonymous (or website-host) GET of the bucket root is the index document
    await readThroughWebsite(ctx, deps, bucket, '');
    return;
  }
  const q = ctx.endpoint?.query ?? new Map<string, string>();
  const enc = encodingType(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const marker = q.get('marker') || undefined;
  const maxKeys = maxKeysParam(q, 'max-keys');
  const r = await deps.objects.list(bucket, { prefix, ...(delimiter && { delimiter }), ...(marker && { startAfter: marker }), maxKeys });
  sendXml(ctx, 200, {
    ListBucketResult: {
      Name: bucket,
      // v1's <Prefix> is sent as given, even with encoding-type=url (as RGW; botocore does not decode it)
      Prefix: prefix,
      Marker: enc(marker ?? ''),
      MaxKeys: String(maxKeys),
      ...(delimiter !== undefined && { Delimiter: enc(delimiter) }),
      IsTruncated: String(r.isTruncated),
      ...(r.isTruncated && r.nextMarker !== undefined && { NextMarker: enc(r.nextMarker) }),
      ...(q.has('encoding-type') && { EncodingType: 'url' }),
      Contents: contents(r, enc, deps.ownerId),
      CommonPrefixes: prefixes(r, enc),
    },
  });
}

/** Continuation tokens are opaque to clients: base64url of the key to continue after. */
function decodeToken(t: string): string {
  const key = Buffer.from(t, 'base64url').toString('utf8');
  if (Buffer.from(key, 'utf8').toString('base64url') !== t) {
    throw new S3Error('InvalidArgument', {
      message: 'The continuation token provided is incorrect.',
      fields: { ArgumentName: 'continuation-token' },
    });
  }
  return key;
}

export async function listObjectsV2(ctx: Ctx, deps: Deps): Promise<void> {
  const bucket = bucketOf(ctx);
  const q = ctx.endpoint?.query ?? new Map<string, string>();
  const enc = encodingType(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') || undefined;
  const maxKeys = maxKeysParam(q, 'max-keys');
  let after = token !== undefined ? decodeToken(token) : startAfter;
  if (token !== undefined && startAfter !== undefined && startAfter > (after ?? '')) after = startAfter;
  const r = await deps.objects.list(bucket, {
    prefix,
    ...(delimiter && { delimiter }),
    ...(after !== undefined && { startAfter: after }),
    maxKeys,
  });
  const fetchOwner = q.get('fetch-owner') === 'true';
  sendXml(ctx, 200, {
    ListBucketResult: {
      Name: bucket,
      Prefix: enc(prefix),
      ...(startAfter !== undefined && { StartAfter: enc(startAfter) }),
      ...(token !== undefined && { ContinuationToken: token }),
      KeyCount: String(r.objects.length + r.commonPrefixes.length),
      MaxKeys: String(maxKeys),
      ...(delimiter !== undefined && { Delimiter: enc(delimiter) }),
      IsTruncated: String(r.isTruncated),
      ...(r.isTruncated &&
        r.nextMarker !== undefined && { NextContinuationToken: Buffer.from(r.nextMarker, 'utf8').toString('base64url') }),
      ...(q.has('encoding-type') && { EncodingType: 'url' }),
      Contents: contents(r, enc, fetchOwner ? deps.ownerId : undefined),
      CommonPrefixes: prefixes(r, enc),
    },
  });
}
