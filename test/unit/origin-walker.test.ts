/**
 * The origin walker (origin/walker): the one walk over a plan's origins used by mirror fills, the
 * mirror's HEAD and `osprey import` (spec §3.4, §3.8). Real HTTP origins on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { OriginProbes } from '../../src/origin/probe.ts';
import { ask as askOrigin, WalkAbort, walkOrigins } from '../../src/origin/walker.ts';
import type { OriginResponse, WalkOptions } from '../../src/origin/walker.ts';
import type { OriginRequest } from '../../src/rules/mirror-plan.ts';

/** One origin server: `routes` maps a path to [status, headers?]; every request is recorded. */
async function origin(
  routes: Record<string, [number, Record<string, string>?]>,
): Promise<{ base: string; seen: { method: string; path: string; headers: http.IncomingHttpHeaders }[]; close(): Promise<void> }> {
  const seen: { method: string; path: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const [status, headers] = routes[req.url ?? ''] ?? [404];
    res.writeHead(status, headers ?? {});
    res.end(status === 200 ? `body of ${req.url ?? ''}` : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (a server opened and closed). */
async function refusedBase(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const dispatcher = new Agent({ connect: { timeout: 5000 }, headersTimeout: 5000, bodyTimeout: 5000 });
const ask = (urls: string[], more: Partial<OriginRequest> = {}): OriginRequest => ({
  method: 'GET',
  urls,
  headers: { 'user-agent': 'walker-test' },
  followRedirects: true,
  maxRedirects: 10,
  switchAllErrors: false,
  ...more,
});
const fill: Pick<WalkOptions, 'usable'> = { usable: (s) => s === 200 || s === 206 };

describe('origin walker (MIR-16, MIR-17, MIR-37, MIR-38)', () => {
  let a: Awaited<ReturnType<typeof origin>>;
  let b: Awaited<ReturnType<typeof origin>>;
  before(async () => {
    a = await origin({
      '/ok': [200],
      '/down': [503],
      '/gone': [404],
      '/forbidden': [403],
      '/hop': [302, { location: '/ok' }],
      '/nolocation': [302],
      '/loop': [302, { location: '/loop' }],
      '/health': [503],
    });
    b = await origin({
      '/ok': [200],
      '/down': [200],
      '/gone': [200],
      '/forbidden': [200],
      '/nolocation': [200],
      '/loop': [200],
      '/health': [200],
    });
  });
  after(async () => {
    await a.close();
    await b.close();
    await dispatcher.close();
  });
  const fresh = () => {
    a.seen.length = 0;
    b.seen.length = 0;
  };

  it('a 200 from the primary is the answer, its body left to the caller', async () => {
    fresh();
    const w = await walkOrigins(ask([`${a.base}/ok`, `${b.base}/ok`]), { dispatcher, ...fill });
    assert.equal(w.kind, 'answer');
    assert.ok(w.kind === 'answer');
    assert.equal(w.url, `${a.base}/ok`);
    assert.equal(await w.res.body.text(), 'body of /ok');
    assert.equal(b.seen.length, 0);
  });

  it('MIR-37 a 5xx fails over to the next origin', async () => {
    fresh();
    const responses: [string, number][] = [];
    const w = await walkOrigins(ask([`${a.base}/down`, `${b.base}/down`]), {
      dispatcher,
      ...fill,
      onResponse: (url, status) => responses.push([url, status]),
    });
    assert.ok(w.kind === 'answer');
    assert.equal(w.url, `${b.base}/down`);
    await w.res.body.dump();
    assert.deepEqual(responses, [
      [`${a.base}/down`, 503],
      [`${b.base}/down`, 200],
    ]);
  });

  it('MIR-37 a refused connection fails over; all down: failed with the last reason', async () => {
    fresh();
    const dead = await refusedBase();
    const w = await walkOrigins(ask([`${dead}/x`, `${b.base}/ok`]), { dispatcher, ...fill });
    assert.ok(w.kind === 'answer');
    assert.equal(w.url, `${b.base}/ok`);
    await w.res.body.dump();
    const all = await walkOrigins(ask([`${a.base}/down`, `${dead}/x`]), { dispatcher, ...fill });
    assert.ok(all.kind === 'failed');
    assert.equal(all.failure?.kind, 'network');
    assert.equal((all.failure as { error: { code?: string } }).error.code, 'ECONNREFUSED');
    const none = await walkOrigins(ask([]), { dispatcher, ...fill });
    assert.deepEqual(none, { kind: 'failed' });
  });

  it('MIR-37 a 404 is final: the next origin is not asked', async () => {
    fresh();
    const w = await walkOrigins(ask([`${a.base}/gone`, `${b.base}/gone`]), { dispatcher, ...fill });
    assert.deepEqual(w, { kind: 'not-found', url: `${a.base}/gone` });
    assert.equal(b.seen.length, 0);
  });

  it('MIR-37 a 403 fails over only with MirrorSwitchAllErrors', async () => {
    fresh();
    const plain = await walkOrigins(ask([`${a.base}/forbidden`, `${b.base}/forbidden`]), { dispatcher, ...fill });
    assert.deepEqual(plain, { kind: 'failed', failure: { kind: 'status', url: `${a.base}/forbidden`, status: 403 } });
    assert.equal(b.seen.length, 0);
    const all = await walkOrigins(ask([`${a.base}/forbidden`, `${b.base}/forbidden`], { switchAllErrors: true }), { dispatcher, ...fill });
    assert.ok(all.kind === 'answer');
    assert.equal(all.url, `${b.base}/forbidden`);
    await all.res.body.dump();
  });

  it('MIR-16 a redirect is followed (signed again for the new URL); MIR-17 not followed, it is handed over', async () => {
    fresh();
    const followed = await walkOrigins(
      ask([`${a.base}/hop`], { auth: { type: 's3v4', accessKeyId: 'AKWALK', secretAccessKey: 'secret', region: 'us-east-1' } }),
      { dispatcher, ...fill },
    );
    assert.ok(followed.kind === 'answer');
    assert.equal(followed.url, `${a.base}/ok`);
    await followed.res.body.dump();
    assert.deepEqual(
      a.seen.map((s) => s.path),
      ['/hop', '/ok'],
    );
    for (const s of a.seen) assert.match(String(s.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKWALK\//);
    const handed = await walkOrigins(ask([`${a.base}/hop`, `${b.base}/ok`], { followRedirects: false }), { dispatcher, ...fill });
    assert.deepEqual(handed, { kind: 'redirect', url: `${a.base}/hop`, status: 302, location: `${a.base}/ok` });
  });

  it('LIM-03 more than maxRedirects hops, or a 3xx without Location, fails over', async () => {
    fresh();
    const loop = await walkOrigins(ask([`${a.base}/loop`]), { dispatcher, ...fill });
    assert.deepEqual(loop, {
      kind: 'failed',
      failure: { kind: 'redirect', url: `${a.base}/loop`, message: 'the origin redirected more than 10 times' },
    });
    assert.equal(a.seen.length, 10);
    const over = await walkOrigins(ask([`${a.base}/nolocation`, `${b.base}/nolocation`]), { dispatcher, ...fill });
    assert.ok(over.kind === 'answer');
    assert.equal(over.url, `${b.base}/nolocation`);
    await over.res.body.dump();
  });

  it('MIR-45 a HEAD relay: every status below 500 is the answer, redirects included', async () => {
    fresh();
    const head = (path: string) =>
      walkOrigins(ask([`${a.base}${path}`, `${b.base}/ok`], { method: 'HEAD', followRedirects: false, maxRedirects: 0 }), {
        dispatcher,
        usable: (s) => s < 500,
      });
    for (const [path, status] of [
      ['/gone', 404],
      ['/hop', 302],
      ['/nolocation', 302],
      ['/forbidden', 403],
    ] as const) {
      const w = await head(path);
      assert.ok(w.kind === 'answer', path);
      assert.equal(w.status, status, path);
      await w.res.body.dump();
    }
    const w = await head('/down');
    assert.ok(w.kind === 'answer');
    assert.equal(w.url, `${b.base}/ok`);
    assert.equal(a.seen.filter((s) => s.method !== 'HEAD').length + b.seen.filter((s) => s.method !== 'HEAD').length, 0);
  });

  it('MIR-38 while the MirrorURLProbe is down the primary is asked last, and not at all when the secondary answers', async () => {
    fresh();
    const probes = new OriginProbes({ intervalMs: 50, timeoutMs: 2000, idleMs: 60_000, dispatcher });
    try {
      const req = ask([`${a.base}/ok`, `${b.base}/ok`], { probeUrl: `${a.base}/health` });
      // unknown counts as up: the first walk goes to the primary and starts the probe
      const first = await walkOrigins(req, { dispatcher, ...fill, probes });
      assert.ok(first.kind === 'answer');
      assert.equal(first.url, `${a.base}/ok`);
      await first.res.body.dump();
      for (const until = Date.now() + 10_000; probes.state(`${a.base}/health`)?.up !== false;) {
        assert.ok(Date.now() < until, 'the probe never saw the primary down');
        await new Promise((r) => setTimeout(r, 20));
      }
      fresh();
      const second = await walkOrigins(req, { dispatcher, ...fill, probes });
      assert.ok(second.kind === 'answer');
      assert.equal(second.url, `${b.base}/ok`);
      await second.res.body.dump();
      assert.deepEqual(
        a.seen.filter((s) => s.path === '/ok'),
        [],
      );
    } finally {
      probes.close();
    }
  });

  it('an aborted walk asks no further origin', async () => {
    fresh();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    const w = await walkOrigins(ask([`${a.base}/ok`, `${b.base}/ok`]), { dispatcher, ...fill, signal: ac.signal });
    assert.ok(w.kind === 'failed');
    assert.equal(w.failure?.kind, 'network');
    assert.equal([...a.seen, ...b.seen].filter((s) => s.path === '/ok').length, 0);
  });
});

describe('the origin answer, as a stream or to a consumer (origin/walker ask, issue 19)', () => {
  let base = '';
  const closed: string[] = [];
  const server = http.createServer((req, res) => {
    req.socket.once('close', () => closed.push(req.url ?? ''));
    switch (req.url) {
      case '/small':
        res.writeHead(200, { 'content-length': '11', 'x-dup': ['one', 'two'], 'Content-Type': 'text/plain' });
        res.end('small body!');
        return;
      case '/hang':
        // headers and a first piece, then nothing: the body never ends by itself
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x'.repeat(10));
        return;
      case '/dies':
        res.writeHead(200, { 'content-length': '1000' });
        res.write('y'.repeat(10), () => setImmediate(() => req.socket.destroy()));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  // no body timeout within the tests' bounds: a connection closes only because the request was ended
  const client = new Agent({ connect: { timeout: 5000 }, headersTimeout: 5000, bodyTimeout: 120_000 });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await client.close();
  });
  /** the sink's story: chunks as text, then 'end' or the error's message */
  const collect = (res: OriginResponse, onData?: (chunk: Buffer) => void): Promise<{ text: string; end: string }> =>
    new Promise((resolve) => {
      let text = '';
      res.consume({
        data: (c) => {
          text += c.toString();
          onData?.(c);
        },
        end: () => resolve({ text, end: 'end' }),
        error: (err) => resolve({ text, end: err.message }),
      });
    });
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (const stop = Date.now() + 10_000; !ok();) {
      assert.ok(Date.now() < stop, what);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("the headers as undici's request() gives them: lower-case names, a repeated header as an array", async () => {
    const mine = await askOrigin(client, `${base}/small`, 'GET', {});
    const theirs = await request(`${base}/small`, { dispatcher: client });
    assert.equal(await mine.body.text(), await theirs.body.text());
    const { date: d1, ...h1 } = mine.headers;
    const { date: d2, ...h2 } = theirs.headers;
    assert.ok(d1 && d2);
    assert.deepEqual(h1, h2);
    assert.deepEqual(mine.headers['x-dup'], ['one', 'two']);
    assert.equal(mine.statusCode, 200);
  });

  it('a consumer gets every chunk and the end, also of a body that had all come before it was taken', async () => {
    const res = await askOrigin(client, `${base}/small`, 'GET', {});
    // not a condition of the result: the body is whole before it is taken, or it comes after; both must give it all
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await collect(res), { text: 'small body!', end: 'end' });
    const streamed = await askOrigin(client, `${base}/small`, 'GET', {});
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await streamed.body.text(), 'small body!');
  });

  it('an origin that dies mid-body: the consumer hears of it (never a clean end)', async () => {
    const res = await askOrigin(client, `${base}/dies`, 'GET', {});
    const got = await collect(res);
    assert.notEqual(got.end, 'end');
    assert.ok(got.text.length < 1000);
  });

  it('an abort after the headers ends the body with its reason and closes the connection (AbortSignal, WalkAbort)', async () => {
    const ac = new AbortController();
    const res = await askOrigin(client, `${base}/hang`, 'GET', {}, ac.signal);
    const reading = res.body.text();
    ac.abort(new Error('stop, AbortSignal'));
    await assert.rejects(reading, /stop, AbortSignal/);
    const wa = new WalkAbort();
    const sunk = await askOrigin(client, `${base}/hang`, 'GET', {}, wa);
    const story = collect(sunk);
    wa.abort(new Error('stop, WalkAbort'));
    assert.equal((await story).end, 'stop, WalkAbort');
    await until('both connections closed', () => closed.filter((u) => u === '/hang').length === 2);
  });

  it('a consumer that throws fails the request with what it threw, and the connection is closed', async () => {
    closed.length = 0;
    const res = await askOrigin(client, `${base}/hang`, 'GET', {});
    const got = await collect(res, () => {
      throw new Error('no room for this');
    });
    assert.deepEqual(got, { text: 'x'.repeat(10), end: 'no room for this' });
    await until('the connection closed', () => closed.includes('/hang'));
  });
});
