/**
 * Issue #7, failures: a node killed with SIGKILL in the middle of a mirror fill leaves nothing
 * partial and does not block the key (its lease expires; a later GET through another node fills
 * it); the store going away under load gives 503 with Retry-After, never a corrupt object, and the
 * nodes recover by themselves when it is back.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { sharedCeph } from '../helpers/ceph.ts';
import type { Ceph } from '../helpers/ceph.ts';
import { s3, spawnOsprey, startOsprey } from '../helpers/osprey.ts';
import type { SpawnedServer, TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

const ceph = sharedCeph();
after(() => ceph.stop());

const STORE_BUCKET = 'osprey-failure';
/** unique per run: a cluster given with OSPREY_TEST_CEPH may hold earlier runs' data */
const RUN = Date.now().toString(36);
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

function store(c: Ceph): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

async function storeHas(c: Ceph, key: string): Promise<boolean> {
  try {
    await store(c).send(new HeadObjectCommand({ Bucket: STORE_BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

describe('a node killed mid-fill', () => {
  let c: Ceph;
  const nodes: SpawnedServer[] = [];
  after(async () => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) await n.kill();
  });

  it('leaves nothing partial, and a later GET through another node fills the key', async () => {
    c = await ceph.get();
    const body = randomBytes(6 * 1024 * 1024);
    let hits = 0;
    const origin = http.createServer((_req, res) => {
      hits++;
      // about 2.4 s for the whole body
      res.writeHead(200, { 'content-length': String(body.length) });
      let off = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (off >= body.length) return void res.end();
        res.write(body.subarray(off, off + 256 * 1024));
        off += 256 * 1024;
        setTimeout(tick, 100);
      };
      tick();
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    try {
      const args = [
        '--address',
        '127.0.0.1:0',
        '--storage',
        `s3://${STORE_BUCKET}/kill-${RUN}`,
        '--storage-endpoint',
        c.endpoint,
        '--origin-allow',
        '127.0.0.0/8',
      ];
      const env = {
        OSPREY_STORAGE_ACCESS_KEY_ID: c.accessKeyId,
        OSPREY_STORAGE_SECRET_ACCESS_KEY: c.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const [a, b] = await Promise.all([spawnOsprey(args, env), spawnOsprey(args, env)]);
      nodes.push(a, b);
      assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/crash', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
      const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
        <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://127.0.0.1:${(origin.address() as AddressInfo).port}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/crash', query: { website: '' }, body: rules })).status, 200);
      // node a starts the fill; it is killed a second into the body
      const first = fetch(`${a.url}/crash/slow.bin`)
        .then(async (r) => Buffer.from(await r.arrayBuffer()))
        .catch(() => undefined);
      for (let i = 0; i < 100 && hits === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 1000));
      await a.kill();
      const partial = await first;
      assert.ok(partial === undefined || partial.length < body.length, 'the client of the killed node never got a clean, short body');
      assert.equal(await storeHas(c, `kill-${RUN}/b/crash/o/slow.bin`), false, 'nothing partial in the store');
      // node b: the dead node's lease expires, b fills the key and stores it
      const t0 = Date.now();
      const res = await fetch(`${b.url}/crash/slow.bin`);
      const got = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200);
      assert.equal(md5(got), md5(body));
      assert.ok(Date.now() - t0 < 20_000, `served after ${Date.now() - t0} ms`);
      assert.equal(hits, 2);
      for (let i = 0; i < 50 && !(await storeHas(c, `kill-${RUN}/b/crash/o/slow.bin`)); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await storeHas(c, `kill-${RUN}/b/crash/o/slow.bin`), true, 'stored by node b');
      const again = await fetch(`${b.url}/crash/slow.bin`);
      assert.equal(md5(Buffer.from(await again.arrayBuffer())), md5(body));
      assert.equal(hits, 2, 'served from the store');
    } finally {
      origin.close();
    }
  });
});

describe('the store stopped and restarted under load', () => {
  let c: Ceph;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    c = await ceph.get();
    const settings = {
      storage: `s3://${STORE_BUCKET}/outage-${RUN}`,
      storageEndpoint: c.endpoint,
      storageAccessKeyId: c.accessKeyId,
      storageSecretAccessKey: c.secretAccessKey,
    };
    [a, b] = [await startOsprey(settings), await startOsprey(settings)];
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('503 with Retry-After while it is away, no corrupt object, recovery by itself', async () => {
    assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/load' })).status, 200);
    /** every body ever sent for a key: what is stored must be one of them, whole */
    const sent = new Map<string, Set<string>>();
    const statuses = new Map<number, number>();
    let retryAfter = 0;
    let phase: 'before' | 'down' | 'after' = 'before';
    const okAfter = { n: 0 };
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const node = (w + i) % 2 ? a : b;
        const key = `k${w}-${i % 3}`;
        let r;
        if (i % 2 === 0) {
          const data = randomBytes(64 * 1024 + i);
          if (!sent.has(key)) sent.set(key, new Set());
          sent.get(key)?.add(md5(data));
          r = await rawSigned(node.url, { method: 'PUT', path: `/load/${key}`, body: data }).catch(() => undefined);
        } else {
          r = await rawSigned(node.url, { path: `/load/${key}` }).catch(() => undefined);
        }
        if (!r) continue;
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 503 && r.headers['retry-after']) retryAfter++;
        if (phase === 'after' && r.status === 200) okAfter.n++;
        if (r.status === 503) await new Promise((res) => setTimeout(res, 50));
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    await new Promise((r) => setTimeout(r, 1500));
    phase = 'down';
    await c.stopGateways();
    await new Promise((r) => setTimeout(r, 3000));
    const ready = await fetch(`${a.url}/-/health/ready`);
    assert.equal(ready.status, 503, 'not ready while the store is away');
    await c.startGateways();
    phase = 'after';
    for (let i = 0; i < 300 && okAfter.n < 20; i++) await new Promise((r) => setTimeout(r, 100));
    running = false;
    await load;
    const seen = Object.fromEntries(statuses);
    assert.ok(okAfter.n >= 20, `recovered: ${JSON.stringify(seen)}`);
    assert.ok((statuses.get(503) ?? 0) > 0 && retryAfter === statuses.get(503), `503s, each with Retry-After: ${JSON.stringify(seen)}`);
    for (const status of statuses.keys()) assert.ok([200, 404, 503].includes(status), `only 200, 404 and 503: ${JSON.stringify(seen)}`);
    assert.equal((await fetch(`${b.url}/-/health/ready`)).status, 200);
    // whatever is stored is whole: one of the bodies sent for that key, its ETag its MD5
    const client = s3(b);
    let checked = 0;
    for (const [key, bodies] of sent) {
      const got = await client.send(new GetObjectCommand({ Bucket: 'load', Key: key })).catch((e: unknown) => e);
      if ((got as { name?: string }).name === 'NoSuchKey') continue;
      const r = got as GetObjectCommandOutput;
      const bytes = Buffer.from((await r.Body?.transformToByteArray()) ?? []);
      assert.ok(bodies.has(md5(bytes)), `${key}: the stored object is one of the bodies sent, whole`);
      assert.equal(r.ETag, `"${md5(bytes)}"`);
      checked++;
    }
    assert.ok(checked > 0);
  });
});
