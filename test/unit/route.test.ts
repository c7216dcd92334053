import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { refineOp, route } from '../../src/http/route.ts';

const opts = { domains: ['s3.example.com'], bindDomains: { 'www.example.org': 'site' } };

describe('route(): request -> endpoint, pure', () => {
  const table: [string, string, string | undefined, Partial<{ op: string; bucket: string; key: string; scope: string; style: string }>][] = [
    ['GET', '/', '127.0.0.1:9000', { op: 'ListBuckets', scope: 'owner', style: 'none' }],
    ['PUT', '/bkt', undefined, { op: 'CreateBucket', bucket: 'bkt', scope: 'owner', style: 'path' }],
    ['HEAD', '/bkt', undefined, { op: 'HeadBucket', bucket: 'bkt' }],
    ['DELETE', '/bkt/', undefined, { op: 'DeleteBucket', bucket: 'bkt' }],
    ['GET', '/bkt?location', undefined, { op: 'GetBucketLocation' }],
    ['GET', '/bkt?acl', undefined, { op: 'GetBucketAcl', scope: 'owner' }],
    ['PUT', '/bkt?acl', undefined, { op: 'PutBucketAcl' }],
    ['GET', '/bkt?list-type=2&prefix=a', undefined, { op: 'ListObjectsV2', scope: 'read' }],
    ['GET', '/bkt', undefined, { op: 'ListObjects' }],
    ['GET', '/bkt?uploads', undefined, { op: 'ListMultipartUploads' }],
    ['POST', '/bkt?delete', undefined, { op: 'DeleteObjects', scope: 'write' }],
    ['PUT', '/bkt?website', undefined, { op: 'PutBucketWebsite', scope: 'owner' }],
    ['GET', '/bkt?website=', undefined, { op: 'GetBucketWebsite' }],
    ['DELETE', '/bkt?website', undefined, { op: 'DeleteBucketWebsite' }],
    ['GET', '/bkt/a/b.txt', undefined, { op: 'GetObject', bucket: 'bkt', key: 'a/b.txt', scope: 'read' }],
    ['GET', '/bkt/a%20b%2Fc', undefined, { op: 'GetObject', key: 'a b/c' }],
    ['GET', '/bkt/dir/', undefined, { op: 'GetObject', key: 'dir/' }],
    ['GET', '/bkt/%E2%9C%93', undefined, { op: 'GetObject', key: '\u2713' }],
    ['HEAD', '/bkt/k', undefined, { op: 'HeadObject' }],
    ['PUT', '/bkt/k', undefined, { op: 'PutObject', scope: 'write' }],
    ['DELETE', '/bkt/k', undefined, { op: 'DeleteObject' }],
    ['POST', '/bkt/k?uploads', undefined, { op: 'CreateMultipartUpload' }],
    ['PUT', '/bkt/k?partNumber=1&uploadId=x', undefined, { op: 'UploadPart' }],
    ['POST', '/bkt/k?uploadId=x', undefined, { op: 'CompleteMultipartUpload' }],
    ['DELETE', '/bkt/k?uploadId=x', undefined, { op: 'AbortMultipartUpload' }],
    ['GET', '/bkt/k?uploadId=x', undefined, { op: 'ListParts' }],
    ['GET', '/k/x', 'photos.s3.example.com:9000', { op: 'GetObject', bucket: 'photos', key: 'k/x', style: 'virtual' }],
    ['GET', '/', 'photos.s3.example.com', { op: 'ListObjects', bucket: 'photos', style: 'virtual' }],
    ['GET', '/index.html', 'WWW.example.org', { op: 'GetObject', bucket: 'site', key: 'index.html', style: 'bound' }],
    ['GET', '/-/health/live', undefined, { op: 'Admin', style: 'none' }],
  ];
  for (const [method, url, host, want] of table) {
    it(`${method} ${url}${host ? ` (Host ${host})` : ''} -> ${want.op}`, () => {
      const ep = route(method, url, host, opts);
      for (const [k, v] of Object.entries(want)) assert.equal((ep as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  it('a copy source header turns PutObject into CopyObject', () => {
    const ep = refineOp(route('PUT', '/bkt/k', undefined, opts), { 'x-amz-copy-source': '/a/b' });
    assert.equal(ep.op, 'CopyObject');
  });

  const bad: [string, string, string][] = [
    ['PUT', '/BadBucket', 'InvalidBucketName'],
    ['PUT', '/ab', 'InvalidBucketName'],
    ['GET', '/bkt/a/../b', 'InvalidObjectName'],
    ['GET', '/bkt/%2E%2E/b', 'InvalidObjectName'],
    ['GET', '/bkt/./b', 'InvalidObjectName'],
    ['GET', '/bkt/%FF', 'InvalidObjectName'],
    ['GET', '/bkt/%zz', 'InvalidObjectName'],
    ['GET', `/bkt/${'k'.repeat(1025)}`, 'KeyTooLongError'],
    ['POST', '/', 'MethodNotAllowed'],
    ['PATCH', '/bkt/k', 'MethodNotAllowed'],
  ];
  for (const [method, url, code] of bad) {
    it(`${method} ${url.slice(0, 40)} -> ${code}`, () => {
      assert.throws(() => route(method, url, undefined, opts), (e: unknown) => e instanceof S3Error && e.code === code);
    });
  }
});
