/**
 * Issue 17 (single causes): a signed header with a non-ASCII value. Clients (botocore, the AWS CLI,
 * the AWS SDK for JavaScript on Node) send its UTF-8 octets and sign those octets; Osprey hashed
 * the octets' latin1 characters as UTF-8 (C3 A9 became C3 83 C2 A9) and refused the request.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, SECRET_KEY, s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

/** A PUT with x-amz-meta-m: `value`, signed over its UTF-8 octets, which node:http sends. */
async function putWithMeta(server: TestServer, path: string, value: string, secret = SECRET_KEY): Promise<number> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret },
  });
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    headers: { host: url.host, 'x-amz-meta-m': value, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '3' },
  });
  const headers = signed.headers as Record<string, string>;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end('bar');
  });
}

describe('SigV4 with a non-ASCII signed header (issue 17)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/utf8' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  it('UTF-8 octets on the wire, signed as those octets', async () => {
    // node:http sends a header value up to U+00FF as UTF-8 and refuses more; the octets are the same path for CJK
    for (const value of ['Hello World\u00e9', 'caf\u00e9 \u00fc\u00df \u00a0nbsp']) {
      assert.equal(await putWithMeta(server, '/utf8/boto', value), 200, value);
      const head = await rawSigned(server.url, { method: 'HEAD', path: '/utf8/boto' });
      assert.equal(
        Buffer.from(String(head.headers['x-amz-meta-m']), 'latin1').toString('utf8'),
        value,
        'the octets come back as they came in',
      );
    }
  });

  it('the AWS SDK for JavaScript', async () => {
    const put = await s3(server).send(
      new PutObjectCommand({ Bucket: 'utf8', Key: 'sdk', Body: 'bar', Metadata: { m: 'Hello World\u00e9' } }),
    );
    assert.equal(put.$metadata.httpStatusCode, 200);
  });

  it('a wrong secret is still refused', async () => {
    const v = 'Hello World\u00e9';
    assert.equal(await putWithMeta(server, '/utf8/bad', v, 'wrong-secret'), 403);
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/utf8/bad' })).status, 404);
  });
});
