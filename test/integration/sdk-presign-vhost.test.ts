/**
 * Presigned URLs (X-Amz-Expires) and virtual-hosted-style addressing.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, s3, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { xmlField } from '../helpers/raw.ts';

describe('presigned URLs and virtual-hosted style', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey({ domains: ['s3.osprey.test'] });
    const c = s3(server);
    await c.send(new CreateBucketCommand({ Bucket: 'presign' }));
    await c.send(new PutObjectCommand({ Bucket: 'presign', Key: 'doc.txt', Body: 'presigned body' }));
    c.destroy();
  });
  after(async () => {
    await server.close();
  });

  it('a presigned GET works until it expires; a tampered one does not', async () => {
    const c = s3(server);
    const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'presign', Key: 'doc.txt' }), { expiresIn: 60 });
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'presigned body');
    const tampered = await fetch(url.replace('doc.txt', 'doc.txx'));
    assert.equal(tampered.status, 403);
    assert.equal(xmlField(await tampered.text(), 'Code'), 'SignatureDoesNotMatch');
    const old = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'presign', Key: 'doc.txt' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    const expired = await fetch(old);
    assert.equal(expired.status, 403);
    const body = await expired.text();
    assert.equal(xmlField(body, 'Code'), 'AccessDenied');
    assert.match(xmlField(body, 'Message') ?? '', /expired/i);
    const put = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'presign', Key: 'up.txt' }), { expiresIn: 60 });
    const up = await fetch(put, { method: 'PUT', body: 'uploaded via presigned PUT' });
    assert.equal(up.status, 200);
    const got = await c.send(new GetObjectCommand({ Bucket: 'presign', Key: 'up.txt' }));
    assert.equal(await got.Body?.transformToString(), 'uploaded via presigned PUT');
    c.destroy();
  });

  it('virtual-hosted-style requests (bucket.DOMAIN) reach the same bucket', async () => {
    const port = server.port;
    // The SDK builds bucket.s3.osprey.test:PORT; resolve every name to 127.0.0.1 for the test.
    const agent = new http.Agent({ lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]) });
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const c = new S3Client({
      endpoint: `http://s3.osprey.test:${port}`,
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    });
    await c.send(new PutObjectCommand({ Bucket: 'presign', Key: 'vhost.txt', Body: 'virtual' }));
    const got = await c.send(new GetObjectCommand({ Bucket: 'presign', Key: 'doc.txt' }));
    assert.equal(await got.Body?.transformToString(), 'presigned body');
    const pathStyle = s3(server);
    const v = await pathStyle.send(new GetObjectCommand({ Bucket: 'presign', Key: 'vhost.txt' }));
    assert.equal(await v.Body?.transformToString(), 'virtual');
    c.destroy();
    pathStyle.destroy();
    agent.destroy();
  });
});
