/**
 * Issue #7: two stateless Osprey nodes on one Ceph RGW. What is written through one node is read
 * through the other (objects, metadata, buckets, ACLs, multipart uploads in progress); a rules
 * or ACL change through one takes effect on the other within 1 s; a herd of GETs for one missing
 * key spread over both nodes fetches it from the origin once. Also: a store that cannot be used
 * stops `osprey serve` with one line and exit code 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { sharedCeph } from '../helpers/ceph.ts';
import type { Ceph } from '../helpers/ceph.ts';
import { ROOT, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const ceph = sharedCeph();
after(() => ceph.stop());

const STORE_BUCKET = 'osprey-multinode';
/** unique per run: a cluster given with OSPREY_TEST_CEPH may hold earlier runs' data */
const PREFIX = `shared-${Date.now().toString(36)}`;

async function twoNodes(c: Ceph, prefix: string): Promise<[TestServer, TestServer]> {
  const settings = {
    storage: `s3://${STORE_BUCKET}/${prefix}`,
    storageEndpoint: c.endpoint,
    storageAccessKeyId: c.accessKeyId,
    storageSecretAccessKey: c.secretAccessKey,
  };
  return [await startOsprey(settings), await startOsprey(settings)];
}

function store(c: Ceph): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** poll `probe` until it holds; resolves with the time it took (ms) */
async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) assert.fail(`not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function redirectRules(host: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>${host}</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

describe('several nodes on one store', () => {
  let c: Ceph;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    c = await ceph.get();
    [a, b] = await twoNodes(c, PREFIX);
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('a write through one node is read through the other: buckets, objects with metadata, listings, multipart', async () => {
    assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/mnode' })).status, 200);
    assert.equal((await rawSigned(b.url, { method: 'HEAD', path: '/mnode' })).status, 200);
    assert.equal(
      (await rawSigned(b.url, { method: 'PUT', path: '/mnode', headers: { 'x-amz-acl': 'public-read' } })).status,
      409,
      'BucketAlreadyExists on the other node too',
    );
    assert.match((await rawSigned(b.url, { path: '/' })).body, /<Name>mnode<\/Name>/);
    const put = await rawSigned(a.url, {
      method: 'PUT',
      path: '/mnode/dir/hello.txt',
      body: 'hello, node b',
      headers: { 'content-type': 'text/plain', 'x-amz-meta-colour': 'blue', 'cache-control': 'max-age=5' },
    });
    assert.equal(put.status, 200);
    const got = await rawSigned(b.url, { path: '/mnode/dir/hello.txt' });
    assert.deepEqual(
      [got.status, got.body, got.headers['content-type'], got.headers['x-amz-meta-colour'], got.headers['cache-control'], got.headers.etag],
      [200, 'hello, node b', 'text/plain', 'blue', 'max-age=5', put.headers.etag],
    );
    const list = await rawSigned(b.url, { path: '/mnode', query: { 'list-type': '2', prefix: 'dir/' } });
    assert.equal(xmlField(list.body, 'Key'), 'dir/hello.txt');
    // a multipart upload started on one node, continued and completed on the other
    const created = await rawSigned(a.url, { method: 'POST', path: '/mnode/big', query: { uploads: '' } });
    const uploadId = xmlField(created.body, 'UploadId') ?? '';
    const part1 = Buffer.alloc(5 * 1024 * 1024, 'x');
    const p1 = await rawSigned(b.url, { method: 'PUT', path: '/mnode/big', query: { partNumber: '1', uploadId }, body: part1 });
    const p2 = await rawSigned(a.url, { method: 'PUT', path: '/mnode/big', query: { partNumber: '2', uploadId }, body: 'tail' });
    assert.match((await rawSigned(a.url, { path: '/mnode', query: { uploads: '' } })).body, new RegExp(uploadId));
    const done = await rawSigned(b.url, {
      method: 'POST',
      path: '/mnode/big',
      query: { uploadId },
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${p1.headers.etag}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${p2.headers.etag}</ETag></Part></CompleteMultipartUpload>`,
    });
    assert.equal(done.status, 200, done.body);
    const whole = await fetch(`${a.url}/mnode/big`, { headers: await rawSignedHeaders(a.url, '/mnode/big') });
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(bytes.length, part1.length + 4);
    assert.equal(
      createHash('md5').update(bytes).digest('hex'),
      createHash('md5')
        .update(Buffer.concat([part1, Buffer.from('tail')]))
        .digest('hex'),
    );
  });

  it('an ACL change and a rules change through one node take effect on the other within 1 s', async () => {
    assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/cfg' })).status, 200);
    await rawSigned(a.url, { method: 'PUT', path: '/cfg/page.html', body: '<p>hi</p>' });
    // node b has the bucket's ACL and rules in its cache already
    assert.equal((await fetch(`${b.url}/cfg/page.html`)).status, 403);
    assert.equal(
      (await rawSigned(a.url, { method: 'PUT', path: '/cfg', query: { acl: '' }, headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    const aclMs = await within(2000, async () => (await fetch(`${b.url}/cfg/page.html`)).status === 200);
    assert.ok(aclMs <= 1100, `ACL seen after ${aclMs} ms`);

    assert.equal(
      (await rawSigned(a.url, { method: 'PUT', path: '/cfg', query: { website: '' }, body: redirectRules('one.example.com') })).status,
      200,
    );
    const first = await within(
      2000,
      async () =>
        (await fetch(`${b.url}/cfg/missing`, { redirect: 'manual' })).headers.get('location')?.includes('one.example.com') === true,
    );
    assert.ok(first <= 1100, `rules seen after ${first} ms`);
    assert.equal(
      (await rawSigned(a.url, { method: 'PUT', path: '/cfg', query: { website: '' }, body: redirectRules('two.example.com') })).status,
      200,
    );
    const changed = await within(
      2000,
      async () =>
        (await fetch(`${b.url}/cfg/missing`, { redirect: 'manual' })).headers.get('location')?.includes('two.example.com') === true,
    );
    assert.ok(changed <= 1100, `rules change seen after ${changed} ms`);
  });

  it('100 concurrent GETs of one missing key spread over 2 nodes: one origin fetch, one stored copy, 100 identical bodies', async () => {
    const body = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    let hits = 0;
    const origin = http.createServer((req, res) => {
      hits++;
      // about 1 s for the whole body: the herd arrives while the fill runs
      res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
      let off = 0;
      const tick = () => {
        if (off >= body.length) return void res.end();
        res.write(body.subarray(off, off + 128 * 1024));
        off += 128 * 1024;
        setTimeout(tick, 110);
      };
      tick();
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    try {
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
      assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/herd', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
      const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
        <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      assert.equal((await rawSigned(a.url, { method: 'PUT', path: '/herd', query: { website: '' }, body: rules })).status, 200);
      await new Promise((r) => setTimeout(r, 1100)); // both nodes see the rules
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const res = await fetch(`${(i % 2 ? a : b).url}/herd/video.bin`);
          return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
        }),
      );
      const md5 = createHash('md5').update(body).digest('hex');
      if (process.env.OSPREY_TEST_VERBOSE) console.log(`herd: ${Date.now() - t0} ms, ${hits} origin fetches`);
      assert.deepEqual(
        results.map((r) => r.status),
        Array(100).fill(200),
      );
      assert.ok(
        results.every((r) => createHash('md5').update(r.body).digest('hex') === md5),
        'every body complete and identical',
      );
      assert.ok(hits <= 2, `origin fetched ${hits} times`);
      assert.equal(hits, 1, 'the store arbitrated: one fetch');
      // exactly one stored copy, nothing left over
      const s = store(c);
      const keys = (await s.send(new ListObjectsV2Command({ Bucket: STORE_BUCKET, Prefix: `${PREFIX}/b/herd/o/` }))).Contents?.map(
        (o) => o.Key,
      );
      assert.deepEqual(keys, [`${PREFIX}/b/herd/o/video.bin`]);
      assert.deepEqual(
        (await s.send(new ListMultipartUploadsCommand({ Bucket: STORE_BUCKET, Prefix: `${PREFIX}/b/herd/` }))).Uploads ?? [],
        [],
      );
      const again = await fetch(`${b.url}/herd/video.bin`);
      assert.equal(
        createHash('md5')
          .update(Buffer.from(await again.arrayBuffer()))
          .digest('hex'),
        md5,
      );
      assert.equal(hits, 1, 'later GETs are served from the store');
    } finally {
      origin.close();
    }
  });
});

/** the signed headers of a GET, for fetch() */
async function rawSignedHeaders(base: string, p: string): Promise<Record<string, string>> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const { ACCESS_KEY, SECRET_KEY } = await import('../helpers/osprey.ts');
  const url = new URL(base);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: p,
    query: {},
    headers: { host: url.host },
  });
  return signed.headers as Record<string, string>;
}

describe('a store that cannot be used at start', () => {
  it('one line naming the problem, exit code 2', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'src/main.ts'),
        'serve',
        '--address',
        '127.0.0.1:0',
        '--storage',
        's3://nowhere',
        '--storage-endpoint',
        'http://127.0.0.1:1',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          OSPREY_STORAGE_ACCESS_KEY_ID: 'k',
          OSPREY_STORAGE_SECRET_ACCESS_KEY: 'secret-key',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(
      stderr,
      /^osprey: invalid setting 'storage': cannot use s3:\/\/nowhere at http:\/\/127\.0\.0\.1:1: the store could not be reached \(ECONNREFUSED\)/,
    );
    const missing = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve', '--storage', 's3://nowhere', '--storage-endpoint', 'http://127.0.0.1:1'],
      {
        cwd: ROOT,
        env: { ...process.env, OSPREY_STORAGE_ACCESS_KEY_ID: '', OSPREY_STORAGE_SECRET_ACCESS_KEY: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err2 = '';
    missing.stderr.on('data', (d: Buffer) => (err2 += d.toString()));
    assert.equal(await new Promise<number | null>((r) => missing.once('exit', r)), 2);
    assert.match(err2, /invalid setting 'storageAccessKeyId': the store's key pair is required/);
  });
});
