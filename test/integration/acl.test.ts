/**
 * Issue 17: object ACLs (Get/PutObjectAcl, x-amz-acl on PutObject, CopyObject and
 * CreateMultipartUpload) and their effect on anonymous reads; the grants listed as RGW lists them;
 * re-creating a bucket; an anonymous request for a missing bucket; ListBuckets paging; the v1
 * listing's <Prefix>.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const ALL = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTH = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

/** [grantee (URI or ID), permission] in document order */
function grants(xml: string): [string, string][] {
  return [...xml.matchAll(/<Grant>(.*?)<\/Grant>/gs)].map((m) => {
    const g = m[1] ?? '';
    return [xmlField(g, 'URI') ?? xmlField(g, 'ID') ?? '?', xmlField(g, 'Permission') ?? '?'];
  });
}

describe('object ACLs and the bucket answers s3-tests expects (issue 17)', () => {
  let server: TestServer;
  let owner: string;
  const put = (path: string, body: string, headers: Record<string, string> = {}) =>
    rawSigned(server.url, { method: 'PUT', path, body, headers });
  const anonGet = (path: string) => rawSigned(server.url, { path, anonymous: true });
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/priv' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/pub', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    owner = xmlField((await rawSigned(server.url, { path: '/' })).body, 'ID') ?? '';
    assert.ok(owner);
  });
  after(async () => {
    await server.close();
  });

  it('x-amz-acl on PutObject decides anonymous reads, whatever the bucket', async () => {
    assert.equal((await put('/priv/open', 'open body', { 'x-amz-acl': 'public-read' })).status, 200);
    assert.equal((await put('/priv/closed', 'closed body')).status, 200);
    assert.equal((await put('/pub/closed', 'closed body', { 'x-amz-acl': 'private' })).status, 200);
    assert.equal((await put('/pub/inherits', 'inherits body')).status, 200);
    const open = await anonGet('/priv/open');
    assert.equal(open.status, 200);
    assert.equal(open.body, 'open body');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/priv/open', anonymous: true })).status, 200);
    assert.equal((await anonGet('/priv/closed')).status, 403);
    const closed = await anonGet('/pub/closed');
    assert.equal(closed.status, 403);
    assert.equal(xmlField(closed.body, 'Code'), 'AccessDenied');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/pub/closed', anonymous: true })).status, 403);
    assert.equal((await rawSigned(server.url, { path: '/pub/closed' })).status, 200, 'the owner still reads it');
    assert.equal((await anonGet('/pub/inherits')).status, 200, "no ACL of its own: the bucket's applies");
    assert.equal((await anonGet('/priv/missing')).status, 403, 'a missing key in a private bucket stays hidden');
  });

  it("GetObjectAcl lists group grants first, then the owner's FULL_CONTROL (as RGW)", async () => {
    const cases: [string, Record<string, string>, [string, string][]][] = [
      ['private', { 'x-amz-acl': 'private' }, [[owner, 'FULL_CONTROL']]],
      [
        'public-read',
        { 'x-amz-acl': 'public-read' },
        [
          [ALL, 'READ'],
          [owner, 'FULL_CONTROL'],
        ],
      ],
      [
        'public-read-write',
        { 'x-amz-acl': 'public-read-write' },
        [
          [ALL, 'READ'],
          [ALL, 'WRITE'],
          [owner, 'FULL_CONTROL'],
        ],
      ],
      [
        'authenticated-read',
        { 'x-amz-acl': 'authenticated-read' },
        [
          [AUTH, 'READ'],
          [owner, 'FULL_CONTROL'],
        ],
      ],
      ['bucket-owner-full-control', { 'x-amz-acl': 'bucket-owner-full-control' }, [[owner, 'FULL_CONTROL']]],
      ['none (private bucket)', {}, [[owner, 'FULL_CONTROL']]],
    ];
    for (const [name, headers, want] of cases) {
      assert.equal((await put('/priv/acl', 'x', headers)).status, 200, name);
      const r = await rawSigned(server.url, { path: '/priv/acl', query: { acl: '' } });
      assert.equal(r.status, 200, name);
      assert.deepEqual(grants(r.body), want, name);
      assert.equal(xmlField(r.body, 'ID'), owner);
    }
    const inherited = await rawSigned(server.url, { path: '/pub/inherits', query: { acl: '' } });
    assert.deepEqual(grants(inherited.body), [
      [ALL, 'READ'],
      [owner, 'FULL_CONTROL'],
    ]);
    const bucket = await rawSigned(server.url, { path: '/pub', query: { acl: '' } });
    assert.deepEqual(
      grants(bucket.body),
      [
        [ALL, 'READ'],
        [owner, 'FULL_CONTROL'],
      ],
      'bucket ACLs in the same order',
    );
    assert.equal((await rawSigned(server.url, { path: '/priv/nope', query: { acl: '' } })).status, 404);
  });

  it('PutObjectAcl (canned or AccessControlPolicy) changes the ACL and nothing else', async () => {
    const first = await put('/priv/pacl', 'kept body', { 'content-type': 'text/x-kept', 'x-amz-meta-m': 'v' });
    const before = await rawSigned(server.url, { method: 'HEAD', path: '/priv/pacl' });
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/priv/pacl', query: { acl: '' }, headers: { 'x-amz-acl': 'public-read' } }))
        .status,
      200,
    );
    assert.equal((await anonGet('/priv/pacl')).body, 'kept body');
    const policy =
      `<AccessControlPolicy><Owner><ID>${owner}</ID></Owner><AccessControlList>` +
      `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${owner}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
      `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${AUTH}</URI></Grantee><Permission>READ</Permission></Grant>` +
      '</AccessControlList></AccessControlPolicy>';
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/priv/pacl', query: { acl: '' }, body: policy })).status, 200);
    assert.equal((await anonGet('/priv/pacl')).status, 403, 'AuthenticatedUsers READ is not anonymous');
    const acl = await rawSigned(server.url, { path: '/priv/pacl', query: { acl: '' } });
    assert.deepEqual(grants(acl.body), [
      [AUTH, 'READ'],
      [owner, 'FULL_CONTROL'],
    ]);
    const afterHead = await rawSigned(server.url, { method: 'HEAD', path: '/priv/pacl' });
    for (const h of ['etag', 'last-modified', 'content-length', 'content-type', 'x-amz-meta-m'])
      assert.equal(afterHead.headers[h], before.headers[h], h);
    assert.equal(afterHead.headers.etag, first.headers.etag);
    assert.equal((await rawSigned(server.url, { path: '/priv/pacl' })).body, 'kept body');
    const other = policy.replace(
      `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${owner}</ID>`,
      '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>someone-else</ID>',
    );
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/priv/pacl', query: { acl: '' }, body: other })).status, 400);
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/priv/nope', query: { acl: '' }, headers: { 'x-amz-acl': 'private' } })).status,
      404,
    );
    assert.equal(
      (
        await rawSigned(server.url, {
          method: 'PUT',
          path: '/priv/pacl',
          query: { acl: '' },
          anonymous: true,
          headers: { 'x-amz-acl': 'public-read' },
        })
      ).status,
      403,
    );
  });

  it("CopyObject takes the ACL the request gives, never the source's; CreateMultipartUpload keeps its ACL", async () => {
    assert.equal((await put('/priv/src', 'copied', { 'x-amz-acl': 'public-read' })).status, 200);
    assert.equal((await put('/priv/copy1', '', { 'x-amz-copy-source': '/priv/src' })).status, 200);
    assert.equal((await anonGet('/priv/copy1')).status, 403);
    assert.equal((await put('/priv/copy2', '', { 'x-amz-copy-source': '/priv/closed', 'x-amz-acl': 'public-read' })).status, 200);
    assert.equal((await anonGet('/priv/copy2')).body, 'closed body');
    const init = await rawSigned(server.url, {
      method: 'POST',
      path: '/priv/mp',
      query: { uploads: '' },
      headers: { 'x-amz-acl': 'public-read' },
    });
    const uploadId = xmlField(init.body, 'UploadId') ?? '';
    const part = await rawSigned(server.url, {
      method: 'PUT',
      path: '/priv/mp',
      query: { partNumber: '1', uploadId },
      body: 'multipart body',
    });
    const done = await rawSigned(server.url, {
      method: 'POST',
      path: '/priv/mp',
      query: { uploadId },
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag as string}</ETag></Part></CompleteMultipartUpload>`,
    });
    assert.equal(done.status, 200, done.body);
    assert.equal((await anonGet('/priv/mp')).body, 'multipart body');
  });

  it('a bad canned ACL is 400 and stores nothing; x-amz-grant-* is 501', async () => {
    const bad = await put('/priv/bad', 'x', { 'x-amz-acl': 'public-everything' });
    assert.equal(bad.status, 400);
    assert.equal(xmlField(bad.body, 'Code'), 'InvalidArgument');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/priv/bad' })).status, 404);
    assert.equal((await put('/priv/bad', 'x', { 'x-amz-grant-read': `uri="${ALL}"` })).status, 501);
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/priv/bad' })).status, 404);
  });

  it('re-creating your own bucket: 200 and nothing changes; with another ACL 409 BucketAlreadyExists', async () => {
    assert.equal((await put('/priv/still-here', 'x')).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/priv' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/priv', headers: { 'x-amz-acl': 'private' } })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/priv/still-here' })).status, 200);
    const other = await rawSigned(server.url, { method: 'PUT', path: '/priv', headers: { 'x-amz-acl': 'public-read' } });
    assert.equal(other.status, 409);
    assert.equal(xmlField(other.body, 'Code'), 'BucketAlreadyExists');
    const again = await rawSigned(server.url, { method: 'PUT', path: '/pub' });
    assert.equal(xmlField(again.body, 'Code'), 'BucketAlreadyExists', 'public-read bucket, no ACL asked (private)');
    assert.deepEqual(grants((await rawSigned(server.url, { path: '/pub', query: { acl: '' } })).body), [
      [ALL, 'READ'],
      [owner, 'FULL_CONTROL'],
    ]);
  });

  it('an anonymous request for a missing bucket is 404 NoSuchBucket, not 403', async () => {
    for (const method of ['GET', 'HEAD', 'DELETE', 'PUT']) {
      const r = await rawSigned(server.url, { method, path: '/gone-bucket/k', anonymous: true, ...(method === 'PUT' && { body: 'x' }) });
      assert.equal(r.status, 404, method);
      if (method !== 'HEAD') assert.equal(xmlField(r.body, 'Code'), 'NoSuchBucket', method);
    }
    assert.equal((await rawSigned(server.url, { path: '/gone-bucket', anonymous: true })).status, 404);
    assert.equal((await rawSigned(server.url, { path: '/', anonymous: true })).status, 403, "ListBuckets stays the owner's");
  });

  it('ListBuckets pages with max-buckets and continuation-token', async () => {
    const page1 = await rawSigned(server.url, { path: '/', query: { 'max-buckets': '1' } });
    assert.deepEqual(
      [...page1.body.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]),
      ['priv'],
    );
    const token = xmlField(page1.body, 'ContinuationToken') ?? '';
    assert.ok(token);
    const page2 = await rawSigned(server.url, { path: '/', query: { 'max-buckets': '1', 'continuation-token': token } });
    assert.deepEqual(
      [...page2.body.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]),
      ['pub'],
    );
    assert.equal(xmlField(page2.body, 'ContinuationToken'), undefined);
    assert.equal((await rawSigned(server.url, { path: '/', query: { 'max-buckets': '0' } })).status, 400);
    const all = await rawSigned(server.url, { path: '/' });
    assert.equal([...all.body.matchAll(/<Name>/g)].length, 2);
  });

  it('ListObjects v1 sends <Prefix> as given, also with encoding-type=url', async () => {
    const r = await rawSigned(server.url, { path: '/priv', query: { prefix: 'a b\n', 'encoding-type': 'url' } });
    assert.equal(r.status, 200);
    assert.equal(xmlField(r.body, 'Prefix'), 'a b\n');
  });
});
