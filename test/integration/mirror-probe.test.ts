/**
 * MIR-38 MirrorURLProbe: real origins on 127.0.0.1. The primary's health URL is probed
 * periodically; while it fails, fills go straight to MirrorURLSlave; when it recovers, back to the
 * primary. The primary keeps serving files all along, so only the probe can explain the switch.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { until } from '../helpers/wait.ts';

interface Origin {
  base: string;
  hits: Map<string, number>;
  /** what /health answers */
  health: number;
  /** what /files/* answers (200: "<name> <key>") */
  files: number;
  close(): Promise<void>;
}

async function startOrigin(name: string): Promise<Origin> {
  const o: Origin = { base: '', hits: new Map(), health: 200, files: 200, close: async () => {} };
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    o.hits.set(p, (o.hits.get(p) ?? 0) + 1);
    if (p === '/health') {
      res.writeHead(o.health);
      res.end(o.health === 200 ? 'ok' : 'down');
    } else if (p.startsWith('/files/')) {
      res.writeHead(o.files);
      res.end(o.files === 200 ? `${name} ${p.slice(7)}` : 'error');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  o.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  o.close = () => new Promise((r) => server.close(() => r()));
  return o;
}

function website(primary: string, secondary: string, probe: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${primary}</MirrorURL><MirrorURLSlave>${secondary}</MirrorURLSlave>
      <MirrorURLProbe>${probe}</MirrorURLProbe></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

const PROBE_MS = 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `origin` has seen `n` more probes than `from` (so at least n-1 full probes ran since). */
async function probesSeen(origin: Origin, from: number, n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((origin.hits.get('/health') ?? 0) >= from + n) return;
    await sleep(25);
  }
  assert.fail(`the probe did not run ${n} times`);
}

describe('MIR-38 primary-health probe', () => {
  let server: TestServer;
  let primary: Origin;
  let secondary: Origin;
  before(async () => {
    [primary, secondary] = await Promise.all([startOrigin('primary'), startOrigin('secondary')]);
    server = await startOsprey({ mirrorProbeIntervalMs: PROBE_MS });
  });
  after(async () => {
    await server.close();
    await Promise.all([primary.close(), secondary.close()]);
  });

  async function bucket(name: string, probe: string): Promise<void> {
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${name}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const r = await rawSigned(server.url, {
      method: 'PUT',
      path: `/${name}`,
      query: { website: '' },
      body: website(`${primary.base}/files/`, `${secondary.base}/files/`, probe),
    });
    assert.equal(r.status, 200, r.body);
  }

  const get = async (path: string) => {
    const r = await fetch(`${server.url}${path}`);
    return { status: r.status, body: await r.text() };
  };

  it('healthy -> primary; probe failing -> straight to the secondary; probe recovered -> primary again', async () => {
    await bucket('probe-bucket', `${primary.base}/health`);
    // unknown counts as up: the first fill goes to the primary and starts the probe
    assert.deepEqual(await get('/probe-bucket/k1'), { status: 200, body: 'primary k1' });
    await probesSeen(primary, 0, 2);
    assert.deepEqual(await get('/probe-bucket/k2'), { status: 200, body: 'primary k2' });
    assert.equal(secondary.hits.get('/files/k2'), undefined);

    primary.health = 503; // the primary still serves files: only the probe can move the fills
    await probesSeen(primary, primary.hits.get('/health') ?? 0, 2);
    assert.deepEqual(await get('/probe-bucket/k3'), { status: 200, body: 'secondary k3' });
    assert.equal(primary.hits.get('/files/k3'), undefined, 'the primary was not asked while its probe failed');
    assert.deepEqual(await get('/probe-bucket/k4'), { status: 200, body: 'secondary k4' });
    assert.equal(primary.hits.get('/files/k4'), undefined);

    primary.health = 200;
    await probesSeen(primary, primary.hits.get('/health') ?? 0, 2);
    assert.deepEqual(await get('/probe-bucket/k5'), { status: 200, body: 'primary k5' });
    assert.equal(secondary.hits.get('/files/k5'), undefined, 'back to the primary once the probe answers 2xx');
    // the objects stayed where they were mirrored from
    await until(async () => (await rawSigned(server.url, { method: 'HEAD', path: '/probe-bucket/k5' })).status === 200, {
      what: 'k5 to be stored',
    });
    assert.equal((await rawSigned(server.url, { path: '/probe-bucket/k3' })).body, 'secondary k3');
    assert.equal((await rawSigned(server.url, { path: '/probe-bucket/k5' })).body, 'primary k5');
  });

  it('a probe whose connection fails counts as down; the primary is still the last resort', async (t) => {
    // accepts and at once resets every connection: the probe never gets an HTTP answer, and the
    // count of attempts shows when it has run (a closed port would refuse without a trace to wait on)
    let attempts = 0;
    const dead = net.createServer((s) => {
      attempts++;
      s.resetAndDestroy();
    });
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => dead.close(() => r())));
    const deadProbe = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/health`;
    await bucket('dead-probe', deadProbe);
    assert.deepEqual(await get('/dead-probe/d1'), { status: 200, body: 'primary d1' }, 'first fill: not probed yet');
    // two failed probes: the first has surely been recorded when the second starts
    for (let i = 0; i < 200 && attempts < 2; i++) await sleep(25);
    assert.ok(attempts >= 2, `the probe ran ${attempts} times`);
    assert.deepEqual(await get('/dead-probe/d2'), { status: 200, body: 'secondary d2' });
    assert.equal(primary.hits.get('/files/d2'), undefined);
    // the secondary fails too (5xx): the primary, tried last, still serves
    secondary.files = 500;
    try {
      assert.deepEqual(await get('/dead-probe/d3'), { status: 200, body: 'primary d3' });
      assert.equal(secondary.hits.get('/files/d3'), 1);
    } finally {
      secondary.files = 200;
    }
  });
});
