/**
 * An anonymous read in a bucket that is not public (issue #16): the object's own ACL must grant
 * AllUsers READ, and the read service checks it on the one lookup that also serves the object.
 * A refused read is refused before any rule: a Mirror rule never fetches for it, a redirect rule
 * never answers it; a granted one goes through the rules as any read does.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

describe('anonymous reads in a private bucket with rules', () => {
  let server: TestServer;
  let origin: http.Server;
  let originHits = 0;
  const anon = (path: string, opts: { method?: string; headers?: Record<string, string> } = {}) =>
    rawSigned(server.url, { path, anonymous: true, ...opts });

  before(async () => {
    origin = http.createServer((_req, res) => {
      originHits++;
      res.end('from the origin');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    server = await startOsprey();
    for (const bucket of ['grant-mirror', 'grant-pre']) {
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}` })).status, 200);
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: `/${bucket}/open.txt`,
            headers: { 'x-amz-acl': 'public-read' },
            body: 'open to all',
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: `/${bucket}/closed.txt`,
            headers: { 'x-amz-acl': 'private' },
            body: 'owner only',
          })
        ).status,
        200,
      );
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}/plain.txt`, body: 'no ACL of its own' })).status, 200);
    }
    const mirror = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
    let r = await rawSigned(server.url, { method: 'PUT', path: '/grant-mirror', query: { website: '' }, body: mirror });
    assert.equal(r.status, 200, r.body);
    const pre = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><KeyPrefixEquals>open</KeyPrefixEquals></Condition>
      <Redirect><RedirectType>External</RedirectType><HostName>example.test</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
    r = await rawSigned(server.url, { method: 'PUT', path: '/grant-pre', query: { website: '' }, body: pre });
    assert.equal(r.status, 200, r.body);
  });
  after(async () => {
    await server?.close();
    origin?.close();
  });

  it('a public-read object is served (GET, HEAD, Range); no origin fetch', async () => {
    const got = await anon('/grant-mirror/open.txt');
    assert.equal(got.status, 200);
    assert.equal(got.body, 'open to all');
    const head = await anon('/grant-mirror/open.txt', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '11');
    const part = await anon('/grant-mirror/open.txt', { headers: { range: 'bytes=0-3' } });
    assert.equal(part.status, 206);
    assert.equal(part.body, 'open');
    assert.equal(part.headers['content-range'], 'bytes 0-3/11');
    const cond = await anon('/grant-mirror/open.txt', { headers: { 'if-none-match': got.headers.etag ?? '' } });
    assert.equal(cond.status, 304);
    assert.equal(originHits, 0);
  });

  it('a missing key, an object without an ACL of its own and a private one are AccessDenied, and the Mirror rule never runs', async () => {
    for (const key of ['missing.txt', 'plain.txt', 'closed.txt']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await anon(`/grant-mirror/${key}`, { method });
        assert.equal(r.status, 403, `${method} ${key}`);
        if (method === 'GET') assert.equal(xmlField(r.body, 'Code'), 'AccessDenied');
      }
    }
    assert.equal((await anon('/grant-mirror/missing.txt', { headers: { range: 'bytes=0-3' } })).status, 403);
    assert.equal(originHits, 0, 'no fill for a read that is refused');
  });

  it('a granted read goes through the rules (a pre-routing redirect); a refused one does not', async () => {
    const open = await anon('/grant-pre/open.txt');
    assert.equal(open.status, 302);
    assert.equal(open.headers.location, 'http://example.test/open.txt');
    const closed = await anon('/grant-pre/closed.txt');
    assert.equal(closed.status, 403);
    const missing = await anon('/grant-pre/open-missing.txt');
    assert.equal(missing.status, 403, 'no redirect for a key the reader may not read');
  });

  it('the owner reads every object, and a miss mirrors', async () => {
    assert.equal((await rawSigned(server.url, { path: '/grant-mirror/closed.txt' })).body, 'owner only');
    const filled = await rawSigned(server.url, { path: '/grant-mirror/filled.txt' });
    assert.equal(filled.status, 200);
    assert.equal(filled.body, 'from the origin');
  });
});
