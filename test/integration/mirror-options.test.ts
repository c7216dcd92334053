/**
 * The Mirror rule options the README promises, each end to end: a real origin HTTP server on
 * 127.0.0.1, a real Osprey, real clients (fetch, node:http, the AWS SDK). Every "nothing was
 * stored" is checked after the fill has ENDED (test/helpers/wait.ts: the fill outcome counter of
 * /-/metrics), never after a pause.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';
import { getThenLeave } from '../helpers/streams.ts';
import { fillMark, until } from '../helpers/wait.ts';

interface Seen {
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Origin {
  base: string;
  routes: Map<string, Handler>;
  seen: Seen[];
  /** origin responses whose stream has closed (finished or torn down), by path */
  closed: Map<string, number>;
  hits(path: string): number;
  close(): Promise<void>;
}

async function startOrigin(): Promise<Origin> {
  const o: Origin = {
    base: '',
    routes: new Map(),
    seen: [],
    closed: new Map(),
    hits: (p) => o.seen.filter((s) => s.path === p).length,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    o.seen.push({ path: u.pathname, query: u.search, headers: req.headers });
    res.on('close', () => o.closed.set(u.pathname, (o.closed.get(u.pathname) ?? 0) + 1));
    const h = o.routes.get(u.pathname);
    if (h) return h(req, res);
    res.writeHead(404);
    res.end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  o.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  o.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return o;
}

function text(body: string, status = 200, headers: http.OutgoingHttpHeaders = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
}

/** `body` in pieces of `piece` bytes every `everyMs`, with or without a Content-Length. */
function trickle(body: Buffer, opts: { piece: number; everyMs: number; length: boolean }): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(opts.length && { 'content-length': body.length }) });
    let off = 0;
    const tick = () => {
      if (res.destroyed) return;
      if (off >= body.length) return void res.end();
      res.write(body.subarray(off, off + opts.piece));
      off += opts.piece;
      setTimeout(tick, opts.everyMs);
    };
    tick();
  };
}

function rule(mirrorUrl: string, more = ''): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${mirrorUrl}</MirrorURL>${more}</Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

async function bucketWith(server: TestServer, bucket: string, website: string): Promise<void> {
  assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
  const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website });
  assert.equal(r.status, 200, r.body);
}

async function stored(server: TestServer, path: string): Promise<number> {
  return (await rawSigned(server.url, { method: 'HEAD', path })).status;
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe('Mirror rule options end to end', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  before(async () => {
    origin = await startOrigin();
    server = await startOsprey();
    client = s3(server);
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it('MIR-32 MirrorProxyPass: served from the origin, never stored; every GET asks the origin again', async () => {
    origin.routes.set('/pp/doc.txt', text('passed through', 200, { 'cache-control': 'no-store' }));
    await bucketWith(server, 'opt-proxy', rule(`${origin.base}/pp/`, '<MirrorProxyPass>true</MirrorProxyPass>'));
    for (let i = 1; i <= 2; i++) {
      const mark = await fillMark(server.url, 'opt-proxy');
      const r = await fetch(`${server.url}/opt-proxy/doc.txt`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'passed through');
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await mark.wait(), { proxied: 1 });
      assert.equal(await stored(server, '/opt-proxy/doc.txt'), 404, 'nothing stored');
      assert.equal(origin.hits('/pp/doc.txt'), i);
    }
  });

  it('MIR-37 a primary 5xx fails over to MirrorURLSlave in the same request (the probe says the primary is up)', async () => {
    origin.routes.set('/health', text('ok'));
    origin.routes.set('/prim/f.txt', text('primary down', 503));
    origin.routes.set('/slave/f.txt', text('from the slave'));
    origin.routes.set('/prim/gone.txt', text('no', 404));
    origin.routes.set('/slave/gone.txt', text('must not be asked'));
    await bucketWith(
      server,
      'opt-failover',
      rule(
        `${origin.base}/prim/`,
        `<MirrorURLSlave>${origin.base}/slave/</MirrorURLSlave><MirrorURLProbe>${origin.base}/health</MirrorURLProbe>`,
      ),
    );
    const mark = await fillMark(server.url, 'opt-failover');
    const got = await client.send(new GetObjectCommand({ Bucket: 'opt-failover', Key: 'f.txt' }));
    assert.equal(await got.Body?.transformToString(), 'from the slave');
    assert.deepEqual(await mark.wait(), { stored: 1 });
    assert.equal(origin.hits('/prim/f.txt'), 1, 'the primary was tried first');
    assert.equal(origin.hits('/slave/f.txt'), 1);
    const again = await fetch(`${server.url}/opt-failover/f.txt`);
    assert.equal(await again.text(), 'from the slave');
    assert.equal(again.headers.get('x-oss-tag'), `MIRROR ${origin.base}/slave/f.txt`, 'the tag names the origin that served');
    // a primary 404 is final: no failover (MIR-37)
    const gone = await fetch(`${server.url}/opt-failover/gone.txt`);
    assert.equal(gone.status, 404);
    assert.equal(origin.hits('/slave/gone.txt'), 0);
  });

  it('MIR-37 MirrorSwitchAllErrors: a primary 403 fails over only with the flag', async () => {
    origin.routes.set('/p403/k.txt', text('forbidden', 403));
    origin.routes.set('/s403/k.txt', text('slave after a 403'));
    const more = (flag: boolean) =>
      `<MirrorURLSlave>${origin.base}/s403/</MirrorURLSlave><MirrorURLProbe>${origin.base}/health</MirrorURLProbe>${flag ? '<MirrorSwitchAllErrors>true</MirrorSwitchAllErrors>' : ''}`;
    await bucketWith(server, 'opt-switch-off', rule(`${origin.base}/p403/`, more(false)));
    await bucketWith(server, 'opt-switch-on', rule(`${origin.base}/p403/`, more(true)));
    const off = await fetch(`${server.url}/opt-switch-off/k.txt`);
    assert.equal(off.status, 424);
    assert.match(xmlField(await off.text(), 'Message') ?? '', /answered 403/);
    assert.equal(origin.hits('/s403/k.txt'), 0, 'without the flag a 403 is final');
    const on = await fetch(`${server.url}/opt-switch-on/k.txt`);
    assert.equal(on.status, 200);
    assert.equal(await on.text(), 'slave after a 403');
    assert.equal(origin.hits('/s403/k.txt'), 1);
  });

  it('MIR-39 alternates are tried after the slave, in ascending MirrorMultiAlternateNumber', async () => {
    origin.routes.set('/alt-p/x.txt', text('down', 500));
    origin.routes.set('/alt-s/x.txt', text('down too', 502));
    origin.routes.set('/alt-1/x.txt', text('from alternate 1'));
    origin.routes.set('/alt-2/x.txt', text('from alternate 2'));
    // listed 2 before 1: the number decides, not the order in the document
    const alternates = `<MirrorMultiAlternates>
      <MirrorMultiAlternate><MirrorMultiAlternateNumber>2</MirrorMultiAlternateNumber><MirrorMultiAlternateURL>${origin.base}/alt-2/</MirrorMultiAlternateURL></MirrorMultiAlternate>
      <MirrorMultiAlternate><MirrorMultiAlternateNumber>1</MirrorMultiAlternateNumber><MirrorMultiAlternateURL>${origin.base}/alt-1/</MirrorMultiAlternateURL></MirrorMultiAlternate>
    </MirrorMultiAlternates>`;
    await bucketWith(
      server,
      'opt-alt',
      rule(
        `${origin.base}/alt-p/`,
        `<MirrorURLSlave>${origin.base}/alt-s/</MirrorURLSlave><MirrorURLProbe>${origin.base}/health</MirrorURLProbe>${alternates}`,
      ),
    );
    const r = await fetch(`${server.url}/opt-alt/x.txt`);
    assert.equal(await r.text(), 'from alternate 1');
    const order = origin.seen.filter((s) => s.path.endsWith('/x.txt')).map((s) => s.path);
    assert.deepEqual(order, ['/alt-p/x.txt', '/alt-s/x.txt', '/alt-1/x.txt']);
  });

  it('TransparentMirrorResponseCodes: a listed origin status is passed through with its body; nothing stored', async () => {
    origin.routes.set('/tr/t.txt', text('origin says bad request', 400, { 'content-type': 'text/x-origin' }));
    origin.routes.set('/tr/u.txt', text('origin says teapot', 418));
    await bucketWith(
      server,
      'opt-transparent',
      rule(`${origin.base}/tr/`, '<TransparentMirrorResponseCodes>400,404</TransparentMirrorResponseCodes>'),
    );
    const mark = await fillMark(server.url, 'opt-transparent');
    const r = await fetch(`${server.url}/opt-transparent/t.txt`);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'text/x-origin');
    assert.equal(await r.text(), 'origin says bad request');
    assert.deepEqual(await mark.wait(), { passthrough: 1 });
    assert.equal(await stored(server, '/opt-transparent/t.txt'), 404);
    // 404 listed: the origin's own 404 body comes back (not Osprey's NoSuchKey)
    const nf = await fetch(`${server.url}/opt-transparent/missing.txt`);
    assert.equal(nf.status, 404);
    assert.equal(await nf.text(), 'not here');
    // a status not listed is still 424
    const other = await fetch(`${server.url}/opt-transparent/u.txt`);
    assert.equal(other.status, 424);
    assert.equal(xmlField(await other.text(), 'Code'), 'MirrorFailed');
  });

  it('MIR-17 MirrorFollowRedirect=false: the origin 3xx comes back as 302 with its Location, no x-oss-tag, nothing stored', async () => {
    origin.routes.set('/nf/moved.txt', (_req, res) => {
      res.writeHead(301, { location: '/elsewhere/moved.txt' });
      res.end();
    });
    origin.routes.set('/elsewhere/moved.txt', text('must not be fetched'));
    await bucketWith(server, 'opt-nofollow', rule(`${origin.base}/nf/`, '<MirrorFollowRedirect>false</MirrorFollowRedirect>'));
    const mark = await fillMark(server.url, 'opt-nofollow');
    const r = await fetch(`${server.url}/opt-nofollow/moved.txt`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `${origin.base}/elsewhere/moved.txt`);
    assert.equal(r.headers.get('x-oss-tag'), null);
    assert.deepEqual(await mark.wait(), { redirect: 1 });
    assert.equal(origin.hits('/elsewhere/moved.txt'), 0);
    assert.equal(await stored(server, '/opt-nofollow/moved.txt'), 404);
  });

  it('MIR-31 MirrorReturnHeaders: on the response that fetched and on every later GET (AWS SDK)', async () => {
    origin.routes.set('/rh/r.txt', text('with extra headers'));
    await bucketWith(
      server,
      'opt-return',
      rule(
        `${origin.base}/rh/`,
        '<MirrorReturnHeaders><ReturnHeader><Key>X-Served-By</Key><Value>osprey-mirror</Value></ReturnHeader><ReturnHeader><Key>Cache-Control</Key><Value>max-age=5</Value></ReturnHeader></MirrorReturnHeaders>',
      ),
    );
    const seen: string[] = [];
    const mark = await fillMark(server.url, 'opt-return');
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${server.url}/opt-return/r.txt`);
      assert.equal(await r.text(), 'with extra headers');
      seen.push(`${r.headers.get('x-served-by')}|${r.headers.get('cache-control')}`);
      if (i === 0) await mark.wait();
    }
    assert.deepEqual(seen, ['osprey-mirror|max-age=5', 'osprey-mirror|max-age=5']);
    const got = await client.send(new GetObjectCommand({ Bucket: 'opt-return', Key: 'r.txt' }));
    assert.equal(got.CacheControl, 'max-age=5');
    assert.equal(await got.Body?.transformToString(), 'with extra headers');
    assert.equal(origin.hits('/rh/r.txt'), 1);
  });

  it('MIR-10 MIR-14 no client header reaches the origin by default; Osprey names itself', async () => {
    origin.routes.set('/nh/a.txt', text('a'));
    await bucketWith(server, 'opt-noheaders', rule(`${origin.base}/nh/`));
    const r = await fetch(`${server.url}/opt-noheaders/a.txt`, {
      headers: { 'x-custom': 'secret', cookie: 'session=1', 'user-agent': 'curious-client', accept: 'text/html', 'accept-language': 'de' },
    });
    assert.equal(await r.text(), 'a');
    const h = origin.seen.find((s) => s.path === '/nh/a.txt')?.headers ?? {};
    for (const name of ['x-custom', 'cookie', 'accept', 'accept-language', 'range', 'authorization'])
      assert.equal(h[name], undefined, `${name} must not be forwarded`);
    assert.match(h['user-agent'] ?? '', /^osprey-mirror\//);
    assert.equal(h['accept-encoding'], 'identity');
  });

  it('MIR-11 MIR-12 MIR-13 MirrorHeaders: PassAll minus Remove, Set wins, reserved never; Pass alone passes only those', async () => {
    origin.routes.set('/mh/all.txt', text('all'));
    origin.routes.set('/mh2/some.txt', text('some'));
    await bucketWith(
      server,
      'opt-headers-all',
      rule(
        `${origin.base}/mh/`,
        '<MirrorHeaders><PassAll>true</PassAll><Remove>x-drop</Remove><Set><Key>x-set</Key><Value>configured</Value></Set></MirrorHeaders>',
      ),
    );
    await bucketWith(
      server,
      'opt-headers-pass',
      rule(
        `${origin.base}/mh2/`,
        '<MirrorHeaders><Pass>x-keep</Pass><Pass>x-oss-secret</Pass><Set><Key>x-set</Key><Value>configured</Value></Set></MirrorHeaders>',
      ),
    );
    const sent = {
      'x-keep': 'kept',
      'x-drop': 'dropped',
      'x-set': 'from-client',
      'x-other': 'other',
      'x-oss-secret': 's',
      range: 'bytes=0-0',
    };
    const all = await fetch(`${server.url}/opt-headers-all/all.txt`, { headers: sent });
    await all.arrayBuffer();
    const a = origin.seen.find((s) => s.path === '/mh/all.txt')?.headers ?? {};
    assert.equal(a['x-keep'], 'kept');
    assert.equal(a['x-other'], 'other');
    assert.equal(a['x-drop'], undefined, 'Remove');
    assert.equal(a['x-set'], 'configured', 'Set wins over the client');
    assert.equal(a['x-oss-secret'], undefined, 'x-oss-* is reserved');
    assert.equal(a.range, undefined, 'Range is reserved');
    const some = await fetch(`${server.url}/opt-headers-pass/some.txt`, { headers: sent });
    await some.arrayBuffer();
    const p = origin.seen.find((s) => s.path === '/mh2/some.txt')?.headers ?? {};
    assert.equal(p['x-keep'], 'kept');
    assert.equal(p['x-other'], undefined, 'not named in Pass');
    assert.equal(p['x-drop'], undefined);
    assert.equal(p['x-oss-secret'], undefined, 'reserved even when named in Pass');
    assert.equal(p['x-set'], 'configured');
  });

  it('MIR-07 MIR-08 MirrorPassQueryString: the query goes to the origin without signature parameters; not without the flag', async () => {
    origin.routes.set('/q/img.png', text('png'));
    origin.routes.set('/q2/img.png', text('png'));
    await bucketWith(server, 'opt-query', rule(`${origin.base}/q/`, '<MirrorPassQueryString>true</MirrorPassQueryString>'));
    await bucketWith(server, 'opt-noquery', rule(`${origin.base}/q2/`));
    // a presigned URL (AWS's own signer) with the client's parameters: its X-Amz-* ones must not reach the origin
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const host = new URL(server.url);
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: host.hostname,
        port: Number(host.port),
        path: '/opt-query/img.png',
        query: { w: '100', h: '50' },
        headers: { host: host.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: 300 },
    );
    const qs = Object.entries(presigned.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    assert.match(qs, /X-Amz-Signature=/);
    const r = await fetch(`${server.url}/opt-query/img.png?${qs}`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'png');
    assert.equal(origin.seen.find((s) => s.path === '/q/img.png')?.query, '?w=100&h=50');
    const plain = await fetch(`${server.url}/opt-noquery/img.png?w=100&h=50`);
    assert.equal(await plain.text(), 'png');
    assert.equal(origin.seen.find((s) => s.path === '/q2/img.png')?.query, '');
  });

  it('MIR-25 a client that leaves mid-fill does not stop it: the whole object is stored, the origin response is finished', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    origin.routes.set('/leave/big.bin', trickle(body, { piece: 128 * 1024, everyMs: 15, length: true }));
    await bucketWith(server, 'opt-leave', rule(`${origin.base}/leave/`));
    const mark = await fillMark(server.url, 'opt-leave');
    await getThenLeave(`${server.url}/opt-leave/big.bin`);
    assert.deepEqual(await mark.wait(), { stored: 1 });
    await until(() => origin.closed.get('/leave/big.bin') === 1, { what: 'the origin response to close' });
    const got = await rawSigned(server.url, { method: 'HEAD', path: '/opt-leave/big.bin' });
    assert.equal(got.status, 200);
    assert.equal(got.headers.etag, `"${md5(body)}"`, 'the stored object is the whole origin body');
    assert.equal(origin.hits('/leave/big.bin'), 1);
  });

  it('MIR-32 with MirrorProxyPass a client that leaves mid-fill: nothing stored, the fill ends and the origin response is released', async () => {
    const body = randomBytes(1536 * 1024);
    origin.routes.set('/leavepp/big.bin', trickle(body, { piece: 128 * 1024, everyMs: 15, length: true }));
    await bucketWith(server, 'opt-leave-pp', rule(`${origin.base}/leavepp/`, '<MirrorProxyPass>true</MirrorProxyPass>'));
    const mark = await fillMark(server.url, 'opt-leave-pp');
    await getThenLeave(`${server.url}/opt-leave-pp/big.bin`);
    assert.deepEqual(await mark.wait(), { proxied: 1 });
    await until(() => origin.closed.get('/leavepp/big.bin') === 1, { what: 'the origin response to close' });
    assert.equal(await stored(server, '/opt-leave-pp/big.bin'), 404);
    const metrics = await (await fetch(`${server.url}/-/metrics`)).text();
    assert.match(metrics, /^osprey_mirror_fills_in_progress 0$/m);
  });

  it('MIR-32 with MirrorProxyPass, once the last client has left the origin request is aborted (no egress or disk for nothing)', async () => {
    // 8 MiB in 64 KiB pieces every 25 ms: about 3 s to send it all; the client leaves after the first piece
    const body = randomBytes(8 * 1024 * 1024);
    let sent = 0;
    let finished: boolean | undefined;
    origin.routes.set('/abortpp/big.bin', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.on('close', () => (finished = res.writableFinished));
      const tick = () => {
        if (res.destroyed) return;
        if (sent >= body.length) return void res.end();
        res.write(body.subarray(sent, sent + 64 * 1024));
        sent += 64 * 1024;
        setTimeout(tick, 25);
      };
      tick();
    });
    await bucketWith(server, 'opt-abort-pp', rule(`${origin.base}/abortpp/`, '<MirrorProxyPass>true</MirrorProxyPass>'));
    const mark = await fillMark(server.url, 'opt-abort-pp');
    await getThenLeave(`${server.url}/opt-abort-pp/big.bin`);
    await until(() => finished !== undefined, { what: 'the origin response to close' });
    assert.equal(finished, false, `the origin response was closed early (sent ${sent} of ${body.length} bytes), not sent to its end`);
    assert.ok(sent < body.length);
    assert.deepEqual(await mark.wait(), { proxied: 1 });
    assert.equal(await stored(server, '/opt-abort-pp/big.bin'), 404);
  });

  it("MIR-27 the fill's own answer names origin metadata in the request's dialect, as every later GET does", async () => {
    origin.routes.set('/dialect/meta.txt', text('with metadata', 200, { 'x-oss-meta-owner': 'web', 'x-amz-meta-kind': 'doc' }));
    await bucketWith(server, 'opt-dialect', rule(`${origin.base}/dialect/`, '<MirrorSaveOssMeta>true</MirrorSaveOssMeta>'));
    const mark = await fillMark(server.url, 'opt-dialect');
    const first = await rawSigned(server.url, { path: '/opt-dialect/meta.txt' });
    assert.equal(first.status, 200, first.body);
    assert.equal(first.body, 'with metadata');
    assert.deepEqual(await mark.wait(), { stored: 1 });
    const later = await rawSigned(server.url, { path: '/opt-dialect/meta.txt' });
    assert.equal(later.status, 200);
    const meta = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => /^x-(amz|oss)-meta-/.test(k)));
    assert.deepEqual(meta(later.headers), { 'x-amz-meta-owner': 'web', 'x-amz-meta-kind': 'doc' }, 'a later S3 GET: x-amz-meta-*');
    assert.deepEqual(meta(first.headers), meta(later.headers), "the fill's own answer: the same names as a later GET");
  });

  it('MIR-03 MIR-04 the origin URL never leaves MirrorURL: a prefix replacement that leaves a ".." segment is refused', async () => {
    origin.routes.set('/public/img/a.txt', text('public a'));
    origin.routes.set('/secret.txt', text('not for the bucket'));
    origin.routes.set('/public/secret.txt', text('not for the bucket either'));
    // a prefix without its slash ('img', not 'img/'): the key 'img../secret.txt' becomes '../secret.txt'
    const website = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><KeyPrefixEquals>img</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.base}/public/img/</MirrorURL><EnableReplacePrefix>true</EnableReplacePrefix><ReplaceKeyPrefixWith></ReplaceKeyPrefixWith></Redirect>
    </RoutingRule></RoutingRules></WebsiteConfiguration>`;
    await bucketWith(server, 'opt-dots', website);
    const ok = await fetch(`${server.url}/opt-dots/imga.txt`);
    assert.equal(await ok.text(), 'public a');
    for (const key of ['img../secret.txt', 'img..', 'img.', 'img./a.txt']) {
      const r = await fetch(`${server.url}/opt-dots/${key}`);
      assert.equal(r.status, 424, `${key}: ${r.status}`);
      assert.match(xmlField(await r.text(), 'Message') ?? '', /'\.' or '\.\.' segment/);
    }
    assert.equal(origin.hits('/secret.txt'), 0, 'the origin was never asked outside MirrorURL');
    assert.equal(origin.hits('/public/secret.txt'), 0);
    assert.equal(origin.hits('/public/'), 0);
    assert.equal(origin.hits('/public/img/'), 0);
    assert.equal(origin.hits('/public/img/a.txt'), 1);
  });

  it('MIR-21 a Range GET of a missing key whose origin sends no Content-Length: the whole object (200), stored whole', async () => {
    const body = Buffer.from('0123456789abcdefghij'.repeat(1000));
    origin.routes.set('/nocl/r.bin', trickle(body, { piece: 4096, everyMs: 2, length: false }));
    await bucketWith(server, 'opt-range', rule(`${origin.base}/nocl/`));
    const mark = await fillMark(server.url, 'opt-range');
    const r = await fetch(`${server.url}/opt-range/r.bin`, { headers: { range: 'bytes=5-9' } });
    assert.equal(r.status, 200, 'the size is unknown: the whole object, as the README says');
    assert.equal(r.headers.get('content-range'), null);
    assert.equal(md5(Buffer.from(await r.arrayBuffer())), md5(body));
    assert.deepEqual(await mark.wait(), { stored: 1 });
    const ranged = await fetch(`${server.url}/opt-range/r.bin`, { headers: { range: 'bytes=5-9' } });
    assert.equal(ranged.status, 206, 'once stored, the range is served');
    assert.equal(await ranged.text(), '56789');
    assert.equal(origin.hits('/nocl/r.bin'), 1);
  });
});

describe('server settings that shape mirroring: --mirror-tag bare, --mirror-timeout, --max-object-size', () => {
  const LIMIT = 64 * 1024;
  const TIMEOUT = 600;
  let server: TestServer;
  let origin: Origin;
  const sockets = new Set<net.Socket>();
  let silent: net.Server;
  before(async () => {
    origin = await startOrigin();
    server = await startOsprey({ mirrorTag: 'bare', mirrorTimeoutMs: TIMEOUT, maxObjectSize: LIMIT });
    // accepts connections and never says a word: no TLS handshake, no HTTP response
    silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    await server.close();
    await origin.close();
  });

  it('MIR-34 --mirror-tag bare: x-oss-tag is just MIRROR, on the fill and on later GETs', async () => {
    origin.routes.set('/bare/t.txt', text('tagged'));
    await bucketWith(server, 'set-bare', rule(`${origin.base}/bare/`));
    const mark = await fillMark(server.url, 'set-bare');
    const first = await fetch(`${server.url}/set-bare/t.txt`);
    assert.equal(await first.text(), 'tagged');
    assert.equal(first.headers.get('x-oss-tag'), 'MIRROR');
    await mark.wait();
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/set-bare/t.txt' });
    assert.equal(head.headers['x-oss-tag'], 'MIRROR');
  });

  it('MIR-18 --mirror-timeout on connect: an origin that never completes the TLS handshake -> 424 in about the timeout', async () => {
    const port = (silent.address() as AddressInfo).port;
    await bucketWith(server, 'set-connect', rule(`https://127.0.0.1:${port}/`));
    const mark = await fillMark(server.url, 'set-connect');
    const t0 = Date.now();
    const r = await fetch(`${server.url}/set-connect/k.txt`);
    const ms = Date.now() - t0;
    assert.equal(r.status, 424);
    assert.match(xmlField(await r.text(), 'Message') ?? '', /connecting to the origin timed out/);
    assert.ok(ms >= TIMEOUT * 0.8 && ms < TIMEOUT + 4000, `answered after ${ms} ms (timeout ${TIMEOUT} ms)`);
    assert.deepEqual(await mark.wait(), { failed: 1 });
    assert.equal(await stored(server, '/set-connect/k.txt'), 404);
  });

  it('MIR-18 --mirror-timeout on headers: an origin that accepts and never answers -> 424 in about the timeout', async () => {
    const port = (silent.address() as AddressInfo).port;
    await bucketWith(server, 'set-headers', rule(`http://127.0.0.1:${port}/`));
    const t0 = Date.now();
    const r = await fetch(`${server.url}/set-headers/k.txt`);
    const ms = Date.now() - t0;
    assert.equal(r.status, 424);
    assert.match(xmlField(await r.text(), 'Message') ?? '', /did not answer in time/);
    assert.ok(ms >= TIMEOUT * 0.8 && ms < TIMEOUT + 4000, `answered after ${ms} ms (timeout ${TIMEOUT} ms)`);
  });

  it('--max-object-size: exactly the limit is stored; a declared larger size is 424; a larger chunked body is cut and not stored', async () => {
    const exact = randomBytes(LIMIT);
    const over = randomBytes(LIMIT + 1);
    origin.routes.set('/max/exact.bin', trickle(exact, { piece: 16 * 1024, everyMs: 1, length: true }));
    origin.routes.set('/max/declared.bin', trickle(over, { piece: 16 * 1024, everyMs: 1, length: true }));
    origin.routes.set('/max/chunked.bin', trickle(over, { piece: 16 * 1024, everyMs: 5, length: false }));
    await bucketWith(server, 'set-max', rule(`${origin.base}/max/`));
    let mark = await fillMark(server.url, 'set-max');
    const ok = await fetch(`${server.url}/set-max/exact.bin`);
    assert.equal(md5(Buffer.from(await ok.arrayBuffer())), md5(exact));
    assert.deepEqual(await mark.wait(), { stored: 1 });

    mark = await fillMark(server.url, 'set-max');
    const declared = await fetch(`${server.url}/set-max/declared.bin`);
    assert.equal(declared.status, 424);
    assert.match(xmlField(await declared.text(), 'Message') ?? '', new RegExp(`larger than ${LIMIT} bytes`));
    assert.deepEqual(await mark.wait(), { failed: 1 });
    assert.equal(await stored(server, '/set-max/declared.bin'), 404);

    mark = await fillMark(server.url, 'set-max');
    const cut = await fetch(`${server.url}/set-max/chunked.bin`)
      .then(async (r) => ({ status: r.status, n: (await r.arrayBuffer()).byteLength }))
      .catch((err: unknown) => err);
    assert.ok(cut instanceof Error, `the client must see the answer cut, never a clean end: ${JSON.stringify(cut)}`);
    assert.deepEqual(await mark.wait(), { failed: 1 });
    assert.equal(await stored(server, '/set-max/chunked.bin'), 404);
  });
});
