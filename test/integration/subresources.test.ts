/**
 * Issue 15, defect 2: every sub-resource is routed explicitly. Each one, with every method, at
 * bucket and object level, signed: an unimplemented one answers 501 NotImplemented and nothing
 * changes: no object body or metadata, no bucket, no website configuration, no ACL, no tagging.
 * (Before, PUT /b/k?acl replaced the object with 0 bytes and DELETE /b?cors deleted the bucket.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SUBRESOURCES } from '../../src/http/route.ts';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'];
const BODY = 'the body that must survive\n';
const WEBSITE = '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>';
// an implemented operation that changes state by design; covered by its own tests
const SKIP = new Set(['DELETE bucket website']);
const IMPLEMENTED = new Set([
  'GET bucket location',
  'GET bucket acl',
  'GET bucket website',
  'GET bucket uploads',
  'PUT bucket acl',
  'PUT bucket website',
  'POST bucket delete',
  'GET bucket cors',
  'PUT bucket cors',
  'DELETE bucket cors',
  'GET object uploadId',
  'GET object tagging',
  'GET object acl',
  'PUT object acl',
  'PUT object uploadId',
  'DELETE object uploadId',
  'POST object uploads',
  'POST object uploadId',
]);

describe('every sub-resource with every method changes nothing it does not implement (issue 15 #2)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/subres' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/subres', query: { website: '' }, body: WEBSITE })).status, 200);
    const put = await rawSigned(server.url, {
      method: 'PUT',
      path: '/subres/k',
      body: BODY,
      headers: { 'content-type': 'text/x-kept', 'x-amz-meta-color': 'blue' },
    });
    assert.equal(put.status, 200);
  });
  after(async () => {
    await server.close();
  });

  async function state(): Promise<string> {
    const get = await rawSigned(server.url, { path: '/subres/k' });
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/subres/k' });
    const web = await rawSigned(server.url, { path: '/subres', query: { website: '' } });
    const acl = await rawSigned(server.url, { path: '/subres', query: { acl: '' } });
    const tags = await rawSigned(server.url, { path: '/subres/k', query: { tagging: '' } });
    const list = await rawSigned(server.url, { path: '/subres' });
    return JSON.stringify({
      get: [get.status, get.body],
      head: [
        head.status,
        head.headers.etag,
        head.headers['content-length'],
        head.headers['content-type'],
        head.headers['x-amz-meta-color'],
      ],
      web: [web.status, xmlField(web.body, 'Suffix')],
      acl: [acl.status, acl.body.replace(/<RequestId>.*?<\/RequestId>/, '')],
      tags: [tags.status, xmlField(tags.body, 'Key'), xmlField(tags.body, 'Value')],
      keys: [list.status, list.body.match(/<Key>[^<]*<\/Key>/g)],
    });
  }

  it('the starting state is what the checks expect', async () => {
    const s = JSON.parse(await state()) as Record<string, unknown[]>;
    assert.deepEqual(s.get, [200, BODY]);
    assert.deepEqual(s.web, [200, 'index.html']);
    assert.equal(s.tags?.[0], 200);
    assert.deepEqual(s.keys, [200, ['<Key>k</Key>']]);
  });

  for (const level of ['bucket', 'object'] as const) {
    for (const method of METHODS) {
      it(`${method} at ${level} level, every sub-resource`, async () => {
        const before = await state();
        for (const sub of SUBRESOURCES) {
          const what = `${method} ${level} ${sub}`;
          if (SKIP.has(what)) continue;
          const r = await rawSigned(server.url, {
            method,
            path: level === 'bucket' ? '/subres' : '/subres/k',
            query: { [sub]: '' },
            // a body as a client of that operation would send one: it must not become the object
            ...(method === 'PUT' || method === 'POST' ? { body: 'not an object body' } : {}),
          });
          if (IMPLEMENTED.has(what)) {
            assert.notEqual(r.status, 501, `${what}: implemented, ${r.status} ${r.body}`);
          } else {
            assert.equal(r.status, 501, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
            if (method !== 'HEAD') assert.equal(xmlField(r.body, 'Code'), 'NotImplemented', what);
          }
          assert.equal(await state(), before, `${what} changed something`);
        }
      });
    }
  }

  it('ordinary query parameters still reach their operation', async () => {
    const get = await rawSigned(server.url, {
      path: '/subres/k',
      query: { 'response-content-type': 'text/plain', versionId: 'null', 'x-id': 'GetObject' },
    });
    assert.equal(get.status, 200);
    assert.equal(get.body, BODY);
    assert.equal(get.headers['content-type'], 'text/plain');
    const list = await rawSigned(server.url, { path: '/subres', query: { prefix: 'k', 'max-keys': '5' } });
    assert.equal(list.status, 200);
    assert.equal(xmlField(list.body, 'Key'), 'k');
    const v2 = await rawSigned(server.url, { path: '/subres', query: { 'list-type': '2', 'start-after': 'a' } });
    assert.equal(xmlField(v2.body, 'KeyCount'), '1');
  });

  it('anonymous: a sub-resource is refused before anything else and changes nothing', async () => {
    const before = await state();
    const r = await rawSigned(server.url, { method: 'PUT', path: '/subres/k', query: { acl: '' }, anonymous: true, body: 'x' });
    assert.equal(r.status, 403);
    const d = await rawSigned(server.url, { method: 'DELETE', path: '/subres', query: { cors: '' }, anonymous: true });
    assert.equal(d.status, 403);
    assert.equal(await state(), before);
  });
});
