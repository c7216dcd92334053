/**
 * The core S3 operations end to end with the AWS SDK for JavaScript v3 against a real server.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

async function rejectsWith(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    assert.equal(err.name, name);
    if (status !== undefined) assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  });
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe('core object operations with the AWS SDK v3', () => {
  let server: TestServer;
  let client: S3Client;
  before(async () => {
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }));
  });
  after(async () => {
    client.destroy();
    await server.close();
  });

  it('lists, heads and locates buckets', async () => {
    const list = await client.send(new ListBucketsCommand({}));
    assert.deepEqual(
      list.Buckets?.map((b) => b.Name),
      ['sdk-bucket'],
    );
    await client.send(new HeadBucketCommand({ Bucket: 'sdk-bucket' }));
    await rejectsWith(client.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })), 'NotFound', 404);
    const loc = await client.send(new GetBucketLocationCommand({ Bucket: 'sdk-bucket' }));
    assert.equal(loc.LocationConstraint ?? '', '');
    // us-east-1's legacy answer (issue 17): re-creating your own bucket is 200 and changes nothing; another ACL is 409
    await client.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }));
    await rejectsWith(client.send(new CreateBucketCommand({ Bucket: 'sdk-bucket', ACL: 'public-read' })), 'BucketAlreadyExists', 409);
  });

  it('puts and gets an object with its headers and metadata, ETag = MD5', async () => {
    const body = Buffer.from('hello osprey\n');
    const put = await client.send(
      new PutObjectCommand({
        Bucket: 'sdk-bucket',
        Key: 'dir/hello.txt',
        Body: body,
        ContentType: 'text/plain',
        CacheControl: 'max-age=60',
        ContentDisposition: 'inline',
        ContentLanguage: 'en',
        ContentEncoding: 'identity',
        Expires: new Date('2030-01-01T00:00:00Z'),
        Metadata: { color: 'blue', 'two-words': 'a b' },
      }),
    );
    assert.equal(put.ETag, `"${md5(body)}"`);
    const got = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'dir/hello.txt' }));
    assert.equal(await got.Body?.transformToString(), body.toString());
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ContentDisposition, 'inline');
    assert.equal(got.ContentLanguage, 'en');
    assert.equal(got.ContentEncoding, 'identity');
    assert.equal(got.ExpiresString ?? got.Expires?.toUTCString(), 'Tue, 01 Jan 2030 00:00:00 GMT');
    assert.deepEqual(got.Metadata, { color: 'blue', 'two-words': 'a b' });
    assert.equal(got.ETag, `"${md5(body)}"`);
    assert.equal(got.ContentLength, body.length);
  });

  it('streams a body of unknown length (aws-chunked with a CRC32 trailer)', async () => {
    const data = randomBytes(300_000);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(data));
    // what went on the wire: the final request, after the SDK's checksum and signing steps
    let sent: Record<string, string> = {};
    const cmd = new PutObjectCommand({
      Bucket: 'sdk-bucket',
      Key: 'stream.bin',
      Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      ContentLength: data.length,
    });
    cmd.middlewareStack.add(
      (next) => async (args) => {
        sent = { ...(args.request as { headers: Record<string, string> }).headers };
        return next(args);
      },
      { step: 'deserialize', name: 'captureSentHeaders' },
    );
    const put = await client.send(cmd);
    assert.equal(sent['content-encoding'], 'aws-chunked');
    assert.equal(sent['x-amz-trailer'], 'x-amz-checksum-crc32');
    assert.match(sent['x-amz-content-sha256'] ?? '', /^STREAMING-.*-TRAILER$/);
    assert.equal(put.ETag, `"${md5(data)}"`);
    assert.equal(put.ChecksumCRC32, crc.toString('base64'), 'the trailer checksum was verified and stored');
    const head = await client.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'stream.bin', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ChecksumCRC32, crc.toString('base64'));
    const got = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'stream.bin' }));
    assert.equal(md5(Buffer.from((await got.Body?.transformToByteArray()) ?? [])), md5(data));
  });

  it('serves a single Range and response-* overrides', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'digits', Body: '0123456789' }));
    const r = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'digits', Range: 'bytes=2-5' }));
    assert.equal(r.$metadata.httpStatusCode, 206);
    assert.equal(r.ContentRange, 'bytes 2-5/10');
    assert.equal(await r.Body?.transformToString(), '2345');
    const suffix = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'digits', Range: 'bytes=-3' }));
    assert.equal(await suffix.Body?.transformToString(), '789');
    await rejectsWith(
      client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'digits', Range: 'bytes=20-30' })),
      'InvalidRange',
      416,
    );
    const o = await client.send(
      new GetObjectCommand({
        Bucket: 'sdk-bucket',
        Key: 'digits',
        ResponseContentType: 'text/csv',
        ResponseContentDisposition: 'attachment; filename="d.csv"',
        ResponseCacheControl: 'no-store',
      }),
    );
    assert.equal(o.ContentType, 'text/csv');
    assert.equal(o.ContentDisposition, 'attachment; filename="d.csv"');
    assert.equal(o.CacheControl, 'no-store');
    await o.Body?.transformToString();
  });

  it('evaluates If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', Body: 'c' }));
    const etag = put.ETag ?? '';
    const ok = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfMatch: etag }));
    assert.equal(await ok.Body?.transformToString(), 'c');
    await rejectsWith(
      client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfMatch: '"nope"' })),
      'PreconditionFailed',
      412,
    );
    await assert.rejects(
      client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfNoneMatch: etag })),
      (e: unknown) => (e as S3ServiceException).$metadata.httpStatusCode === 304,
    );
    const future = new Date(Date.now() + 3600_000);
    const past = new Date(Date.now() - 3600_000);
    await assert.rejects(
      client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfModifiedSince: future })),
      (e: unknown) => (e as S3ServiceException).$metadata.httpStatusCode === 304,
    );
    await rejectsWith(
      client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfUnmodifiedSince: past })),
      'PreconditionFailed',
      412,
    );
    const fresh = await client.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'cond', IfModifiedSince: past }));
    assert.equal(await fresh.Body?.transformToString(), 'c');
  });

  it('copies with COPY and REPLACE metadata directives', async () => {
    await client.send(
      new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'src', Body: 'copy me', ContentType: 'text/x-src', Metadata: { a: '1' } }),
    );
    const c1 = await client.send(new CopyObjectCommand({ Bucket: 'sdk-bucket', Key: 'dst1', CopySource: 'sdk-bucket/src' }));
    assert.equal(c1.CopyObjectResult?.ETag, `"${md5('copy me')}"`);
    const h1 = await client.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'dst1' }));
    assert.equal(h1.ContentType, 'text/x-src');
    assert.deepEqual(h1.Metadata, { a: '1' });
    await client.send(
      new CopyObjectCommand({
        Bucket: 'sdk-bucket',
        Key: 'dst2',
        CopySource: 'sdk-bucket/src',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
        Metadata: { b: '2' },
      }),
    );
    const h2 = await client.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'dst2' }));
    assert.equal(h2.ContentType, 'text/plain');
    assert.deepEqual(h2.Metadata, { b: '2' });
    await rejectsWith(
      client.send(new CopyObjectCommand({ Bucket: 'sdk-bucket', Key: 'dst3', CopySource: 'sdk-bucket/missing' })),
      'NoSuchKey',
      404,
    );
    await rejectsWith(
      client.send(new CopyObjectCommand({ Bucket: 'sdk-bucket', Key: 'src', CopySource: 'sdk-bucket/src' })),
      'InvalidRequest',
      400,
    );
  });

  it('deletes one and many objects (quiet and verbose)', async () => {
    for (const k of ['d/1', 'd/2', 'd/3', 'd/4']) await client.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: k, Body: k }));
    await client.send(new DeleteObjectCommand({ Bucket: 'sdk-bucket', Key: 'd/1' }));
    await rejectsWith(client.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'd/1' })), 'NotFound', 404);
    const verbose = await client.send(
      new DeleteObjectsCommand({ Bucket: 'sdk-bucket', Delete: { Objects: [{ Key: 'd/2' }, { Key: 'd/never' }] } }),
    );
    assert.deepEqual(verbose.Deleted?.map((d) => d.Key).sort(), ['d/2', 'd/never']);
    const quiet = await client.send(
      new DeleteObjectsCommand({ Bucket: 'sdk-bucket', Delete: { Quiet: true, Objects: [{ Key: 'd/3' }, { Key: 'd/4' }] } }),
    );
    assert.equal(quiet.Deleted, undefined);
    const left = await client.send(new ListObjectsV2Command({ Bucket: 'sdk-bucket', Prefix: 'd/' }));
    assert.equal(left.KeyCount, 0);
  });

  it('lists v1 and v2 with prefix, delimiter, pagination, start-after and url encoding', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'list-bucket' }));
    const keys = ['a/1', 'a/2', 'b/1', 'c', 'd e', 'é', '\u{1F600}', 'Z', '~'];
    for (const k of keys) await client.send(new PutObjectCommand({ Bucket: 'list-bucket', Key: k, Body: k }));
    const all = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket' }));
    const byteOrder = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(
      all.Contents?.map((o) => o.Key),
      byteOrder,
    );
    const delim = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Delimiter: '/' }));
    assert.deepEqual(
      delim.CommonPrefixes?.map((p) => p.Prefix),
      ['a/', 'b/'],
    );
    assert.deepEqual(
      delim.Contents?.map((o) => o.Key),
      byteOrder.filter((k) => !k.includes('/')),
    );
    // pagination through every key, two at a time
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, byteOrder);
    const sa = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket', StartAfter: 'c' }));
    assert.deepEqual(
      sa.Contents?.map((o) => o.Key),
      byteOrder.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('c')) > 0),
    );
    const v1: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListObjectsCommand({ Bucket: 'list-bucket', MaxKeys: 3, Marker: marker }));
      const ks = (page.Contents ?? []).map((o) => o.Key ?? '');
      v1.push(...ks);
      marker = page.IsTruncated ? (page.NextMarker ?? ks[ks.length - 1]) : undefined;
    } while (marker);
    assert.deepEqual(v1, byteOrder);
    const enc = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'd', EncodingType: 'url' }));
    assert.deepEqual(
      enc.Contents?.map((o) => o.Key),
      ['d%20e'],
    ); // SDK v3 hands url-encoded keys back as they came
    const pref = await client.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'a/', Delimiter: '/' }));
    assert.deepEqual(
      pref.Contents?.map((o) => o.Key),
      ['a/1', 'a/2'],
    );
  });

  it('refuses to delete a non-empty bucket, deletes an empty one', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'full-bucket' }));
    await client.send(new PutObjectCommand({ Bucket: 'full-bucket', Key: 'x', Body: 'x' }));
    await rejectsWith(client.send(new DeleteBucketCommand({ Bucket: 'full-bucket' })), 'BucketNotEmpty', 409);
    await client.send(new DeleteObjectCommand({ Bucket: 'full-bucket', Key: 'x' }));
    await client.send(new DeleteBucketCommand({ Bucket: 'full-bucket' }));
    await rejectsWith(client.send(new HeadBucketCommand({ Bucket: 'full-bucket' })), 'NotFound', 404);
  });

  it('sets canned ACLs and enforces them for anonymous requests', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'acl-bucket', ACL: 'public-read' }));
    await client.send(new PutObjectCommand({ Bucket: 'acl-bucket', Key: 'pub.txt', Body: 'public' }));
    const acl = await client.send(new GetBucketAclCommand({ Bucket: 'acl-bucket' }));
    assert.ok(acl.Grants?.some((g) => g.Grantee?.URI?.endsWith('/AllUsers') && g.Permission === 'READ'));
    let r = await fetch(`${server.url}/acl-bucket/pub.txt`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'public');
    r = await fetch(`${server.url}/acl-bucket?list-type=2`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<Key>pub.txt<\/Key>/);
    r = await fetch(`${server.url}/acl-bucket/anon.txt`, { method: 'PUT', body: 'no' });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /<Code>AccessDenied<\/Code>/);
    await client.send(new PutBucketAclCommand({ Bucket: 'acl-bucket', ACL: 'public-read-write' }));
    r = await fetch(`${server.url}/acl-bucket/anon.txt`, { method: 'PUT', body: 'yes' });
    assert.equal(r.status, 200);
    await client.send(new PutBucketAclCommand({ Bucket: 'acl-bucket', ACL: 'private' }));
    r = await fetch(`${server.url}/acl-bucket/pub.txt`);
    assert.equal(r.status, 403);
    const acl2 = await client.send(new GetBucketAclCommand({ Bucket: 'acl-bucket' }));
    assert.equal(acl2.Grants?.length, 1);
    r = await fetch(`${server.url}/`);
    assert.equal(r.status, 403);
  });
});
