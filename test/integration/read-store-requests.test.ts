/**
 * Store requests per GET on the S3 driver (issue #16, "one lookup per GET"): a recording HTTP
 * proxy (helpers/recorder.ts) stands between Osprey and the store (Ceph RGW in the S3 pass) and
 * counts every request the driver sends.
 * Only the S3 pass runs it: the embedded store has no store requests to count.
 *
 * Bucket documents and configurations are cached per node for 500 ms (storage/s3/buckets.ts), so
 * a GET may also refresh them; those reads are counted apart. The object reads are exact.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ON_S3, s3Storage, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { fillMark } from '../helpers/wait.ts';
import { startRecorder } from '../helpers/recorder.ts';
import type { Recorded, Recorder } from '../helpers/recorder.ts';

/** What the requests between `from` and the end of the log were: reads of objects, of bucket documents/configurations, the rest. */
function tally(log: Recorded[], from: number, bucket: string) {
  const objects: Recorded[] = [];
  const configs: Recorded[] = [];
  const other: Recorded[] = [];
  for (const r of log.slice(from)) {
    if (r.path.includes(`/b/${bucket}/o/`)) objects.push(r);
    else if ((r.method === 'GET' || r.method === 'HEAD') && (r.path.endsWith(`/buckets/${bucket}`) || r.path.includes(`/b/${bucket}/c/`)))
      configs.push(r);
    else other.push(r);
  }
  return { objects, configs, other, total: log.length - from };
}

function website(originUrl: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

const ROUNDS = 20;

describe(
  'store requests per GET on the S3 driver (issue #16)',
  { skip: ON_S3 ? false : 'S3 driver only (OSPREY_TEST_DRIVER=s3): counts requests to the store' },
  () => {
    let recorder: Recorder;
    let server: TestServer;
    let origin: http.Server;
    let originUrl = '';
    const figures: string[] = [];

    before(async () => {
      const store = s3Storage();
      recorder = await startRecorder(store.storageEndpoint);
      origin = http.createServer((req, res) => {
        if ((req.url ?? '').startsWith('/files/fill-')) res.end('from the origin');
        else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/files/`;
      server = await startOsprey({ ...store, storageEndpoint: recorder.url });
      for (const [bucket, acl] of [
        ['rules-public', 'public-read'],
        ['rules-private', 'private'],
      ] as const) {
        assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': acl } })).status, 200);
        const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website(originUrl) });
        assert.equal(r.status, 200, r.body);
        assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}/hit.txt`, body: 'stored' })).status, 200);
      }
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: '/rules-private/open.txt',
            headers: { 'x-amz-acl': 'public-read' },
            body: 'open',
          })
        ).status,
        200,
      );
    });
    after(async () => {
      await server?.close();
      await recorder?.close();
      origin?.close();
      if (figures.length > 0) console.log(`store requests per request:\n  ${figures.join('\n  ')}`);
    });

    /** `ROUNDS` requests one after the other, then what they cost per request */
    async function measure(what: string, bucket: string, send: () => Promise<number>, status: number) {
      assert.equal(await send(), status); // warms the caches
      const from = recorder.log.length;
      for (let i = 0; i < ROUNDS; i++) assert.equal(await send(), status);
      const t = tally(recorder.log, from, bucket);
      figures.push(
        `${what}: ${t.objects.length / ROUNDS} object request(s), ${(t.total / ROUNDS).toFixed(2)} in all (${t.configs.length} cache refreshes of bucket document/configurations in ${ROUNDS} requests)`,
      );
      assert.deepEqual(t.other, [], 'nothing but object reads and cache refreshes');
      return t;
    }

    it('a hit GET in a bucket with rules costs one store request (the object GET)', async () => {
      const t = await measure(
        'owner GET hit (bucket with rules)',
        'rules-public',
        async () => (await rawSigned(server.url, { path: '/rules-public/hit.txt' })).status,
        200,
      );
      assert.deepEqual(
        t.objects.map((r) => r.method),
        Array<string>(ROUNDS).fill('GET'),
      );
    });

    it('an anonymous GET hit in a public bucket with rules costs one store request', async () => {
      const t = await measure(
        'anonymous GET hit (public bucket with rules)',
        'rules-public',
        async () => await fetch(`${server.url}/rules-public/hit.txt`).then(async (r) => (await r.arrayBuffer(), r.status)),
        200,
      );
      assert.deepEqual(
        t.objects.map((r) => r.method),
        Array<string>(ROUNDS).fill('GET'),
      );
    });

    it('an anonymous GET of a public-read object in a private bucket costs one store request (the ACL is read from the GET)', async () => {
      const t = await measure(
        'anonymous GET of a public-read object (private bucket with rules)',
        'rules-private',
        async () => await fetch(`${server.url}/rules-private/open.txt`).then(async (r) => (await r.arrayBuffer(), r.status)),
        200,
      );
      assert.deepEqual(
        t.objects.map((r) => r.method),
        Array<string>(ROUNDS).fill('GET'),
      );
    });

    it('a HEAD hit costs one store request (the object HEAD)', async () => {
      const t = await measure(
        'owner HEAD hit (bucket with rules)',
        'rules-public',
        async () => (await rawSigned(server.url, { method: 'HEAD', path: '/rules-public/hit.txt' })).status,
        200,
      );
      assert.deepEqual(
        t.objects.map((r) => r.method),
        Array<string>(ROUNDS).fill('HEAD'),
      );
    });

    it("a miss that a Mirror rule fills: one lookup, then the fill's writes; the next GET is a hit of one request", async () => {
      const ended = await fillMark(server.url, 'rules-public');
      const from = recorder.log.length;
      const res = await fetch(`${server.url}/rules-public/fill-1.txt`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'from the origin');
      assert.deepEqual(await ended.wait(), { stored: 1 });
      const miss = tally(recorder.log, from, 'rules-public');
      // the read path's own lookups: those before the fill's lease (the engine then checks again under the lease: cross-node.ts)
      const leaseAt = recorder.log.slice(from).findIndex((r) => r.path.includes('/l/'));
      const lookups = recorder.log
        .slice(from, leaseAt < 0 ? undefined : from + leaseAt)
        .filter((r) => r.path.includes('/b/rules-public/o/'));
      figures.push(
        `GET miss + mirror fill: ${miss.total} requests (${lookups.length} lookup(s) by the read path before the fill's lease): ${recorder.log
          .slice(from)
          .map((r) => `${r.method} ${r.path.replace(/^.*?\/(b|l|buckets)\//, '$1/')}${r.query ? `?${r.query.split('&')[0] ?? ''}` : ''}`)
          .join(', ')}`,
      );
      assert.equal(lookups.length, 1, 'the read path looks the missing key up once');
      const before = recorder.log.length;
      const hit = await fetch(`${server.url}/rules-public/fill-1.txt`);
      assert.equal(await hit.text(), 'from the origin');
      const t = tally(recorder.log, before, 'rules-public');
      figures.push(`GET of the filled key: ${t.objects.length} object request(s), ${t.total} in all`);
      assert.equal(t.objects.length, 1);
    });
  },
);
