/**
 * The console's server side without a browser: sign-in, the session cookie's attributes, what an
 * unauthenticated, forged, expired or cross-site request gets, the CSRF check, sessions that work on
 * any node sharing the key pair (stateless), and the static files' headers.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serveStatic } from '../../src/http/console/static.ts';
import { issueSession, readSession, SESSION_COOKIE } from '../../src/http/console/session.ts';
import type { Ctx } from '../../src/http/context.ts';
import { buildConsole } from '../../scripts/build-console.ts';
import { ACCESS_KEY, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

interface Signed {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function signIn(url: string, secret = SECRET_KEY): Promise<Response> {
  return fetch(`${url}/-/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKeyId: ACCESS_KEY, secretAccessKey: secret }),
  });
}

async function session(url: string): Promise<Signed> {
  const r = await signIn(url);
  assert.equal(r.status, 200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const body = (await r.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0] ?? '', csrf: body.csrfToken, setCookie };
}

async function errorCode(r: Response): Promise<string> {
  return ((await r.json()) as { error: { code: string } }).error.code;
}

describe('console API: sessions and CSRF', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    await buildConsole({ check: false });
    [a, b] = await Promise.all([startOsprey(), startOsprey()]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('unauthenticated calls get 401 NotSignedIn; the page itself holds no data and is served', async () => {
    const r = await fetch(`${a.url}/-/console/api/buckets`);
    assert.equal(r.status, 401);
    assert.equal(await errorCode(r), 'NotSignedIn');
    const page = await fetch(`${a.url}/-/console/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
  });

  it('a wrong secret is refused without a cookie; the right one gets an HttpOnly, SameSite=Strict cookie with an expiry', async () => {
    const bad = await signIn(a.url, 'wrong-secret');
    assert.equal(bad.status, 403);
    assert.equal(bad.headers.get('set-cookie'), null);
    assert.equal(await errorCode(bad), 'InvalidCredentials');
    const s = await session(a.url);
    assert.match(s.setCookie, /^osprey_console=v1\./);
    assert.match(s.setCookie, /; HttpOnly/);
    assert.match(s.setCookie, /; SameSite=Strict/);
    assert.match(s.setCookie, /; Path=\/-\/console/);
    assert.match(s.setCookie, /; Max-Age=\d+/);
    assert.doesNotMatch(s.setCookie, new RegExp(SECRET_KEY), 'the secret is not in the cookie');
    const who = await fetch(`${a.url}/-/console/api/session`, { headers: { cookie: s.cookie } });
    assert.equal(who.status, 200);
    assert.equal(((await who.json()) as { accessKeyId: string }).accessKeyId, ACCESS_KEY);
  });

  it('state-changing calls need the CSRF token and are refused from another origin', async () => {
    const s = await session(a.url);
    const create = (headers: Record<string, string>) =>
      fetch(`${a.url}/-/console/api/buckets`, {
        method: 'POST',
        headers: { cookie: s.cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'csrf-bucket' }),
      });
    const none = await create({});
    assert.equal(none.status, 403);
    assert.equal(await errorCode(none), 'InvalidCsrfToken');
    const wrong = await create({ 'x-osprey-csrf': s.csrf.slice(1) + 'x' });
    assert.equal(wrong.status, 403);
    const cross = await create({ 'x-osprey-csrf': s.csrf, origin: 'https://evil.example' });
    assert.equal(cross.status, 403);
    assert.equal(await errorCode(cross), 'CrossSiteRequest');
    const fetchSite = await create({ 'x-osprey-csrf': s.csrf, 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchSite.status, 403);
    const list = await fetch(`${a.url}/-/console/api/buckets`, { headers: { cookie: s.cookie } });
    assert.deepEqual(((await list.json()) as { buckets: unknown[] }).buckets, [], 'nothing was created');
    const ok = await create({ 'x-osprey-csrf': s.csrf, origin: new URL(a.url).origin });
    assert.equal(ok.status, 201);
  });

  it('forged, tampered and expired cookies are refused; an expired one says so', async () => {
    const s = await session(a.url);
    const [body, mac] = [s.cookie.slice(0, s.cookie.lastIndexOf('.')), s.cookie.slice(s.cookie.lastIndexOf('.') + 1)];
    const tampered = body.replace(/\.(\d+)\./, (_m, exp: string) => `.${Number(exp) + 3600}.`) + '.' + mac;
    for (const cookie of [
      tampered,
      `${SESSION_COOKIE}=v1.x.1.y.z`,
      `${SESSION_COOKIE}=${issueSession(ACCESS_KEY, 'another-secret').token}`,
    ]) {
      const r = await fetch(`${a.url}/-/console/api/buckets`, { headers: { cookie } });
      assert.equal(r.status, 401, cookie);
      assert.equal(await errorCode(r), 'NotSignedIn');
    }
    const expired = issueSession(ACCESS_KEY, SECRET_KEY, Date.now() - 13 * 3600_000);
    const r = await fetch(`${a.url}/-/console/api/buckets`, { headers: { cookie: `${SESSION_COOKIE}=${expired.token}` } });
    assert.equal(r.status, 401);
    assert.equal(await errorCode(r), 'SessionExpired');
    assert.equal(readSession(expired.token, { secretFor: () => SECRET_KEY }), 'expired');
  });

  it('a session from one node works on another node with the same key pair (no session table)', async () => {
    const s = await session(a.url);
    const r = await fetch(`${b.url}/-/console/api/buckets`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'content-type': 'application/json', 'x-osprey-csrf': s.csrf },
      body: JSON.stringify({ name: 'made-on-b', acl: 'public-read' }),
    });
    assert.equal(r.status, 201);
    assert.equal(((await r.json()) as { name: string }).name, 'made-on-b');
    assert.equal(
      (await fetch(`${a.url}/-/console/api/buckets/made-on-b/objects`, { headers: { cookie: s.cookie } })).status,
      404,
      'A has its own store: the bucket was made on B',
    );
  });

  it('sign-out clears the cookie', async () => {
    const s = await session(a.url);
    const noToken = await fetch(`${a.url}/-/console/api/session`, { method: 'DELETE', headers: { cookie: s.cookie } });
    assert.equal(noToken.status, 403, 'sign-out cannot be forced without the CSRF token');
    const out = await fetch(`${a.url}/-/console/api/session`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-osprey-csrf': s.csrf } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /^osprey_console=; Max-Age=0/);
  });

  it('errors carry the S3 code and message (BucketNotEmpty, the rule validator)', async () => {
    const s = await session(a.url);
    const h = { cookie: s.cookie, 'content-type': 'application/json', 'x-osprey-csrf': s.csrf };
    assert.equal(
      (await fetch(`${a.url}/-/console/api/buckets`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'full' }) })).status,
      201,
    );
    const put = await fetch(`${a.url}/-/console/api/buckets/full/object?key=k.txt`, {
      method: 'PUT',
      headers: { ...h, 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(put.status, 200);
    const del = await fetch(`${a.url}/-/console/api/buckets/full`, { method: 'DELETE', headers: h });
    assert.equal(del.status, 409);
    assert.deepEqual(((await del.json()) as { error: object }).error, {
      code: 'BucketNotEmpty',
      message: 'The bucket you tried to delete is not empty.',
      status: 409,
      requestId: del.headers.get('x-amz-request-id'),
    });
    const bad = await fetch(`${a.url}/-/console/api/buckets/full/website`, {
      method: 'PUT',
      headers: h,
      body: JSON.stringify({
        config: {
          dialect: 'oss',
          RoutingRules: [{ RuleNumber: 1, Condition: {}, Redirect: { RedirectType: 'Mirror', MirrorURL: 'http://127.0.0.1:1/' } }],
        },
      }),
    });
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /^RoutingRule 1: a Mirror rule needs Condition\/HttpErrorCodeReturnedEquals 404/,
    );
  });

  it('static files: index.html revalidated, hashed assets immutable, CSP, nothing outside the build', async () => {
    const page = await fetch(`${a.url}/-/console/`);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    const html = await page.text();
    const js = /src="assets\/([^"]+\.js)"/.exec(html)?.[1];
    const css = /href="assets\/([^"]+\.css)"/.exec(html)?.[1];
    assert.ok(js && css, html);
    const asset = await fetch(`${a.url}/-/console/assets/${js}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match((await fetch(`${a.url}/-/console/assets/${css}`)).headers.get('content-type') ?? '', /^text\/css/);
    // nothing loaded from elsewhere: no absolute URL in the page or the stylesheet (the browser test also checks every request)
    const styles = await (await fetch(`${a.url}/-/console/assets/${css}`)).text();
    assert.ok(!/(?:src|href)="(?:https?:)?\/\//.test(html) && !/url\(|@import/.test(styles), 'nothing is loaded from the internet');
    for (const p of ['assets/%2e%2e%2fpackage.json', 'assets/..%2f..%2fpackage.json', 'package.json', 'assets/nope-ABCDEFGH.js']) {
      assert.equal((await fetch(`${a.url}/-/console/${p}`)).status, 404, p);
    }
    const redirect = await fetch(`${a.url}/-/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/-/console/');
  });

  it('when the console has not been built, the page says how to build it', async () => {
    const server = http.createServer((req, res) => {
      const ctx = { req, res, reqId: 'r', started: 0n, dialect: 's3', bytesIn: 0, bytesOut: 0 } satisfies Ctx;
      void serveStatic(ctx, '', '/nonexistent/osprey-console');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      assert.equal(r.status, 503);
      assert.match(await r.text(), /has not been built.*npm run build/s);
    } finally {
      server.close();
    }
  });
});
