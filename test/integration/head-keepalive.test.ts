/**
 * A HEAD answered with an error (a missing key: 404) keeps its connection for the next request in
 * Node.js's own HTTP client, as the AWS SDK for JavaScript uses it. Node's client only keeps a
 * connection whose answer says where it ends: without a Content-Length the answer to a HEAD is taken
 * to run to the end of the connection, so every missing key cost a new connection (`osprey import`
 * HEADs every key before copying it; issue 19).
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('HEAD error answers and keep-alive', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/keepalive' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/keepalive/there', body: 'x' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  it('HEAD of missing keys through the AWS SDK reuses one connection', async () => {
    let connections = 0;
    class CountingAgent extends Agent {
      override createConnection(...args: Parameters<Agent['createConnection']>): Duplex {
        connections++;
        return super.createConnection(...args) as Duplex;
      }
    }
    const agent = new CountingAgent({ keepAlive: true, maxSockets: 1 });
    const client = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestHandler: { httpAgent: agent },
    });
    try {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          client.send(new HeadObjectCommand({ Bucket: 'keepalive', Key: `missing-${i}` })),
          (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 404,
        );
      }
      await client.send(new HeadObjectCommand({ Bucket: 'keepalive', Key: 'there' }));
      assert.equal(connections, 1, 'one connection for 5 HEADs of missing keys and one of a present key');
    } finally {
      client.destroy();
      agent.destroy();
    }
  });

  it("a HEAD error answer has the Content-Length of the GET's error body, and no body", async () => {
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/keepalive/missing' });
    const get = await rawSigned(server.url, { method: 'GET', path: '/keepalive/missing' });
    assert.equal(head.status, 404);
    assert.equal(head.body, '');
    assert.equal(get.status, 404);
    assert.ok(Number(head.headers['content-length']) > 0);
    assert.equal(head.headers['content-type'], 'application/xml');
    // the request ids differ: the lengths may differ by a digit or so, not more
    assert.ok(
      Math.abs(Number(head.headers['content-length']) - Buffer.byteLength(get.body)) <= 4,
      `${head.headers['content-length']} vs ${Buffer.byteLength(get.body)}`,
    );
  });
});
