/**
 * The minio JS client: buckets, put/get/stat/list/remove, presigned GET.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as Minio from 'minio';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

async function collect<T>(stream: AsyncIterable<T> | NodeJS.ReadableStream): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream as AsyncIterable<T>) out.push(item);
  return out;
}

describe('minio JS client', () => {
  let server: TestServer;
  let client: Minio.Client;
  before(async () => {
    server = await startOsprey();
    client = new Minio.Client({
      endPoint: '127.0.0.1',
      port: server.port,
      useSSL: false,
      accessKey: server.accessKeyId,
      secretKey: server.secretAccessKey,
      pathStyle: true,
      region: 'us-east-1',
    });
  });
  after(async () => {
    await server.close();
  });

  it('makes a bucket, puts, stats, gets, lists and removes objects', async () => {
    await client.makeBucket('minio-bucket');
    assert.equal(await client.bucketExists('minio-bucket'), true);
    assert.equal(await client.bucketExists('other-bucket'), false);
    await client.putObject('minio-bucket', 'a/b.txt', Buffer.from('minio body'), undefined, {
      'Content-Type': 'text/plain',
      'X-Amz-Meta-Tag': 'm',
    });
    const stat = await client.statObject('minio-bucket', 'a/b.txt');
    assert.equal(stat.size, 10);
    assert.equal(stat.metaData['content-type'], 'text/plain');
    assert.equal(stat.metaData.tag, 'm');
    const body = await collect<Buffer>(await client.getObject('minio-bucket', 'a/b.txt'));
    assert.equal(Buffer.concat(body).toString(), 'minio body');
    const partial = await collect<Buffer>(await client.getPartialObject('minio-bucket', 'a/b.txt', 6, 4));
    assert.equal(Buffer.concat(partial).toString(), 'body');
    const listed = await collect<{ name?: string; prefix?: string }>(client.listObjectsV2('minio-bucket', '', true));
    assert.deepEqual(
      listed.map((o) => o.name),
      ['a/b.txt'],
    );
    const url = await client.presignedGetObject('minio-bucket', 'a/b.txt', 60);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'minio body');
    await client.removeObject('minio-bucket', 'a/b.txt');
    await assert.rejects(client.statObject('minio-bucket', 'a/b.txt'), (e: unknown) => (e as { code?: string }).code === 'NotFound');
    await client.removeBucket('minio-bucket');
    assert.equal(await client.bucketExists('minio-bucket'), false);
  });
});
