/**
 * What survives a restart: buckets, ACLs, objects, multipart uploads in progress and the
 * back-to-origin rules (stored with the bucket).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { startOsprey, tmpDir } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const RULES =
  '<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>';

describe('restart', () => {
  it('buckets, ACLs, objects, uploads in progress and rules survive a restart', async () => {
    const dataDir = await tmpDir('osprey-restart-');
    let server = await startOsprey({ dataDir });
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/keep-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/keep-bucket/small', body: 'small body' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/keep-bucket/large', body: Buffer.alloc(100_000, 7) })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/keep-bucket', query: { website: '' }, body: RULES })).status, 200);
    const up = await rawSigned(server.url, { method: 'POST', path: '/keep-bucket/mp', query: { uploads: '' } });
    const uploadId = xmlField(up.body, 'UploadId') ?? '';
    assert.ok(uploadId);
    await server.close();

    server = await startOsprey({ dataDir });
    try {
      assert.equal(await fetch(`${server.url}/keep-bucket/small`).then((r) => r.text()), 'small body');
      assert.equal((await fetch(`${server.url}/keep-bucket/large`).then((r) => r.arrayBuffer())).byteLength, 100_000);
      const redirect = await fetch(`${server.url}/keep-bucket/missing`, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get('location'), 'https://old.example.com/missing');
      const uploads = await rawSigned(server.url, { path: '/keep-bucket', query: { uploads: '' } });
      assert.match(uploads.body, new RegExp(`<UploadId>${uploadId}</UploadId>`));
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
