/**
 * MIR-15: the mirroring Osprey signs its origin requests with MirrorAuth.
 * - AuthType s3v4 against a store nobody here wrote: a private bucket of a throwaway Ceph RGW
 *   (its SigV4 verifier, not Osprey's), keys with spaces and + * ! ' ( ) % # ? é included.
 * - AuthType oss (OSS V1) and ossv4 (OSS V4): no OSS server can run here, so a second Osprey holds
 *   the private bucket and its verifier checks them; both signers are also checked against
 *   published vectors in test/unit/auth-oss-vectors.test.ts.
 * A wrong secret is refused by the origin: 424 MirrorFailed, nothing stored.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { otherStore } from '../helpers/ceph.ts';
import type { StoreAccess } from '../helpers/ceph.ts';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored, xmlField } from '../helpers/raw.ts';

function website(originUrl: string, auth: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL>${auth}</Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

const authXml = (id: string, secret: string, type: string, region = '') =>
  `<MirrorAuth><AccessKeyId>${id}</AccessKeyId><AccessKeySecret>${secret}</AccessKeySecret><AuthType>${type}</AuthType>${region && `<Region>${region}</Region>`}</MirrorAuth>`;

describe('MIR-15 OSS-signed origin requests', () => {
  let mirror: TestServer;
  let source: TestServer;
  before(async () => {
    [mirror, source] = await Promise.all([startOsprey(), startOsprey()]);
    assert.equal((await rawSigned(source.url, { method: 'PUT', path: '/private-src' })).status, 200);
    for (const key of ['a.txt', 'dir/b c+d.txt', 'v4.txt', 'denied.txt']) {
      assert.equal(
        (
          await rawSigned(source.url, {
            method: 'PUT',
            path: `/private-src/${key.split('/').map(encodeURIComponent).join('/')}`,
            body: `private ${key}`,
          })
        ).status,
        200,
      );
    }
    assert.equal((await fetch(`${source.url}/private-src/a.txt`)).status, 403, 'the source bucket is private');
  });
  after(async () => {
    await Promise.all([mirror.close(), source.close()]);
  });

  async function bucketWith(name: string, auth: string): Promise<void> {
    assert.equal((await rawSigned(mirror.url, { method: 'PUT', path: `/${name}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const r = await rawSigned(mirror.url, {
      method: 'PUT',
      path: `/${name}`,
      query: { website: '' },
      body: website(`${source.url}/private-src/`, auth),
    });
    assert.equal(r.status, 200, r.body);
  }

  it('AuthType oss (OSS V1, HMAC-SHA1): the private origin accepts the signed fill, keys with spaces and + included', async () => {
    await bucketWith('v1-bucket', authXml(source.accessKeyId, source.secretAccessKey, 'oss'));
    for (const key of ['a.txt', 'dir/b c+d.txt']) {
      const r = await fetch(`${mirror.url}/v1-bucket/${key.split('/').map(encodeURIComponent).join('/')}`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), `private ${key}`);
    }
    await untilStored(mirror.url, '/v1-bucket/a.txt');
    const stored = await rawSigned(mirror.url, { path: '/v1-bucket/a.txt' });
    assert.equal(stored.body, 'private a.txt');
  });

  it('AuthType ossv4 (OSS4-HMAC-SHA256) with a Region: accepted', async () => {
    await bucketWith('v4-bucket', authXml(source.accessKeyId, source.secretAccessKey, 'ossv4', 'cn-hangzhou'));
    const r = await fetch(`${mirror.url}/v4-bucket/v4.txt`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'private v4.txt');
  });

  for (const type of ['oss', 'ossv4']) {
    it(`${type} with a wrong secret: the origin refuses it, 424 MirrorFailed, nothing stored`, async () => {
      const bucket = `wrong-${type}`;
      await bucketWith(bucket, authXml(source.accessKeyId, 'not-the-secret-at-all', type));
      const r = await fetch(`${mirror.url}/${bucket}/denied.txt`);
      assert.equal(r.status, 424);
      const body = await r.text();
      assert.equal(xmlField(body, 'Code'), 'MirrorFailed');
      assert.match(xmlField(body, 'Message') ?? '', /answered 403/);
      const list = await rawSigned(mirror.url, { path: `/${bucket}`, query: { 'list-type': '2' } });
      assert.match(list.body, /<KeyCount>0<\/KeyCount>/);
    });
  }

  it('an AuthType Osprey cannot sign with is refused at PUT ?website', async () => {
    assert.equal((await rawSigned(mirror.url, { method: 'PUT', path: '/bad-type' })).status, 200);
    const r = await rawSigned(mirror.url, {
      method: 'PUT',
      path: '/bad-type',
      query: { website: '' },
      body: website(`${source.url}/private-src/`, authXml('AK', 'S', 'kerberos')),
    });
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.body, 'Code'), 'InvalidArgument');
    assert.match(xmlField(r.body, 'Message') ?? '', /AuthType must be s3v4, oss or ossv4/);
  });
});

describe('MIR-15 AuthType s3v4 against a private bucket of a Ceph RGW', () => {
  const store = otherStore();
  const SRC = `mirror-auth-${randomBytes(4).toString('hex')}`;
  const KEYS = ['a.txt', 'dir/b c+d.txt', "odd/+*!'()%#?.txt", 'dir/été ünï.txt', 'x/a%2Fb', 'sp  ace/ end '];
  let mirror: TestServer;
  let st: StoreAccess;
  let client: S3Client;
  const path = (key: string) => key.split('/').map(encodeURIComponent).join('/');
  before(async () => {
    [mirror, st] = await Promise.all([startOsprey(), store.get()]);
    client = new S3Client({
      endpoint: st.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: st.accessKeyId, secretAccessKey: st.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await client.send(new CreateBucketCommand({ Bucket: SRC }));
    for (const key of KEYS) await client.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: `ceph ${key}` }));
    assert.equal((await fetch(`${st.endpoint}/${SRC}/a.txt`)).status, 403, 'the RGW bucket is private');
  });
  after(async () => {
    client?.destroy();
    await mirror?.close();
    await store.stop();
  });

  async function bucketWith(name: string, secret: string): Promise<void> {
    assert.equal((await rawSigned(mirror.url, { method: 'PUT', path: `/${name}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const r = await rawSigned(mirror.url, {
      method: 'PUT',
      path: `/${name}`,
      query: { website: '' },
      body: website(`${st.endpoint}/${SRC}/`, authXml(st.accessKeyId, secret, 's3v4', 'us-east-1')),
    });
    assert.equal(r.status, 200, r.body);
  }

  it('RGW accepts the signed fills of every key; the fill is stored', async () => {
    await bucketWith('rgw-bucket', st.secretAccessKey);
    for (const key of KEYS) {
      const r = await fetch(`${mirror.url}/rgw-bucket/${path(key)}`);
      assert.equal(r.status, 200, `${key}: ${r.status}`);
      assert.equal(await r.text(), `ceph ${key}`);
    }
    await untilStored(mirror.url, `/rgw-bucket/${path(KEYS[2] ?? '')}`);
    assert.equal((await rawSigned(mirror.url, { path: `/rgw-bucket/${path(KEYS[2] ?? '')}` })).body, `ceph ${KEYS[2]}`);
  });

  it('a wrong secret: RGW refuses it, 424 MirrorFailed, nothing stored', async () => {
    await bucketWith('rgw-wrong', 'not-the-secret-at-all');
    const r = await fetch(`${mirror.url}/rgw-wrong/a.txt`);
    assert.equal(r.status, 424);
    const body = await r.text();
    assert.equal(xmlField(body, 'Code'), 'MirrorFailed');
    assert.match(xmlField(body, 'Message') ?? '', /answered 403/);
    const list = await rawSigned(mirror.url, { path: '/rgw-wrong', query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/);
  });
});
