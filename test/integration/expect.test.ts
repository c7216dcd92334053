/**
 * Issue 17: `Expect: 100-continue` is answered by Osprey, not Node's defaults. The request is
 * routed, authenticated and checked (bucket, declared size) first: a refused one gets its error
 * without the client sending the body; only one that will be carried out gets `100 Continue`.
 * An empty or unknown Expect value is ignored, as S3 does (Node's default answer was 417).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

interface Outcome {
  continued: boolean;
  status: number;
  body: string;
}

/** A PUT that sends its headers, then its body only after `100 Continue` (as curl and boto do). */
async function putExpecting(
  server: TestServer,
  path: string,
  body: string,
  opts: { expect: string; anonymous?: boolean; size?: number },
): Promise<Outcome> {
  const url = new URL(server.url);
  let headers: Record<string, string> = {
    host: url.host,
    expect: opts.expect,
    'content-length': String(opts.size ?? Buffer.byteLength(body)),
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
  };
  if (!opts.anonymous) {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      sha256: Sha256,
      uriEscapePath: false,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    headers = (await signer.sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, headers }))
      .headers as Record<string, string>;
  }
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path, headers });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ continued, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
        req.destroy();
      });
    });
    req.on('error', reject);
    // with 100-continue the body waits for 'continue'; with any other value it goes at once
    if (opts.expect.toLowerCase() !== '100-continue') req.end(body);
    else req.flushHeaders();
  });
}

describe('Expect: 100-continue and other Expect values (issue 17)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey({ maxObjectSize: 1000 });
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/expect' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  it('a request that will be carried out gets 100 Continue, then its answer', async () => {
    const r = await putExpecting(server, '/expect/ok', 'sent after 100', { expect: '100-continue' });
    assert.deepEqual([r.continued, r.status], [true, 200], r.body);
    assert.equal((await rawSigned(server.url, { path: '/expect/ok' })).body, 'sent after 100');
  });

  it('a refused request gets its error without 100 Continue: anonymous, missing bucket, too large', async () => {
    const anon = await putExpecting(server, '/expect/anon', 'never sent', { expect: '100-continue', anonymous: true });
    assert.deepEqual([anon.continued, anon.status, xmlField(anon.body, 'Code')], [false, 403, 'AccessDenied']);
    const missing = await putExpecting(server, '/no-such-bucket/k', 'never sent', { expect: '100-continue' });
    assert.deepEqual([missing.continued, missing.status, xmlField(missing.body, 'Code')], [false, 404, 'NoSuchBucket']);
    const big = await putExpecting(server, '/expect/big', 'x'.repeat(2000), { expect: '100-continue' });
    assert.deepEqual([big.continued, big.status, xmlField(big.body, 'Code')], [false, 400, 'EntityTooLarge']);
    for (const k of ['anon', 'big']) assert.equal((await rawSigned(server.url, { method: 'HEAD', path: `/expect/${k}` })).status, 404);
  });

  it('an empty or unknown Expect value is ignored (not 417)', async () => {
    for (const expect of ['', '200', 'something-else']) {
      const r = await putExpecting(server, '/expect/other', `body for '${expect}'`, { expect });
      assert.equal(r.status, 200, `Expect: '${expect}': ${r.status} ${r.body}`);
      assert.equal((await rawSigned(server.url, { path: '/expect/other' })).body, `body for '${expect}'`);
    }
    const bucket = await rawSigned(server.url, { method: 'PUT', path: '/expect-bucket', headers: { expect: '' } });
    assert.equal(bucket.status, 200);
  });
});
