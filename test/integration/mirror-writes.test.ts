/**
 * MIR-42 whatever the front end (issue #16): a client write of a key beats a mirror fill of it in
 * progress. Every write goes through one path (service/objects.ts's writes, given the mirror
 * engine at construction); here the writes that are not a PutObject or DeleteObject: an S3
 * CompleteMultipartUpload and the console's, a CopyObject, a DeleteObjects. The fill must not
 * store, must end as "a write of the key won" (not as a failed fill, which metrics count as an
 * origin failure), and the key keeps the client's bytes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, SECRET_KEY, ON_S3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';
import { fillMark, until } from '../helpers/wait.ts';

const BIG = Buffer.alloc(3 * 1024 * 1024 + 7);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7) & 0xff;

interface Origin {
  url: string;
  hits: Map<string, number>;
  close(): void;
}

/** `/files/<anything>`: 3 MiB in 256 KiB pieces every 40 ms (~500 ms), so a write lands mid-fill. */
async function startOrigin(): Promise<Origin> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(p, (hits.get(p) ?? 0) + 1);
    res.writeHead(200, { 'content-length': String(BIG.length), 'content-type': 'application/octet-stream' });
    let off = 0;
    const tick = () => {
      if (off >= BIG.length) return res.end();
      res.write(BIG.subarray(off, off + 256 * 1024));
      off += 256 * 1024;
      setTimeout(tick, 40);
    };
    tick();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/`, hits, close: () => server.close() };
}

function website(originUrl: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

interface Console {
  cookie: string;
  csrf: string;
}

async function consoleSession(url: string): Promise<Console> {
  const r = await fetch(`${url}/-/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }),
  });
  assert.equal(r.status, 200);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { cookie, csrf: ((await r.json()) as { csrfToken: string }).csrfToken };
}

async function consoleCall(url: string, s: Console, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url}/-/console/api/${path}`, {
    method,
    headers: { cookie: s.cookie, 'x-osprey-csrf': s.csrf, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

describe('MIR-42 every write of a key beats a mirror fill of it in progress (issue #16)', () => {
  let server: TestServer;
  let origin: Origin;
  let s: Console;
  before(async () => {
    origin = await startOrigin();
    server = await startOsprey();
    s = await consoleSession(server.url);
  });
  after(async () => {
    await server.close();
    origin.close();
  });

  async function mirrorBucket(bucket: string): Promise<void> {
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website(origin.url) });
    assert.equal(r.status, 200, r.body);
  }

  /** Start the fill of bucket/key, run `write` once the origin is streaming, and check who won. */
  async function race(bucket: string, key: string, write: () => Promise<void>): Promise<void> {
    const ended = await fillMark(server.url, bucket);
    const hits = origin.hits.get(`/files/${key}`) ?? 0;
    const fill = fetch(`${server.url}/${bucket}/${key}`).then((r) => r.arrayBuffer());
    await until(() => (origin.hits.get(`/files/${key}`) ?? 0) > hits, { what: 'the fill to reach the origin' });
    await write();
    assert.equal((await fill).byteLength, BIG.length, 'the client of the fill still gets the origin bytes');
    const outcome = await ended.wait();
    assert.equal(outcome.stored, undefined, JSON.stringify(outcome));
    // the embedded store ends the fill as 'proxied'; the S3 driver's store PUT is torn down ('failed')
    if (!ON_S3) assert.deepEqual(outcome, { proxied: 1 }, 'the fill ended because a write won, not as a failed fill');
    const feed = (await (await consoleCall(server.url, s, 'GET', 'activity')).json()) as {
      recent: { bucket: string; key: string; reason?: string }[];
    };
    const mine = feed.recent.filter((f) => f.bucket === bucket && f.key === key).pop();
    assert.match(mine?.reason ?? '', /a write of the key won/, JSON.stringify(mine));
  }

  it('an S3 CompleteMultipartUpload during the fill wins', async () => {
    await mirrorBucket('mpu-s3');
    const init = await rawSigned(server.url, { method: 'POST', path: '/mpu-s3/big.bin', query: { uploads: '' } });
    assert.equal(init.status, 200, init.body);
    const uploadId = xmlField(init.body, 'UploadId') ?? '';
    const part = await rawSigned(server.url, {
      method: 'PUT',
      path: '/mpu-s3/big.bin',
      query: { partNumber: '1', uploadId },
      body: 'the multipart object',
    });
    assert.equal(part.status, 200, part.body);
    await race('mpu-s3', 'big.bin', async () => {
      const done = await rawSigned(server.url, {
        method: 'POST',
        path: '/mpu-s3/big.bin',
        query: { uploadId },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag ?? ''}</ETag></Part></CompleteMultipartUpload>`,
      });
      assert.equal(done.status, 200, done.body);
    });
    assert.equal((await rawSigned(server.url, { path: '/mpu-s3/big.bin' })).body, 'the multipart object');
  });

  it("the console's CompleteMultipartUpload during the fill wins", async () => {
    await mirrorBucket('mpu-console');
    const q = `key=${encodeURIComponent('big.bin')}`;
    const init = await consoleCall(server.url, s, 'POST', `buckets/mpu-console/uploads?${q}`);
    assert.equal(init.status, 200);
    const { uploadId } = (await init.json()) as { uploadId: string };
    const part = await fetch(`${server.url}/-/console/api/buckets/mpu-console/uploads/${uploadId}?${q}&part=1`, {
      method: 'PUT',
      headers: { cookie: s.cookie, 'x-osprey-csrf': s.csrf },
      body: 'the console upload',
    });
    assert.equal(part.status, 200);
    const { etag } = (await part.json()) as { etag: string };
    await race('mpu-console', 'big.bin', async () => {
      const done = await consoleCall(server.url, s, 'POST', `buckets/mpu-console/uploads/${uploadId}?${q}`, {
        parts: [{ partNumber: 1, etag }],
      });
      assert.equal(done.status, 200);
    });
    assert.equal((await rawSigned(server.url, { path: '/mpu-console/big.bin' })).body, 'the console upload');
  });

  it('a CopyObject onto the key during the fill wins', async () => {
    await mirrorBucket('copy-onto');
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/copy-onto/source.txt', body: 'copied bytes' })).status, 200);
    await race('copy-onto', 'big.bin', async () => {
      const r = await rawSigned(server.url, {
        method: 'PUT',
        path: '/copy-onto/big.bin',
        headers: { 'x-amz-copy-source': '/copy-onto/source.txt' },
      });
      assert.equal(r.status, 200, r.body);
    });
    assert.equal((await rawSigned(server.url, { path: '/copy-onto/big.bin' })).body, 'copied bytes');
  });

  it('a DeleteObjects naming the key during the fill wins', async () => {
    await mirrorBucket('batch-delete');
    await race('batch-delete', 'big.bin', async () => {
      const r = await rawSigned(server.url, {
        method: 'POST',
        path: '/batch-delete',
        query: { delete: '' },
        body: '<Delete><Object><Key>big.bin</Key></Object></Delete>',
      });
      assert.equal(r.status, 200, r.body);
    });
    const list = await rawSigned(server.url, { path: '/batch-delete', query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/, 'the delete won: nothing stored');
  });
});
