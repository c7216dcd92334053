/**
 * A delimiter listing of a bucket with many keys per "directory" on the S3 driver (issue #19).
 * RGW answers ListObjectsV2 with a delimiter after a bounded number of index reads: when many keys
 * fold into few common prefixes, its page has fewer entries than asked and is marked truncated.
 * The driver took such a page as the end of the listing: 1,000 directories of 9 keys each were
 * listed as about 825 with IsTruncated false. The keys are written straight into the store under
 * the driver's prefix (9,000 PUTs through Osprey would take minutes); the listing goes through
 * Osprey with the AWS SDK, paging as a client does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../../src/auth/sigv4.ts';
import { ON_S3, s3, s3Storage, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { startRecorder } from '../helpers/recorder.ts';
import type { Recorder } from '../helpers/recorder.ts';

const DIRS = 1000;
const PER_DIR = 9;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const keyOf = (i: number) => `d${String(i % DIRS).padStart(4, '0')}/k${Math.floor(i / DIRS)}`;

describe(
  'S3 driver: a delimiter listing over many keys per prefix (issue #19)',
  { skip: ON_S3 ? false : 'S3 driver only (OSPREY_TEST_DRIVER=s3): RGW short pages' },
  () => {
    let server: TestServer;
    let recorder: Recorder;
    const store = s3Storage();

    before(async () => {
      // the store requests are recorded: a full page of 1,000 is one store listing, not two
      recorder = await startRecorder(store.storageEndpoint);
      server = await startOsprey({ ...store, storageEndpoint: recorder.url });
      const client = s3(server);
      await client.send(new CreateBucketCommand({ Bucket: 'dirs' }));
      await client.send(new PutObjectCommand({ Bucket: 'dirs', Key: keyOf(0), Body: '' }));
      client.destroy();
      // where the driver keeps that object in the store: the others go beside it
      const storeBucket = new URL(store.storage).host;
      const prefix = new URL(store.storage).pathname.slice(1);
      const endpoint = new URL(store.storageEndpoint);
      const creds = { accessKeyId: store.storageAccessKeyId, secretAccessKey: store.storageSecretAccessKey };
      const agent = new Agent({ connections: 64 });
      const send = async (method: string, path: string) => {
        const headers = signRequestV4(
          { method, url: path, headers: { host: endpoint.host, 'x-amz-content-sha256': EMPTY_SHA256 } },
          creds,
          EMPTY_SHA256,
          new Date(),
          'us-east-1',
        );
        const r = await request(new URL(path, endpoint), { method, headers, dispatcher: agent });
        const text = await r.body.text();
        return { status: r.statusCode, text };
      };
      const listed = await send('GET', `/${storeBucket}?list-type=2&prefix=${encodeURIComponent(prefix + '/')}`);
      const storeKey = /<Key>([^<]*d0000\/k0)<\/Key>/.exec(listed.text)?.[1];
      assert.ok(storeKey, `the object is in the store under the server's prefix: ${listed.text.slice(0, 300)}`);
      const base = storeKey.slice(0, -keyOf(0).length);
      let next = 1;
      const total = DIRS * PER_DIR;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < total) {
            const i = next++;
            const path = `/${storeBucket}/${base}${keyOf(i)}`.split('/').map(encodeURIComponent).join('/');
            const r = await send('PUT', path);
            assert.equal(r.status, 200, `seed PUT ${keyOf(i)}: ${r.status} ${r.text.slice(0, 200)}`);
          }
        }),
      );
      await agent.close();
    });

    after(async () => {
      await server?.close();
      await recorder?.close();
    });

    it('lists every common prefix across its pages, as a client pages through them', async () => {
      const client = s3(server);
      const prefixes: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: 'dirs',
            Delimiter: '/',
            MaxKeys: 1000,
            ...(token !== undefined && { ContinuationToken: token }),
          }),
        );
        pages++;
        for (const p of page.CommonPrefixes ?? []) prefixes.push(p.Prefix ?? '');
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (page.IsTruncated) assert.ok(token, 'a truncated page names where to go on');
      } while (token !== undefined && pages < 50);
      client.destroy();
      assert.equal(prefixes.length, DIRS, `${prefixes.length} of ${DIRS} directories listed in ${pages} page(s)`);
      assert.deepEqual(
        prefixes,
        Array.from({ length: DIRS }, (_, i) => `d${String(i).padStart(4, '0')}/`),
      );
    });

    it('pages a flat listing of every key 1,000 at a time, each key once and in order, the last page not truncated', async () => {
      const client = s3(server);
      const keys: string[] = [];
      let token: string | undefined;
      let pages = 0;
      let lastTruncated = true;
      const from = recorder.log.length;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: 'dirs', MaxKeys: 1000, ...(token !== undefined && { ContinuationToken: token }) }),
        );
        pages++;
        for (const o of page.Contents ?? []) keys.push(o.Key ?? '');
        lastTruncated = page.IsTruncated === true;
        token = lastTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined && pages < 50);
      client.destroy();
      const all = Array.from({ length: DIRS * PER_DIR }, (_, i) => keyOf(i)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(keys.length, all.length, `${keys.length} keys in ${pages} pages`);
      assert.deepEqual(keys, all);
      assert.equal(lastTruncated, false);
      assert.ok(pages === (DIRS * PER_DIR) / 1000 || pages === (DIRS * PER_DIR) / 1000 + 1, `${pages} pages`);
      // The listings of this bucket's objects (the driver's sweeps list other prefixes meanwhile).
      // None asks the store for more than the 1,000 entries it answers at most: asking 1,001 made
      // every full page a second listing for the one entry after it (18 listings for 9 pages). An
      // RGW whose bucket index is sharded may still answer short pages, which are followed.
      const objectsPrefix = `prefix=${encodeURIComponent(`${new URL(store.storage).pathname.slice(1)}/b/dirs/o/`)}`;
      const listings = recorder.log
        .slice(from)
        .filter((r) => r.method === 'GET' && /(^|&)list-type=2(&|$)/.test(r.query) && r.query.includes(objectsPrefix));
      const asked = listings.map((r) => Number(/(?:^|&)max-keys=(\d+)/.exec(r.query)?.[1] ?? NaN));
      assert.ok(
        asked.every((n) => n <= 1000),
        `max-keys asked of the store: ${asked.join(', ')}`,
      );
      assert.ok(listings.length >= pages && listings.length <= 2 * pages, `${listings.length} store listings for ${pages} pages`);
    });

    it('answers exactly 1,000 remaining keys in one page marked not truncated, and 1,001 in a truncated one', async () => {
      const client = s3(server);
      const all = Array.from({ length: DIRS * PER_DIR }, (_, i) => keyOf(i)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const [remaining, truncated] of [
        [1000, false],
        [1001, true],
        [999, false],
      ] as const) {
        const startAfter = all[all.length - remaining - 1]!;
        const page = await client.send(new ListObjectsV2Command({ Bucket: 'dirs', MaxKeys: 1000, StartAfter: startAfter }));
        const got = (page.Contents ?? []).map((o) => o.Key ?? '');
        assert.deepEqual(got, all.slice(all.length - remaining, all.length - remaining + 1000), `after ${startAfter}`);
        assert.equal(page.IsTruncated === true, truncated, `${remaining} remaining: IsTruncated ${String(page.IsTruncated)}`);
      }
      client.destroy();
    });
  },
);
