import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { bucketFromHost, refineOp, route, SUBRESOURCES } from '../../src/http/route.ts';

const opts = { domains: ['s3.example.com'], bindDomains: { 'www.example.org': 'site' } };

describe('route(): request -> endpoint, pure', () => {
  const table: [string, string, string | undefined, Partial<{ op: string; bucket: string; key: string; scope: string; style: string }>][] =
    [
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
      ['PUT', '/bkt?cors', undefined, { op: 'PutBucketCors', scope: 'owner' }],
      ['GET', '/bkt?cors', undefined, { op: 'GetBucketCors', scope: 'owner' }],
      ['DELETE', '/bkt?cors', undefined, { op: 'DeleteBucketCors', scope: 'owner' }],
      ['OPTIONS', '/bkt', undefined, { op: 'OptionsObject', bucket: 'bkt' }],
      ['OPTIONS', '/bkt/k?X-Amz-Signature=abc&uploadId=x', undefined, { op: 'OptionsObject', key: 'k' }],
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
      assert.throws(
        () => route(method, url, undefined, opts),
        (e: unknown) => e instanceof S3Error && e.code === code,
      );
    });
  }
});

describe('validateObjectKey: the 1,024-byte limit counted in UTF-8, at its edges (a key is measured only past 341 UTF-16 units)', () => {
  const enc = (k: string) => `/bkt/${encodeURIComponent(k)}`;
  const cases: [string, string, boolean][] = [
    ['341 CJK characters (1,023 bytes)', '中'.repeat(341), true],
    ['342 CJK characters (1,026 bytes)', '中'.repeat(342), false],
    ['256 emoji (1,024 bytes, 512 units)', '😀'.repeat(256), true],
    ['257 emoji (1,028 bytes)', '😀'.repeat(257), false],
    ['1,024 ASCII bytes', 'k'.repeat(1024), true],
    ['decomposed accents: 341 × (e + U+0301), 1,023 bytes in 682 units', 'e\u0301'.repeat(341), true],
    ['decomposed accents: 342 × (e + U+0301), 1,026 bytes', 'e\u0301'.repeat(342), false],
    ['340 CJK and 5 ASCII (1,025 bytes, 345 units)', '中'.repeat(340) + 'abcde', false],
  ];
  for (const [what, key, ok] of cases) {
    it(`${what}: ${ok ? 'accepted' : 'KeyTooLongError'}`, () => {
      if (ok) assert.equal(route('GET', enc(key), undefined, opts).key, key);
      else
        assert.throws(
          () => route('GET', enc(key), undefined, opts),
          (e: unknown) => e instanceof S3Error && e.code === 'KeyTooLongError',
        );
    });
  }
  for (const key of ['a/./b', './b', 'a/.', '..', 'a/../b', '中/../文', 'x/..']) {
    it(`'${key}' has a dot segment: InvalidObjectName`, () => {
      assert.throws(
        () => route('GET', enc(key), undefined, opts),
        (e: unknown) => e instanceof S3Error && e.code === 'InvalidObjectName',
      );
    });
  }
  for (const key of ['.a', 'a.', '...', 'a/.../b', '.hidden/x', 'a..b', 'v1.2/..x', '文件.txt']) {
    it(`'${key}' has dots but no dot segment: accepted`, () => {
      assert.equal(route('GET', enc(key), undefined, opts).key, key);
    });
  }
});

describe('route(): every sub-resource is routed explicitly (issue 15, defect 2)', () => {
  const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'];
  // what is implemented; every other (sub-resource, method, level) is NotImplemented
  const implemented: Record<string, string> = {
    'bucket GET location': 'GetBucketLocation',
    'bucket GET acl': 'GetBucketAcl',
    'bucket GET website': 'GetBucketWebsite',
    'bucket GET uploads': 'ListMultipartUploads',
    'bucket PUT acl': 'PutBucketAcl',
    'bucket PUT website': 'PutBucketWebsite',
    'bucket DELETE website': 'DeleteBucketWebsite',
    'bucket POST delete': 'DeleteObjects',
    'bucket GET cors': 'GetBucketCors',
    'bucket PUT cors': 'PutBucketCors',
    'bucket DELETE cors': 'DeleteBucketCors',
    'object GET uploadId': 'ListParts',
    'object GET tagging': 'GetObjectTagging',
    'object GET acl': 'GetObjectAcl',
    'object PUT acl': 'PutObjectAcl',
    'object PUT uploadId': 'UploadPart',
    'object PUT tagging': 'PutObjectTagging',
    'object DELETE uploadId': 'AbortMultipartUpload',
    'object DELETE tagging': 'DeleteObjectTagging',
    'object POST uploads': 'CreateMultipartUpload',
    'object POST uploadId': 'CompleteMultipartUpload',
  };
  for (const sub of SUBRESOURCES) {
    for (const method of METHODS) {
      for (const level of ['bucket', 'object'] as const) {
        const want = implemented[`${level} ${method} ${sub}`] ?? 'NotImplemented';
        for (const form of [sub, `${sub}=x`]) {
          it(`${method} ${level}?${form} -> ${want}`, () => {
            const ep = route(method, `/bkt${level === 'object' ? '/k' : ''}?${form}`, undefined, opts);
            assert.equal(ep.op, want);
            if (want === 'NotImplemented') {
              assert.equal(ep.scope, 'owner');
              assert.equal(ep.subresource, sub);
            }
          });
        }
      }
    }
  }

  it("the list names the sub-resources of the issue and OSS's own", () => {
    for (const s of [
      'acl',
      'cors',
      'lifecycle',
      'policy',
      'policyStatus',
      'versioning',
      'versions',
      'tagging',
      'retention',
      'legal-hold',
      'object-lock',
      'encryption',
      'replication',
      'logging',
      'notification',
      'accelerate',
      'requestPayment',
      'ownershipControls',
      'publicAccessBlock',
      'restore',
      'select',
      'select-type',
      'torrent',
      'attributes',
      'analytics',
      'inventory',
      'metrics',
      'intelligent-tiering',
      'website',
      'uploads',
      'uploadId',
      'location',
      'delete',
      'renameObject',
      'referer',
      'cname',
      'worm',
      'symlink',
      'append',
      'objectMeta',
      'bucketInfo',
      'x-oss-process',
    ]) {
      assert.ok(SUBRESOURCES.has(s), s);
    }
  });

  it('two sub-resources at once are NotImplemented, even when each alone is implemented', () => {
    assert.equal(route('PUT', '/bkt/k?tagging&acl', undefined, opts).op, 'NotImplemented');
    assert.equal(route('DELETE', '/bkt?website&cors', undefined, opts).op, 'NotImplemented');
  });

  const ordinary: [string, string, string][] = [
    ['GET', '/bkt/k?response-content-type=text%2Fplain&response-cache-control=no-cache', 'GetObject'],
    ['GET', '/bkt/k?versionId=null', 'GetObject'],
    ['GET', '/bkt/k?partNumber=1', 'GetObject'],
    ['HEAD', '/bkt/k?versionId=null&partNumber=1', 'HeadObject'],
    ['GET', '/bkt/k?x-id=GetObject', 'GetObject'],
    ['PUT', '/bkt/k?x-id=PutObject', 'PutObject'],
    ['PUT', '/bkt/k?partNumber=2', 'UploadPart'],
    ['PUT', '/bkt/k?partNumber=2&uploadId=u&x-id=UploadPart', 'UploadPart'],
    ['DELETE', '/bkt/k?versionId=null&x-id=DeleteObject', 'DeleteObject'],
    ['GET', '/bkt?prefix=a&delimiter=%2F&marker=m&max-keys=3&encoding-type=url', 'ListObjects'],
    ['GET', '/bkt?list-type=2&continuation-token=t&start-after=a&fetch-owner=true', 'ListObjectsV2'],
    ['GET', '/bkt?uploads&prefix=a&max-uploads=2&key-marker=k&upload-id-marker=u', 'ListMultipartUploads'],
    ['GET', '/bkt/k?uploadId=u&max-parts=2&part-number-marker=1', 'ListParts'],
    ['GET', '/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60', 'GetObject'],
    ['GET', '/bkt/k?OSSAccessKeyId=a&Expires=1&Signature=s', 'GetObject'],
    ['PUT', '/bkt?x-id=CreateBucket', 'CreateBucket'],
  ];
  for (const [method, url, op] of ordinary) {
    it(`ordinary parameters keep their operation: ${method} ${url} -> ${op}`, () => {
      assert.equal(route(method, url, undefined, opts).op, op);
    });
  }

  it('a copy source does not turn a NotImplemented PUT into a CopyObject', () => {
    const ep = refineOp(route('PUT', '/bkt/k?cors', undefined, opts), { 'x-amz-copy-source': '/a/b' });
    assert.equal(ep.op, 'NotImplemented');
  });
});

describe('bucketFromHost(): each Host answered once per options, the same answer every time', () => {
  it('gives each server options its own answer for the same Host, in any case and with a port', () => {
    const a = { domains: ['s3.example.com'], bindDomains: { 'www.example.org': 'site' } };
    const b = { domains: ['other.example.net'], bindDomains: { 'www.example.org': 'elsewhere' } };
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(bucketFromHost('Photos.S3.Example.com:9000', a), { bucket: 'photos', style: 'virtual' });
      assert.equal(bucketFromHost('Photos.S3.Example.com:9000', b), undefined);
      assert.deepEqual(bucketFromHost('www.example.org', a), { bucket: 'site', style: 'bound' });
      assert.deepEqual(bucketFromHost('www.example.org', b), { bucket: 'elsewhere', style: 'bound' });
      assert.equal(bucketFromHost('127.0.0.1:9000', a), undefined);
      assert.equal(bucketFromHost(undefined, a), undefined);
    }
  });

  it('keeps answering right past the number of Host values it keeps', () => {
    const o = { domains: ['s3.example.com'], bindDomains: {} };
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 700; i++) assert.equal(route('GET', '/k', `bkt${i}.s3.example.com`, o).bucket, `bkt${i}`);
  });
});
