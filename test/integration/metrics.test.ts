/**
 * /-/metrics (Prometheus text): scraped before and after known traffic from real clients (AWS SDK
 * v3, fetch through a mirroring rule to a real origin); every counter must move by exactly what
 * the traffic implies. Also: access (loopback, bearer token) and label bounds.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

const TOKEN = 'metrics-token-0123456789';

/** Parse Prometheus text into `name{labels}` -> value (labels as printed, sorted by prom-client). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const r = await fetch(`${url}/-/metrics`, { headers });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return parse(await r.text());
}

function delta(before: Map<string, number>, after: Map<string, number>, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0);
}

const SLOW_BODY = Buffer.alloc(300_000, 7);
/** holds the slow origin bodies until opened */
let gate = newGate();
function newGate(): { promise: Promise<void>; open(): void } {
  let open = () => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** poll a series until it satisfies `ok` (a loaded machine may take a while), else fail */
async function until(url: string, series: string, ok: (v: number) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok((await scrape(url)).get(series) ?? 0)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${series} never reached the expected value`);
}

async function startOrigin(): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/o/hello.txt') {
      res.writeHead(200, { 'content-length': '11', 'content-type': 'text/plain' });
      res.end('hello world');
    } else if (p === '/o/slow.bin' || p === '/o/slow-gauge.bin') {
      // the first piece at once, the rest when the test says so (GETs join the fill in flight meanwhile)
      res.writeHead(200, { 'content-length': String(SLOW_BODY.length) });
      res.write(SLOW_BODY.subarray(0, 50_000));
      void gate.promise.then(() => res.end(SLOW_BODY.subarray(50_000)));
    } else if (p === '/o/broken.bin') {
      res.writeHead(503);
      res.end('down');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/o/`, close: () => server.close() };
}

describe('/-/metrics', () => {
  let server: TestServer;
  let client: S3Client;
  let origin: { url: string; close(): void };
  before(async () => {
    origin = await startOrigin();
    server = await startOsprey({ metricsToken: TOKEN });
    client = s3(server);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/mb1', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const rules = `<WebsiteConfiguration><RoutingRules>
      <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition>
        <Redirect><RedirectType>External</RedirectType><HostName>new.example.com</HostName><Protocol>https</Protocol></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>2</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL></Redirect></RoutingRule>
    </RoutingRules></WebsiteConfiguration>`;
    const r = await rawSigned(server.url, { method: 'PUT', path: '/mb1', query: { website: '' }, body: rules });
    assert.equal(r.status, 200, r.body);
  });
  after(async () => {
    client.destroy();
    await server.close();
    origin.close();
  });

  it('counts requests, bytes, latency, mirror fetches, origin statuses, followers and redirects exactly', async () => {
    const before = await scrape(server.url);
    for (let i = 0; i < 3; i++) await client.send(new PutObjectCommand({ Bucket: 'mb1', Key: `k${i}`, Body: Buffer.alloc(1000 + i) }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'mb1', Key: 'k2' }));
    assert.equal((await got.Body!.transformToByteArray()).length, 1002);
    // a stored miss through the mirror rule, an origin 404, an origin 503, a redirect
    assert.equal(await (await fetch(`${server.url}/mb1/hello.txt`)).text(), 'hello world');
    assert.equal((await fetch(`${server.url}/mb1/absent.txt`)).status, 404);
    assert.equal((await fetch(`${server.url}/mb1/broken.bin`)).status, 424);
    assert.equal((await fetch(`${server.url}/mb1/old/page.html`, { redirect: 'manual' })).status, 301);
    // five concurrent GETs of one slow missing key: one fill, four followers
    const followersBefore = (await scrape(server.url)).get('osprey_mirror_followers_total') ?? 0;
    gate = newGate();
    const pending = Array.from({ length: 5 }, async () => Buffer.from(await (await fetch(`${server.url}/mb1/slow.bin`)).arrayBuffer()));
    await until(server.url, 'osprey_mirror_followers_total', (v) => v >= followersBefore + 4);
    gate.open();
    const bodies = await Promise.all(pending);
    for (const b of bodies) assert.ok(b.equals(SLOW_BODY));
    await until(server.url, 'osprey_mirror_fills_in_progress', (v) => v === 0);
    const after = await scrape(server.url);

    assert.equal(delta(before, after, 'osprey_requests_total{op="PutObject",status="200"}'), 3);
    assert.equal(delta(before, after, 'osprey_request_bytes_total{op="PutObject"}'), 1000 + 1001 + 1002);
    assert.equal(delta(before, after, 'osprey_request_duration_seconds_count{op="PutObject"}'), 3);
    // GETs: k2 (1002 bytes), hello.txt (11), 5 x slow.bin; absent and broken are errors
    assert.equal(delta(before, after, 'osprey_requests_total{op="GetObject",status="200"}'), 7);
    assert.equal(delta(before, after, 'osprey_requests_total{op="GetObject",status="404"}'), 1);
    assert.equal(delta(before, after, 'osprey_requests_total{op="GetObject",status="424"}'), 1);
    assert.equal(delta(before, after, 'osprey_requests_total{op="GetObject",status="301"}'), 1);
    assert.ok(delta(before, after, 'osprey_response_bytes_total{op="GetObject"}') >= 1002 + 11 + 5 * SLOW_BODY.length);

    assert.equal(delta(before, after, 'osprey_mirror_fetches_total{bucket="mb1",outcome="stored",reason=""}'), 2);
    assert.equal(delta(before, after, 'osprey_mirror_fetches_total{bucket="mb1",outcome="not-found",reason=""}'), 1);
    assert.equal(delta(before, after, 'osprey_mirror_fetches_total{bucket="mb1",outcome="failed",reason="origin-5xx"}'), 1);
    assert.equal(delta(before, after, 'osprey_mirror_origin_responses_total{code="200"}'), 2);
    assert.equal(delta(before, after, 'osprey_mirror_origin_responses_total{code="404"}'), 1);
    assert.equal(delta(before, after, 'osprey_mirror_origin_responses_total{code="503"}'), 1);
    assert.equal(delta(before, after, 'osprey_mirror_origin_ttfb_seconds_count'), 4);
    assert.equal(delta(before, after, 'osprey_mirror_fill_duration_seconds_count{outcome="stored"}'), 2);
    assert.equal(delta(before, after, 'osprey_mirror_bytes_total'), 11 + SLOW_BODY.length);
    assert.equal(delta(before, after, 'osprey_mirror_followers_total'), 4);
    assert.equal(after.get('osprey_mirror_fills_in_progress'), 0);
    assert.equal(delta(before, after, 'osprey_redirects_total{kind="External"}'), 1);
    // no key ever becomes a label value
    for (const series of after.keys()) assert.ok(!/hello\.txt|slow\.bin|k2/.test(series), series);
  });

  it('a fill in progress shows in the gauge while it runs, and not after', async () => {
    gate = newGate();
    const pending = fetch(`${server.url}/mb1/slow-gauge.bin`).then(async (r) => Buffer.from(await r.arrayBuffer()));
    await until(server.url, 'osprey_mirror_fills_in_progress', (v) => v === 1);
    assert.equal((await scrape(server.url)).get('osprey_mirror_fills_in_progress'), 1, 'held while the origin holds the body');
    gate.open();
    assert.ok((await pending).equals(SLOW_BODY));
    await until(server.url, 'osprey_mirror_fills_in_progress', (v) => v === 0);
  });

  it('loopback needs no token; a wrong bearer token is refused; the right one is accepted', async () => {
    assert.ok((await scrape(server.url)).size > 0);
    const wrong = await fetch(`${server.url}/-/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /AccessDenied/);
    assert.ok((await scrape(server.url, { authorization: `Bearer ${TOKEN}` })).has('osprey_process_resident_memory_bytes'));
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics that /-/metrics exposes', async () => {
    const { readFile } = await import('node:fs/promises');
    const { ROOT } = await import('../helpers/osprey.ts');
    const dash = JSON.parse(await readFile(`${ROOT}/docs/grafana-dashboard.json`, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const server = await startOsprey();
    try {
      const exposed = new Set([...(await scrape(server.url)).keys()].map((s) => s.replace(/\{.*$/, '')));
      const text = await (await fetch(`${server.url}/-/metrics`)).text();
      // counters with no sample yet still have their # TYPE line
      for (const m of text.matchAll(/^# TYPE (\S+) (\w+)/gm)) {
        exposed.add(m[1] ?? '');
        if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${m[1] ?? ''}${suffix}`);
      }
      assert.ok(dash.panels.length >= 10);
      for (const panel of dash.panels) {
        for (const t of panel.targets) {
          for (const name of t.expr.match(/osprey_[a-z0-9_]+/g) ?? [])
            assert.ok(exposed.has(name), `${panel.title}: ${name} is not exposed`);
        }
      }
    } finally {
      await server.close();
    }
  });
});
