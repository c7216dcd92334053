/**
 * Bucket CORS in a real browser (Debian's chromium driven by playwright-core): a page served from
 * one 127.0.0.1 origin fetch()es from Osprey on another port. An allowed origin reads an object
 * (and an exposed header); a PUT that needs a preflight (presigned URL, non-simple Content-Type)
 * succeeds and is stored; an origin the bucket's rules do not allow is refused by the browser
 * itself, and a PUT whose preflight is refused never reaches the store.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Fetched {
  ok: boolean;
  status?: number;
  text?: string;
  etag?: string | null;
  error?: string;
}

describe('bucket CORS in chromium', () => {
  let server: TestServer;
  let site: http.Server;
  let siteOrigin = '';
  let browser: Browser;
  let page: Page;

  async function cors(bucket: string, rules: string): Promise<void> {
    const r = await rawSigned(server.url, {
      method: 'PUT',
      path: `/${bucket}`,
      query: { cors: '' },
      body: `<CORSConfiguration>${rules}</CORSConfiguration>`,
    });
    assert.equal(r.status, 200, r.body);
  }

  /** fetch() run by the page (so from siteOrigin), reporting a network error instead of throwing */
  function pageFetch(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Fetched> {
    return page.evaluate(
      async ([u, i]) => {
        try {
          const r = await fetch(u, i);
          return { ok: true, status: r.status, text: await r.text(), etag: r.headers.get('etag') };
        } catch (err) {
          return { ok: false, error: String(err) };
        }
      },
      [url, init] as const,
    );
  }

  async function preflights(): Promise<number> {
    const m = await rawSigned(server.url, { path: '/-/metrics' });
    let n = 0;
    for (const line of m.body.split('\n')) {
      const hit = /^osprey_requests_total\{[^}]*op="OptionsObject"[^}]*\} (\d+)/.exec(line);
      if (hit) n += Number(hit[1]);
    }
    return n;
  }

  before(async () => {
    site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>site</title><p>a page on another origin</p>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    [server, browser] = await Promise.all([startOsprey(), chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })]);
    for (const b of ['open', 'closed']) {
      assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${b}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: `/${b}/hello.txt`,
            body: 'hello, other origin',
            headers: { 'content-type': 'text/plain' },
          })
        ).status,
        200,
      );
    }
    await cors(
      'open',
      `<CORSRule><AllowedOrigin>${siteOrigin}</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
      <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule>`,
    );
    await cors(
      'closed',
      '<CORSRule><AllowedOrigin>http://elsewhere.test</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule>',
    );
    const context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${siteOrigin}/`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    site?.close();
  });

  it('an allowed origin reads an object and the header the rule exposes', async () => {
    assert.notEqual(new URL(server.url).origin, siteOrigin);
    const r = await pageFetch(`${server.url}/open/hello.txt`);
    assert.deepEqual({ ok: r.ok, status: r.status, text: r.text }, { ok: true, status: 200, text: 'hello, other origin' });
    assert.match(r.etag ?? '', /^"[0-9a-f]{32}"$/);
  });

  it('a PUT that needs a preflight succeeds, and the object is stored', async () => {
    const before = await preflights();
    const url = await getSignedUrl(s3(server), new PutObjectCommand({ Bucket: 'open', Key: 'from-browser.json' }), { expiresIn: 300 });
    const r = await pageFetch(url, { method: 'PUT', body: '{"from":"the browser"}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual({ ok: r.ok, status: r.status }, { ok: true, status: 200 }, JSON.stringify(r));
    assert.ok((await preflights()) > before, 'the browser asked first (OPTIONS)');
    const stored = await rawSigned(server.url, { path: '/open/from-browser.json' });
    assert.equal(stored.body, '{"from":"the browser"}');
  });

  it('an origin the rules do not allow is refused by the browser: no read, and a refused preflight writes nothing', async () => {
    const read = await pageFetch(`${server.url}/closed/hello.txt`);
    assert.equal(read.ok, false, JSON.stringify(read));
    assert.match(read.error ?? '', /TypeError/);
    const url = await getSignedUrl(s3(server), new PutObjectCommand({ Bucket: 'closed', Key: 'never.json' }), { expiresIn: 300 });
    const put = await pageFetch(url, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(put.ok, false, JSON.stringify(put));
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/closed/never.json' })).status, 404);
  });
});
