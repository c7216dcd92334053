/**
 * Mirroring back-to-origin end to end (spec §3): a real origin HTTP server on 127.0.0.1, a real
 * Osprey, plain HTTP clients.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored, xmlField } from '../helpers/raw.ts';
import { fillMark, until } from '../helpers/wait.ts';

interface Origin {
  url: string;
  hits: Map<string, number>;
  close(): void;
}

const BIG = Buffer.alloc(3 * 1024 * 1024 + 7);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7) & 0xff;

async function startOrigin(): Promise<Origin> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(p, (hits.get(p) ?? 0) + 1);
    if (p === '/files/a.txt') {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'cache-control': 'max-age=60',
        'x-oss-meta-owner': 'origin',
        'content-length': '21',
        'access-control-allow-origin': '*',
      });
      res.end('hello from the origin');
    } else if (p === '/files/chunked.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one, ');
      setTimeout(() => res.end('part two'), 20);
    } else if (p === '/files/slow.bin') {
      // ~600 ms for 3 MiB, in pieces
      res.writeHead(200, { 'content-length': String(BIG.length), 'content-type': 'application/octet-stream' });
      let off = 0;
      const tick = () => {
        if (off >= BIG.length) return res.end();
        res.write(BIG.subarray(off, off + 256 * 1024));
        off += 256 * 1024;
        setTimeout(tick, 40);
      };
      tick();
    } else if (p === '/files/stall.bin') {
      // sends a little, then nothing: the idle-body timeout must fire
      res.writeHead(200, { 'content-length': '50000' });
      res.write(Buffer.alloc(1000, 2));
    } else if (p === '/files/liar.bin') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(40000, 1));
      setTimeout(() => res.destroy(), 30);
    } else if (p === '/files/broken.bin') {
      res.writeHead(500);
      res.end('boom');
    } else if (p === '/files/md5-good.txt' || p === '/files/md5-bad.txt') {
      const body = Buffer.from('checked by its MD5');
      const md5 = createHash('md5')
        .update(p === '/files/md5-good.txt' ? body : 'something else')
        .digest('base64');
      res.writeHead(200, { 'content-length': String(body.length), 'content-md5': md5 });
      res.end(body);
    } else if (p === '/files/moved.txt') {
      res.writeHead(301, { location: '/files/a.txt' });
      res.end();
    } else if (p === '/files/loop') {
      res.writeHead(302, { location: '/files/loop' });
      res.end();
    } else if (p === '/files/dated.txt') {
      res.writeHead(200, {
        'content-length': '5',
        'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT',
        'x-oss-meta-source': 'old-site',
        'x-amz-meta-kind': 'doc',
      });
      res.end('dated');
    } else if (p === '/files/dir/space name.txt') {
      res.end('encoded ok');
    } else {
      res.writeHead(404);
      res.end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/`, hits, close: () => server.close() };
}

function website(originUrl: string, more = ''): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL>${more}</Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

describe('mirroring back-to-origin', () => {
  let server: TestServer;
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
    server = await startOsprey();
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/mirror-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    const r = await rawSigned(server.url, { method: 'PUT', path: '/mirror-bucket', query: { website: '' }, body: website(origin.url) });
    assert.equal(r.status, 200, r.body);
  });
  after(async () => {
    await server.close();
    origin.close();
  });

  it('MIR-01 MIR-02 MIR-26 MIR-34 MIR-35 the first GET pulls, streams and stores; later GETs never touch the origin', async () => {
    const first = await fetch(`${server.url}/mirror-bucket/a.txt`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'hello from the origin');
    assert.equal(first.headers.get('x-oss-tag'), `MIRROR ${origin.url}a.txt`);
    assert.equal(first.headers.get('cache-control'), 'max-age=60');
    await untilStored(server.url, '/mirror-bucket/a.txt');
    for (let i = 0; i < 3; i++) {
      const again = await fetch(`${server.url}/mirror-bucket/a.txt`);
      assert.equal(await again.text(), 'hello from the origin');
      assert.equal(again.headers.get('x-oss-tag'), `MIRROR ${origin.url}a.txt`);
      assert.equal(again.headers.get('access-control-allow-origin'), '*', 'MIR-26 the stored CORS header is returned');
      assert.equal(again.headers.get('etag'), `"${createHash('md5').update('hello from the origin').digest('hex')}"`);
    }
    assert.equal(origin.hits.get('/files/a.txt'), 1);
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/mirror-bucket/a.txt' });
    assert.equal(head.headers['content-type'], 'text/plain');
    assert.equal(head.headers['x-amz-meta-owner'], undefined, 'MIR-27 origin metadata is not kept without MirrorSaveOssMeta');
  });

  it('MIR-23 MirrorCheckMd5: a body that matches the origin Content-MD5 is stored; a mismatch is cut and never stored', async () => {
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/md5-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    const r = await rawSigned(server.url, {
      method: 'PUT',
      path: '/md5-bucket',
      query: { website: '' },
      body: website(origin.url, '<MirrorCheckMd5>true</MirrorCheckMd5>'),
    });
    assert.equal(r.status, 200, r.body);
    const good = await fetch(`${server.url}/md5-bucket/md5-good.txt`);
    assert.equal(await good.text(), 'checked by its MD5');
    await untilStored(server.url, '/md5-bucket/md5-good.txt');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/md5-bucket/md5-good.txt' })).status, 200);
    const ended = await fillMark(server.url, 'md5-bucket');
    const bad = await fetch(`${server.url}/md5-bucket/md5-bad.txt`)
      .then(async (res) => ({ status: res.status, body: await res.text() }))
      .catch((err: unknown) => err);
    assert.ok(bad instanceof Error, `the client must not get a clean answer: ${JSON.stringify(bad)}`);
    assert.deepEqual(await ended.wait(), { failed: 1 }, 'the fill is over, and failed');
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/md5-bucket/md5-bad.txt' })).status, 404, 'nothing stored');
  });

  it('MIR-20 a chunked origin answer reaches the client chunked', async () => {
    const r = await fetch(`${server.url}/mirror-bucket/chunked.txt`);
    assert.equal(await r.text(), 'part one, part two');
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
  });

  it('MIR-05 keys are percent-encoded for the origin', async () => {
    const r = await fetch(`${server.url}/mirror-bucket/dir/space%20name.txt`);
    assert.equal(await r.text(), 'encoded ok');
  });

  it('MIR-16 origin 404 -> NoSuchKey; 500 -> 424 MirrorFailed; redirects followed; a loop fails', async () => {
    const missing = await fetch(`${server.url}/mirror-bucket/nothing.txt`);
    assert.equal(missing.status, 404);
    assert.equal(xmlField(await missing.text(), 'Code'), 'NoSuchKey');
    const broken = await fetch(`${server.url}/mirror-bucket/broken.bin`);
    assert.equal(broken.status, 424);
    const body = await broken.text();
    assert.equal(xmlField(body, 'Code'), 'MirrorFailed');
    assert.match(xmlField(body, 'Message') ?? '', /answered 500/);
    const moved = await fetch(`${server.url}/mirror-bucket/moved.txt`);
    assert.equal(await moved.text(), 'hello from the origin');
    const loop = await fetch(`${server.url}/mirror-bucket/loop`);
    assert.equal(loop.status, 424);
    assert.match(xmlField(await loop.text(), 'Message') ?? '', /redirected more than 10 times/);
    const listed = await rawSigned(server.url, { path: '/mirror-bucket', query: { 'list-type': '2', prefix: 'broken' } });
    assert.match(listed.body, /<KeyCount>0<\/KeyCount>/);
  });

  it('MIR-22 an origin that dies mid-body aborts the client and stores nothing; the next GET tries again', async () => {
    const ended = await fillMark(server.url, 'mirror-bucket');
    await assert.rejects(async () => {
      const r = await fetch(`${server.url}/mirror-bucket/liar.bin`);
      await r.arrayBuffer();
    });
    assert.deepEqual(await ended.wait(), { failed: 1 }, 'the fill is over, and failed');
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/mirror-bucket/liar.bin' });
    assert.notEqual(head.status, 200);
    const before = origin.hits.get('/files/liar.bin') ?? 0;
    await assert.rejects(async () => (await fetch(`${server.url}/mirror-bucket/liar.bin`)).arrayBuffer());
    assert.equal(origin.hits.get('/files/liar.bin'), before + 1);
  });

  it('MIR-41 a hundred concurrent GETs of one missing key: one origin fetch, a hundred identical bodies', async () => {
    const want = createHash('md5').update(BIG).digest('hex');
    const bodies = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 3));
        const r = await fetch(`${server.url}/mirror-bucket/slow.bin`);
        assert.equal(r.status, 200);
        return createHash('md5')
          .update(Buffer.from(await r.arrayBuffer()))
          .digest('hex');
      }),
    );
    assert.deepEqual(new Set(bodies), new Set([want]));
    assert.equal(origin.hits.get('/files/slow.bin'), 1);
  });

  it('MIR-21 a Range GET of a missing key gets its 206 while the whole object is stored', async () => {
    await rawSigned(server.url, { method: 'DELETE', path: '/mirror-bucket/a.txt' });
    const ranged = await fetch(`${server.url}/mirror-bucket/a.txt`, { headers: { range: 'bytes=6-9' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), 'bytes 6-9/21');
    assert.equal(await ranged.text(), 'from');
    await untilStored(server.url, '/mirror-bucket/a.txt');
    const whole = await rawSigned(server.url, { path: '/mirror-bucket/a.txt' });
    assert.equal(whole.body, 'hello from the origin');
  });

  it('MIR-18 an origin that stalls mid-body: the idle timeout aborts the client, nothing is stored', async () => {
    const quick = await startOsprey({ mirrorIdleTimeoutMs: 500, mirrorTimeoutMs: 2000 });
    try {
      assert.equal(
        (await rawSigned(quick.url, { method: 'PUT', path: '/stall-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      assert.equal(
        (await rawSigned(quick.url, { method: 'PUT', path: '/stall-bucket', query: { website: '' }, body: website(origin.url) })).status,
        200,
      );
      const ended = await fillMark(quick.url, 'stall-bucket');
      const started = Date.now();
      await assert.rejects(async () => (await fetch(`${quick.url}/stall-bucket/stall.bin`)).arrayBuffer());
      assert.ok(Date.now() - started < 5000, 'gave up within the idle timeout');
      assert.deepEqual(await ended.wait(), { failed: 1 }, 'the fill is over, and failed');
      const head = await rawSigned(quick.url, { method: 'HEAD', path: '/stall-bucket/stall.bin' });
      assert.notEqual(head.status, 200);
    } finally {
      await quick.close();
    }
  });

  it('MIR-45 HEAD with MirrorAllowHeadObject asks the origin with HEAD and stores nothing', async () => {
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/head-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    assert.equal(
      (
        await rawSigned(server.url, {
          method: 'PUT',
          path: '/head-bucket',
          query: { website: '' },
          body: website(origin.url, '<MirrorAllowHeadObject>true</MirrorAllowHeadObject>'),
        })
      ).status,
      200,
    );
    const before = origin.hits.get('/files/a.txt') ?? 0;
    const r = await fetch(`${server.url}/head-bucket/a.txt`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain');
    assert.equal(r.headers.get('content-length'), '21');
    assert.equal(origin.hits.get('/files/a.txt'), before + 1);
    const gone = await fetch(`${server.url}/head-bucket/nothing.txt`, { method: 'HEAD' });
    assert.equal(gone.status, 404);
    const list = await rawSigned(server.url, { path: '/head-bucket', query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/);
  });

  it('MIR-47 MirrorAsyncStatus answers at once and stores in the background', async () => {
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/async-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    assert.equal(
      (
        await rawSigned(server.url, {
          method: 'PUT',
          path: '/async-bucket',
          query: { website: '' },
          body: website(origin.url, '<MirrorAsyncStatus>302</MirrorAsyncStatus>'),
        })
      ).status,
      200,
    );
    const r = await fetch(`${server.url}/async-bucket/a.txt`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `${origin.url}a.txt`);
    await until(async () => (await rawSigned(server.url, { method: 'HEAD', path: '/async-bucket/a.txt' })).status === 200, {
      what: 'the object to be stored in the background',
    });
  });

  it('MIR-44 beyond the per-origin limit: 424 "Mirror request is rejected by QoS"', async () => {
    const limited = await startOsprey({ mirrorMaxPerOrigin: 1 });
    try {
      assert.equal(
        (await rawSigned(limited.url, { method: 'PUT', path: '/qos-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      assert.equal(
        (await rawSigned(limited.url, { method: 'PUT', path: '/qos-bucket', query: { website: '' }, body: website(origin.url) })).status,
        200,
      );
      const ended = await fillMark(limited.url, 'qos-bucket');
      const slowFill = fetch(`${limited.url}/qos-bucket/slow.bin`).then((r) => r.arrayBuffer());
      // the fill is under way (its client has the headers): the origin's one slot is taken
      await until(async () => /^osprey_mirror_fills_in_progress 1$/m.test(await (await fetch(`${limited.url}/-/metrics`)).text()), {
        what: 'the slow fill to start',
      });
      const rejected = await fetch(`${limited.url}/qos-bucket/a.txt`);
      assert.equal(rejected.status, 424);
      assert.equal(xmlField(await rejected.text(), 'Message'), 'Mirror request is rejected by QoS');
      assert.equal((await slowFill).byteLength, BIG.length);
      // the rejection and the slow fill have both ended: the origin takes new fills again
      assert.deepEqual(await ended.wait(2), { qos: 1, stored: 1 });
      const again = await fillMark(limited.url, 'qos-bucket');
      const after = await fetch(`${limited.url}/qos-bucket/a.txt`);
      assert.equal(after.status, 200);
      assert.equal(await after.text(), 'hello from the origin');
      assert.deepEqual(await again.wait(), { stored: 1 });
    } finally {
      await limited.close();
    }
  });

  it('MIR-15 MirrorAuth signs origin requests: mirroring from a private bucket of another S3 store', async () => {
    const source = await startOsprey();
    try {
      assert.equal((await rawSigned(source.url, { method: 'PUT', path: '/private-src' })).status, 200);
      assert.equal((await rawSigned(source.url, { method: 'PUT', path: '/private-src/deep/file.txt', body: 'private bytes' })).status, 200);
      assert.equal((await fetch(`${source.url}/private-src/deep/file.txt`)).status, 403, 'the source is private');
      const auth = `<MirrorAuth><AccessKeyId>${source.accessKeyId}</AccessKeyId><AccessKeySecret>${source.secretAccessKey}</AccessKeySecret><AuthType>s3v4</AuthType><Region>us-east-1</Region></MirrorAuth>`;
      assert.equal(
        (await rawSigned(server.url, { method: 'PUT', path: '/auth-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: '/auth-bucket',
            query: { website: '' },
            body: website(`${source.url}/private-src/`, auth),
          })
        ).status,
        200,
      );
      const r = await fetch(`${server.url}/auth-bucket/deep/file.txt`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'private bytes');
      const masked = await rawSigned(server.url, { path: '/auth-bucket', query: { website: '' } });
      assert.doesNotMatch(masked.body, new RegExp(source.secretAccessKey));
    } finally {
      await source.close();
    }
  });

  it('MIR-42 a PUT or a DELETE of the key during a fill wins', async () => {
    for (const bucket of ['race-put', 'race-del']) {
      assert.equal(
        (await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      assert.equal(
        (await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website(origin.url) })).status,
        200,
      );
    }
    const putEnded = await fillMark(server.url, 'race-put');
    const hits1 = origin.hits.get('/files/slow.bin') ?? 0;
    const fill1 = fetch(`${server.url}/race-put/slow.bin`).then((r) => r.arrayBuffer());
    // the fill has its origin answer and is streaming (3 MiB over ~500 ms) when the PUT lands
    await until(() => (origin.hits.get('/files/slow.bin') ?? 0) > hits1, { what: 'the fill to reach the origin' });
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/race-put/slow.bin', body: 'written meanwhile' })).status, 200);
    assert.equal((await fill1).byteLength, BIG.length, 'the client of the fill still gets the origin bytes');
    const putEndedOutcome = await putEnded.wait();
    // the fill has ended without storing: 'proxied' (the embedded store saw the write first) or 'failed' (the S3 store refused the create-only PUT: reason overwritten)
    assert.equal(putEndedOutcome.stored, undefined, JSON.stringify(putEndedOutcome));
    assert.equal((await rawSigned(server.url, { path: '/race-put/slow.bin' })).body, 'written meanwhile');

    const delEnded = await fillMark(server.url, 'race-del');
    const hits2 = origin.hits.get('/files/slow.bin') ?? 0;
    const fill2 = fetch(`${server.url}/race-del/slow.bin`).then((r) => r.arrayBuffer());
    await until(() => (origin.hits.get('/files/slow.bin') ?? 0) > hits2, { what: 'the fill to reach the origin' });
    assert.equal((await rawSigned(server.url, { method: 'DELETE', path: '/race-del/slow.bin' })).status, 204);
    await fill2;
    const delEndedOutcome = await delEnded.wait();
    // the fill has ended without storing: 'proxied' (the embedded store saw the write first) or 'failed' (the S3 store refused the create-only PUT: reason overwritten)
    assert.equal(delEndedOutcome.stored, undefined, JSON.stringify(delEndedOutcome));
    const list = await rawSigned(server.url, { path: '/race-del', query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/, 'the delete won: nothing stored');
  });

  it('MIR-28 MIR-27 MirrorUserLastModified keeps the origin date; MirrorSaveOssMeta keeps its metadata', async () => {
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/dated-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/plain-bucket', headers: { 'x-amz-acl': 'public-read' } })).status,
      200,
    );
    assert.equal(
      (
        await rawSigned(server.url, {
          method: 'PUT',
          path: '/dated-bucket',
          query: { website: '' },
          body: website(origin.url, '<MirrorUserLastModified>true</MirrorUserLastModified><MirrorSaveOssMeta>true</MirrorSaveOssMeta>'),
        })
      ).status,
      200,
    );
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/plain-bucket', query: { website: '' }, body: website(origin.url) })).status,
      200,
    );
    const datedEnded = await fillMark(server.url, 'dated-bucket');
    const plainEnded = await fillMark(server.url, 'plain-bucket');
    assert.equal(await (await fetch(`${server.url}/dated-bucket/dated.txt`)).text(), 'dated');
    assert.equal(await (await fetch(`${server.url}/plain-bucket/dated.txt`)).text(), 'dated');
    assert.deepEqual(await datedEnded.wait(), { stored: 1 });
    assert.deepEqual(await plainEnded.wait(), { stored: 1 });
    const dated = await rawSigned(server.url, { method: 'HEAD', path: '/dated-bucket/dated.txt' });
    assert.equal(dated.headers['last-modified'], 'Wed, 01 Jan 2020 00:00:00 GMT');
    assert.equal(dated.headers['x-amz-meta-source'], 'old-site');
    assert.equal(dated.headers['x-amz-meta-kind'], 'doc');
    const plain = await rawSigned(server.url, { method: 'HEAD', path: '/plain-bucket/dated.txt' });
    assert.notEqual(plain.headers['last-modified'], 'Wed, 01 Jan 2020 00:00:00 GMT', 'MIR-28 by default the commit time');
    assert.equal(plain.headers['x-amz-meta-source'], undefined);
  });

  it('SSRF: without an allow-list a loopback origin is refused at configuration time', async () => {
    const strict = await startOsprey({ originAllow: [] });
    try {
      assert.equal((await rawSigned(strict.url, { method: 'PUT', path: '/strict-bucket' })).status, 200);
      const r = await rawSigned(strict.url, { method: 'PUT', path: '/strict-bucket', query: { website: '' }, body: website(origin.url) });
      assert.equal(r.status, 400);
      assert.match(xmlField(r.body, 'Message') ?? '', /loopback/);
      const meta = await rawSigned(strict.url, {
        method: 'PUT',
        path: '/strict-bucket',
        query: { website: '' },
        body: website('http://169.254.169.254/latest/'),
      });
      assert.equal(meta.status, 400);
    } finally {
      await strict.close();
    }
  });
});
