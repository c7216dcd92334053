/**
 * Issue 17: CompleteMultipartUpload repeated (200 with the same ETag while the object it made is
 * there) and a part number listed twice in a row (the later entry is the one meant, as RGW).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

describe('CompleteMultipartUpload, repeated and with a part listed twice (issue 17)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/mpc' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  const create = async (key: string) =>
    xmlField((await rawSigned(server.url, { method: 'POST', path: `/mpc/${key}`, query: { uploads: '' } })).body, 'UploadId') ?? '';
  const part = async (key: string, uploadId: string, n: number, body: string) =>
    String(
      (await rawSigned(server.url, { method: 'PUT', path: `/mpc/${key}`, query: { partNumber: String(n), uploadId }, body })).headers.etag,
    );
  const complete = (key: string, uploadId: string, parts: [number, string][]) =>
    rawSigned(server.url, {
      method: 'POST',
      path: `/mpc/${key}`,
      query: { uploadId },
      body: `<CompleteMultipartUpload>${parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
    });

  it('a repeated complete answers 200 with the same ETag, until the object is replaced', async () => {
    const id = await create('again');
    const e1 = await part('again', id, 1, 'only part');
    const first = await complete('again', id, [[1, e1]]);
    assert.equal(first.status, 200, first.body);
    const second = await complete('again', id, [[1, e1]]);
    assert.equal(second.status, 200, second.body);
    assert.equal(xmlField(second.body, 'ETag'), xmlField(first.body, 'ETag'));
    assert.equal((await rawSigned(server.url, { path: '/mpc/again' })).body, 'only part');
    assert.equal((await complete('other-key', id, [[1, e1]])).status, 404, 'another key: NoSuchUpload');
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/mpc/again', body: 'replaced' })).status, 200);
    const third = await complete('again', id, [[1, e1]]);
    assert.equal(third.status, 404);
    assert.equal(xmlField(third.body, 'Code'), 'NoSuchUpload');
    assert.equal((await rawSigned(server.url, { path: '/mpc/again' })).body, 'replaced');
  });

  it('a part number listed twice in a row: the later entry counts', async () => {
    const id = await create('twice');
    const eb = await part('twice', id, 1, 'BBBBBBBB');
    const ea = await part('twice', id, 1, 'AAAAAAAA');
    const done = await complete('twice', id, [
      [1, eb],
      [1, ea],
    ]);
    assert.equal(done.status, 200, done.body);
    assert.equal((await rawSigned(server.url, { path: '/mpc/twice' })).body, 'AAAAAAAA');
    const id2 = await create('order');
    const p1 = await part('order', id2, 1, 'one');
    const p2 = await part('order', id2, 2, 'two');
    const bad = await complete('order', id2, [
      [1, p1],
      [2, p2],
      [1, p1],
    ]);
    assert.equal(xmlField(bad.body, 'Code'), 'InvalidPartOrder', 'out of order is still refused');
  });
});
