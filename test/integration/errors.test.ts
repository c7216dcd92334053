/**
 * Bad input gets S3's XML error with the right code and status, nothing is stored, and the
 * server keeps serving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ON_S3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

describe('errors and bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    const r = await rawSigned(server.url, { method: 'PUT', path: '/errs' });
    assert.equal(r.status, 200);
    const p = await rawSigned(server.url, { method: 'PUT', path: '/errs/keep', body: 'kept' });
    assert.equal(p.status, 200);
  });
  after(async () => {
    await server.close();
  });

  async function expectError(
    res: Promise<{ status: number; body: string; headers: Record<string, unknown> }>,
    status: number,
    code: string,
  ): Promise<string> {
    const r = await res;
    assert.equal(r.status, status, r.body);
    assert.equal(xmlField(r.body, 'Code'), code, r.body);
    assert.ok(xmlField(r.body, 'Message'), 'has a Message');
    assert.ok(xmlField(r.body, 'RequestId'), 'has a RequestId');
    assert.equal(r.headers['x-amz-request-id'], xmlField(r.body, 'RequestId'));
    assert.ok(xmlField(r.body, 'Resource'), 'has a Resource');
    return r.body;
  }

  it('malformed XML, DOCTYPE tricks and oversized bodies', async () => {
    await expectError(
      rawSigned(server.url, { method: 'POST', path: '/errs', query: { delete: '' }, body: '<Delete><Object><Key>keep</Key></Object>' }),
      400,
      'MalformedXML',
    );
    await expectError(
      rawSigned(server.url, {
        method: 'POST',
        path: '/errs',
        query: { delete: '' },
        body: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "keep">]><Delete><Object><Key>&k;</Key></Object></Delete>',
      }),
      400,
      'MalformedXML',
    );
    // a reference to a character XML does not allow is refused, not dropped (it would name 'keep')
    await expectError(
      rawSigned(server.url, {
        method: 'POST',
        path: '/errs',
        query: { delete: '' },
        body: '<Delete><Object><Key>ke&#0;ep</Key></Object></Delete>',
      }),
      400,
      'MalformedXML',
    );
    await expectError(
      rawSigned(server.url, {
        method: 'POST',
        path: '/errs',
        query: { delete: '' },
        body: '<Delete><Object><Key>ke&#x1;ep</Key></Object></Delete>',
      }),
      400,
      'MalformedXML',
    );
    const deep = '<a>'.repeat(100) + '</a>'.repeat(100);
    await expectError(rawSigned(server.url, { method: 'POST', path: '/errs', query: { delete: '' }, body: deep }), 400, 'MalformedXML');
    const huge = '<Delete>' + '<Object><Key>k</Key></Object>'.repeat(100_000) + '</Delete>';
    await expectError(
      rawSigned(server.url, { method: 'POST', path: '/errs', query: { delete: '' }, body: huge }),
      400,
      'MaxMessageLengthExceeded',
    );
    const get = await rawSigned(server.url, { path: '/errs/keep' });
    assert.equal(get.body, 'kept');
  });

  it('invalid bucket names', async () => {
    for (const name of ['ab', 'UPPER', 'has_underscore', '-start', 'end-', '192.168.1.1', 'a..b', 'x'.repeat(64)]) {
      await expectError(rawSigned(server.url, { method: 'PUT', path: `/${name}` }), 400, 'InvalidBucketName');
    }
  });

  it('bad keys: too long, not UTF-8, dot segments, NUL', async () => {
    await expectError(rawSigned(server.url, { method: 'PUT', path: `/errs/${'k'.repeat(1025)}`, body: 'x' }), 400, 'KeyTooLongError');
    await expectError(rawSigned(server.url, { method: 'PUT', path: '/errs/bad%FF%FEutf8', body: 'x' }), 400, 'InvalidObjectName');
    await expectError(rawSigned(server.url, { method: 'PUT', path: '/errs/a/../keep', body: 'x' }), 400, 'InvalidObjectName');
    await expectError(rawSigned(server.url, { method: 'PUT', path: '/errs/a/%2E%2E/keep', body: 'x' }), 400, 'InvalidObjectName');
    await expectError(rawSigned(server.url, { method: 'PUT', path: '/errs/nul%00', body: 'x' }), 400, 'InvalidObjectName');
    // 1024-byte keys are fine (multi-byte characters and ASCII), and are read back under that key;
    // the S3 driver's keys carry its prefix in the store, so there they are refused, and cleanly
    for (const [key, body] of [
      ['é'.repeat(512), 'x'],
      ['k'.repeat(1024), 'y'],
    ] as const) {
      assert.equal(Buffer.byteLength(key), 1024);
      if (ON_S3) {
        await expectError(rawSigned(server.url, { method: 'PUT', path: `/errs/${encodeURIComponent(key)}`, body }), 400, 'KeyTooLongError');
        continue;
      }
      const ok = await rawSigned(server.url, { method: 'PUT', path: `/errs/${encodeURIComponent(key)}`, body });
      assert.equal(ok.status, 200);
      assert.equal((await rawSigned(server.url, { path: `/errs/${encodeURIComponent(key)}` })).body, body);
      const listed = await rawSigned(server.url, { path: '/errs', query: { 'list-type': '2', prefix: key.slice(0, 10) } });
      assert.equal(xmlField(listed.body, 'Key'), key, 'listed under the whole key');
    }
    const get = await rawSigned(server.url, { path: '/errs/keep' });
    assert.equal(get.body, 'kept');
  });

  it('bad Range, unknown upload ids, missing objects and buckets', async () => {
    const range = await expectError(rawSigned(server.url, { path: '/errs/keep', headers: { range: 'bytes=10-20' } }), 416, 'InvalidRange');
    assert.ok(range);
    await expectError(rawSigned(server.url, { path: '/errs/keep', headers: { range: 'bytes=3-1' } }), 416, 'InvalidRange');
    await expectError(
      rawSigned(server.url, { method: 'PUT', path: '/errs/keep', query: { partNumber: '1', uploadId: 'nope' }, body: 'x' }),
      404,
      'NoSuchUpload',
    );
    await expectError(rawSigned(server.url, { path: '/errs/keep', query: { uploadId: 'nope' } }), 404, 'NoSuchUpload');
    await expectError(rawSigned(server.url, { method: 'DELETE', path: '/errs/keep', query: { uploadId: 'nope' } }), 404, 'NoSuchUpload');
    await expectError(rawSigned(server.url, { path: '/errs/missing' }), 404, 'NoSuchKey');
    await expectError(rawSigned(server.url, { path: '/no-bucket/missing' }), 404, 'NoSuchBucket');
    await expectError(rawSigned(server.url, { path: '/no-bucket' }), 404, 'NoSuchBucket');
  });

  it('bad signatures, unknown keys, clock skew and expired presigned URLs', async () => {
    await expectError(rawSigned(server.url, { path: '/errs/keep', secret: 'wrong-secret' }), 403, 'SignatureDoesNotMatch');
    await expectError(rawSigned(server.url, { path: '/errs/keep', accessKeyId: 'NOSUCHKEY' }), 403, 'InvalidAccessKeyId');
    await expectError(
      rawSigned(server.url, { path: '/errs/keep', signingDate: new Date(Date.now() - 20 * 60_000) }),
      403,
      'RequestTimeTooSkewed',
    );
    await expectError(rawSigned(server.url, { path: '/errs/keep', anonymous: true }), 403, 'AccessDenied');
    await expectError(
      rawSigned(server.url, { path: '/errs/keep', anonymous: true, headers: { authorization: 'AWS4-HMAC-SHA256 garbage' } }),
      400,
      'AuthorizationHeaderMalformed',
    );
    // a tampered body: signed with the payload hash of 'original', 'tampered' (same length) on the wire
    const tampered = await rawSigned(server.url, {
      method: 'PUT',
      path: '/errs/tamper',
      body: 'tampered',
      headers: { 'x-amz-content-sha256': createHash('sha256').update('original').digest('hex') },
    });
    assert.equal(tampered.status, 400, tampered.body);
    assert.equal(xmlField(tampered.body, 'Code'), 'XAmzContentSHA256Mismatch');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/errs/tamper' })).status, 404, 'nothing stored');
    // the same request with the body it was signed for is stored
    const signedPut = await rawSigned(server.url, { method: 'PUT', path: '/errs/tamper', body: 'original' });
    assert.equal(signedPut.status, 200);
    assert.equal((await rawSigned(server.url, { path: '/errs/tamper' })).body, 'original');
  });

  it('a signed payload whose body does not match its hash stores nothing', async () => {
    const r = await rawSigned(server.url, {
      method: 'PUT',
      path: '/errs/mismatch',
      body: 'actual body',
      headers: { 'x-amz-content-sha256': 'a'.repeat(64) },
    });
    assert.equal(r.status, 400, r.body);
    assert.equal(xmlField(r.body, 'Code'), 'XAmzContentSHA256Mismatch');
    const get = await rawSigned(server.url, { path: '/errs/mismatch' });
    assert.equal(get.status, 404);
  });

  it('a Content-MD5 that does not match is BadDigest and stores nothing', async () => {
    await expectError(
      rawSigned(server.url, {
        method: 'PUT',
        path: '/errs/md5',
        body: 'hello',
        headers: { 'content-md5': Buffer.alloc(16).toString('base64') },
      }),
      400,
      'BadDigest',
    );
    await expectError(
      rawSigned(server.url, { method: 'PUT', path: '/errs/md5', body: 'hello', headers: { 'content-md5': 'not-base64!' } }),
      400,
      'InvalidDigest',
    );
    const get = await rawSigned(server.url, { path: '/errs/md5' });
    assert.equal(get.status, 404);
  });

  it('keeps serving after all of the above', async () => {
    const get = await rawSigned(server.url, { path: '/errs/keep' });
    assert.equal(get.status, 200);
    assert.equal(get.body, 'kept');
  });
});
