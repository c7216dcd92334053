/**
 * Issue 17 (single causes): a stored Content-Encoding keeps its spelling ('deflate, gzip'), and
 * a plain PUT (payload hash given) whose Content-Encoding names aws-chunked is stored as sent,
 * with aws-chunked taken out of the stored value, as S3 and RGW do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('Content-Encoding of a PUT (issue 17)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/enc' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  const cases: [string, string | undefined][] = [
    ['gzip', 'gzip'],
    ['deflate, gzip', 'deflate, gzip'],
    ['gzip, aws-chunked', 'gzip'],
    ['aws-chunked, gzip', 'gzip'],
    ['aws-chunked', undefined],
    ['aws-chunked, aws-chunked', undefined],
  ];
  for (const [sent, stored] of cases) {
    it(`Content-Encoding: ${sent} -> ${stored ?? '(none)'}`, async () => {
      const put = await rawSigned(server.url, { method: 'PUT', path: '/enc/k', body: 'plain body', headers: { 'content-encoding': sent } });
      assert.equal(put.status, 200, put.body);
      const get = await rawSigned(server.url, { path: '/enc/k' });
      assert.equal(get.body, 'plain body');
      assert.equal(get.headers['content-encoding'], stored);
    });
  }
});
