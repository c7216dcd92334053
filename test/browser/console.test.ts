/**
 * The web console in a real browser: Debian's chromium driven by playwright-core. One end-to-end
 * walk (sign in by keyboard, create a bucket, upload a small and a multipart file, add a Mirror rule
 * pointing at a test origin, simulate a key, fetch it through Osprey, see it in Mirror activity
 * live and in /-/metrics, sign out), plus a bad sign-in, an invalid rule (the API's own message), a
 * session that expired, and every screen at phone width. Screenshots of each screen go to
 * test-artifacts/console/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.ts';
import { issueSession, SESSION_COOKIE } from '../../src/http/console/session.ts';
import { ACCESS_KEY, ROOT, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
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
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const BIG = Buffer.alloc(12 * 1024 * 1024 + 123, 0x61); // over 8 MiB: uploaded as two parts

describe('web console in chromium', () => {
  let server: TestServer;
  let origin: http.Server;
  let originUrl = '';
  const originRequests: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  let browser: Browser;
  /** files the end-to-end walk uploads by path */
  let uploadDir: string | undefined;
  /** requests the pages made to anything but Osprey (must stay empty: nothing from the internet) */
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    origin = http.createServer((req, res) => {
      originRequests.push({ url: req.url ?? '', headers: req.headers });
      if ((req.url ?? '').endsWith('/slow.bin')) {
        // about 2 s, so that the activity screen (polling every second) shows the fill in progress
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(8 * 1000) });
        let sent = 0;
        const tick = () => {
          res.write(Buffer.alloc(1000, 1));
          if (++sent === 8) res.end();
          else setTimeout(tick, 300);
        };
        tick();
        return;
      }
      const body = `origin says ${req.url ?? ''}`;
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/site/`;
    [server, browser] = await Promise.all([
      buildConsole().then(() => startOsprey()),
      chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS }),
    ]);
  });

  after(async () => {
    if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
    await browser?.close();
    await server?.close();
    origin?.close();
  });

  async function newPage(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    // generous: CI runs this beside another test file on 2 cores; a failure only takes longer to report
    page.setDefaultTimeout(30_000);
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(server.url) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
    });
    return { context, page };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${server.url}/-/console/`);
    await page.getByLabel('Access key ID').fill(ACCESS_KEY);
    await page.getByLabel('Secret access key').fill(SECRET_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Buckets', level: 1 }).waitFor();
  }

  /** The API's own message for a PUT ?website body, as an S3 client sees it. */
  async function apiMessage(bucket: string, xml: string): Promise<string> {
    const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: xml });
    assert.equal(r.status, 400, r.body);
    return xmlField(r.body, 'Message') ?? '';
  }

  it('a bad sign-in is refused with a message and no cookie', async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/-/console/`);
    await page.getByRole('heading', { name: 'Sign in to Osprey' }).waitFor();
    await shot(page, '01-sign-in');
    await page.getByLabel('Access key ID').fill(ACCESS_KEY);
    await page.getByLabel('Secret access key').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal((await alert.textContent())?.trim(), 'InvalidCredentials: The access key ID or secret access key is not correct.');
    assert.deepEqual(await context.cookies(), []);
    await shot(page, '02-sign-in-refused');
    await context.close();
  });

  it('end-to-end: sign in, bucket, uploads, Mirror rule, simulator, fetch through Osprey, activity, metrics, sign out', async () => {
    const { context, page } = await newPage();
    // sign in with the keyboard only: the access key field has focus, Tab to the secret, Enter submits
    await page.goto(`${server.url}/-/console/`);
    await page.getByLabel('Access key ID').waitFor();
    assert.equal(await page.evaluate('document.activeElement?.id'), 'access-key-id');
    await page.keyboard.type(ACCESS_KEY);
    await page.keyboard.press('Tab');
    await page.keyboard.type(SECRET_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Buckets', level: 1 }).waitFor();
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]?.name, SESSION_COOKIE);
    assert.equal(cookies[0]?.httpOnly, true);
    assert.equal(cookies[0]?.sameSite, 'Strict');
    assert.ok((cookies[0]?.expires ?? 0) > Date.now() / 1000, 'the cookie has an expiry');
    const stored = String(
      await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie'),
    );
    assert.ok(!stored.includes(SECRET_KEY), 'the secret is not kept in the browser');
    assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is not readable by scripts');

    // buckets: create with a canned ACL
    await page.getByLabel('New bucket name').fill('walk');
    await page.getByLabel('Access (canned ACL)').selectOption('public-read');
    await page.getByRole('button', { name: 'Create bucket' }).click();
    await page.getByRole('status').filter({ hasText: 'Bucket walk created.' }).waitFor();
    assert.equal(await page.getByLabel('ACL of walk').inputValue(), 'public-read');
    // keyboard: Tab moves through the form in order, and the focused control shows a visible ring
    await page.getByLabel('New bucket name').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Create bucket');
    assert.notEqual(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle'), 'none', 'focus is visible');
    await shot(page, '03-buckets');

    // objects: upload a small file (one PUT) and a 12 MiB one (multipart), with progress
    await page.getByRole('link', { name: 'walk', exact: true }).click();
    await page.getByRole('heading', { name: 'walk', level: 1 }).waitFor();
    // the big file goes by path: a 12 MiB buffer sent over CDP took over 10 s on a loaded 2-core machine
    // (the browser reads them while it uploads: they are removed in after(), not here)
    uploadDir = await mkdtemp(path.join(tmpdir(), 'osprey-console-upload-'));
    const hello = path.join(uploadDir, 'hello.txt');
    const big = path.join(uploadDir, 'big.bin');
    await writeFile(hello, 'hello from the console');
    await writeFile(big, BIG);
    await page.getByLabel(/Upload files to/).setInputFiles([hello, big], { timeout: 60_000 });
    const uploads = page.getByRole('list', { name: 'Uploads' });
    await uploads
      .getByText('Uploaded (multipart)')
      .waitFor({ timeout: 90_000 })
      .catch(async (err: Error) => {
        await shot(page, 'failed-upload');
        throw new Error(`the multipart upload did not finish; the uploads list says: ${await uploads.textContent()}`, { cause: err });
      });
    await page.getByRole('list', { name: 'Uploads' }).getByText('Uploaded · 22 B').waitFor();
    await page.getByRole('rowheader', { name: 'big.bin' }).waitFor();
    await page.getByRole('rowheader', { name: 'hello.txt' }).waitFor();
    assert.equal(
      await page.getByRole('progressbar', { name: 'Upload of big.bin' }).evaluate((el) => (el as unknown as { value: number }).value),
      BIG.length,
    );
    await shot(page, '04-objects-uploaded');
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/walk/big.bin' });
    assert.equal(head.headers['content-length'], String(BIG.length));
    assert.match(String(head.headers.etag), /-2"$/, 'the big file went up as two parts');
    assert.equal((await rawSigned(server.url, { path: '/walk/hello.txt' })).body, 'hello from the console');

    // details and download
    await page.getByRole('button', { name: 'Details of hello.txt' }).click();
    const details = page.getByRole('region', { name: 'hello.txt' });
    await details.getByText('Uploaded (not from an origin)').waitFor();
    assert.match((await details.getByRole('table', { name: 'Response headers' }).textContent()) ?? '', /Content-Typetext\/plain/);
    await shot(page, '05-object-details');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download hello.txt' }).click()]);
    assert.equal(download.suggestedFilename(), 'hello.txt');
    assert.equal(await readFile(await download.path(), 'utf8'), 'hello from the console');

    // back-to-origin: a Redirect rule, then a Mirror rule pointing at the test origin, then reorder
    await page.getByRole('navigation', { name: 'Bucket walk' }).getByRole('link', { name: 'Back-to-origin' }).click();
    await page.getByRole('heading', { name: /^Rules/ }).waitFor();
    await page.getByRole('button', { name: 'Add Redirect rule' }).click();
    await page.getByLabel('Key starts with').fill('old/');
    await page.getByLabel('Host name').fill('old.example.com');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Rule added.' }).waitFor();
    await page.getByRole('button', { name: 'Add Mirror rule' }).click();
    await page.getByLabel('Key starts with').fill('pages/');
    await page.getByLabel('Origin URL (MirrorURL)').fill(originUrl);
    await page.getByLabel('Set headers (one “Name: value” a line)').fill('X-From: osprey');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Rule added.' }).waitFor();
    const rules = page.getByRole('table', { name: /Routing rules of walk/ });
    await page.getByRole('button', { name: 'Move rule 2 up' }).click();
    await page.getByRole('status').filter({ hasText: 'Rule moved up' }).waitFor();
    const rows = await rules.locator('tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    assert.match(
      rows[0] ?? '',
      /^1Mirrorkey starts with “pages\/” and object is missing \(404\)Fetch from http:\/\/127\.0\.0\.1:\d+\/site\/\$\{key\}/,
    );
    assert.match(rows[1] ?? '', /^2Externalkey starts with “old\/” and object is missing \(404\)302 to https:\/\/old\.example\.com\//);
    const href = await page.getByRole('link', { name: 'Download XML' }).getAttribute('href');
    const exported = decodeURIComponent((href ?? '').replace(/^data:application\/xml;charset=utf-8,/, ''));
    assert.match(
      await page.getByLabel('Current configuration (export)').inputValue(),
      /\n {4}<RoutingRule>\n {6}<RuleNumber>1<\/RuleNumber>/,
      'shown indented',
    );
    assert.match(exported, /<RuleNumber>1<\/RuleNumber><Condition><KeyPrefixEquals>pages\/<\/KeyPrefixEquals>/);
    const viaApi = await rawSigned(server.url, { path: '/walk', query: { website: '' } });
    assert.equal(viaApi.body, exported, 'the export is what GET ?website answers');
    await shot(page, '06-back-to-origin');

    // simulator: which rule fires and why the first did not, the origin URL and headers
    await page.getByRole('navigation', { name: 'Bucket walk' }).getByRole('link', { name: 'Simulate' }).click();
    await page.getByRole('heading', { name: 'Rule simulator' }).waitFor();
    await page.getByLabel('Key', { exact: true }).fill('pages/about.html');
    await page.getByLabel('Request headers (one “Name: value” a line)').fill('Cookie: secret');
    await page.getByRole('button', { name: 'Simulate' }).click();
    const outcome = page.locator('#sim-outcome');
    await outcome.waitFor();
    assert.match(
      (await outcome.textContent()) ?? '',
      new RegExp(`Mirror by rule 1: GET ${originUrl.replace(/[./]/g, '\\$&')}pages/about\\.html`),
    );
    assert.match((await page.getByRole('table', { name: 'Headers sent to the origin' }).textContent()) ?? '', /x-fromosprey/);
    assert.match((await page.getByRole('region', { name: 'Rules tried: error 404' }).textContent()) ?? '', /1fires/);
    assert.equal(originRequests.length, 0, 'the simulator contacts no origin');
    await shot(page, '07-simulator');

    // fetch it through Osprey (anonymous: the bucket is public-read), then watch Mirror activity
    const got = await fetch(`${server.url}/walk/pages/about.html`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'origin says /site/pages/about.html');
    assert.equal(got.headers.get('x-oss-tag'), `MIRROR ${originUrl}pages/about.html`);
    assert.equal(originRequests[0]?.headers['x-from'], 'osprey');
    await page.getByRole('link', { name: 'Mirror activity' }).click();
    const recent = page.getByRole('table', { name: 'Recent origin fetches' });
    await recent.getByRole('rowheader', { name: 'pages/about.html' }).waitFor();
    assert.match(
      (await recent.locator('tbody tr').first().textContent()) ?? '',
      new RegExp(`walkpages/about\\.html${originUrl.replace(/[./]/g, '\\$&')}pages/about\\.html200stored`),
    );
    // live: a slow fill shows up in progress, then among the recent ones, without reloading; a
    // second GET of the same key joins the fill as a follower
    const get = () => fetch(`${server.url}/walk/pages/slow.bin`).then((r) => r.arrayBuffer());
    const slow = Promise.all([get(), get()]);
    await page.getByRole('table', { name: 'Fills in progress' }).getByRole('rowheader', { name: 'pages/slow.bin' }).waitFor();
    await shot(page, '08-activity-in-progress');
    assert.deepEqual(
      (await slow).map((b) => b.byteLength),
      [8000, 8000],
    );
    await recent.getByRole('rowheader', { name: 'pages/slow.bin' }).waitFor({ timeout: 5000 });
    assert.match(
      (await recent.locator('tbody tr').first().textContent()) ?? '',
      /pages\/slow\.bin.*200stored7\.8 KiB\d+1$/,
      'one fill, one follower',
    );
    assert.equal(originRequests.filter((r) => r.url.endsWith('/slow.bin')).length, 1);
    await page.getByText('No origin fetch is in progress.').waitFor();
    await shot(page, '09-activity');

    const metrics = await (await fetch(`${server.url}/-/metrics`)).text();
    const storedFills = /^osprey_mirror_fetches_total\{[^}]*bucket="walk"[^}]*outcome="stored"[^}]*\} (\d+)$/m.exec(metrics);
    assert.equal(storedFills?.[1], '2', 'both fills are counted as stored in /-/metrics');

    // the mirrored object in the browser: a folder, the origin badge, x-oss-tag in the details
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('link', { name: 'walk', exact: true }).click();
    await page.getByRole('link', { name: 'pages/' }).click();
    await page.getByRole('button', { name: 'Details of pages/about.html' }).click();
    await page
      .getByRole('region', { name: 'pages/about.html' })
      .getByText(`Fetched from an origin: ${originUrl}pages/about.html`)
      .waitFor();
    assert.equal(
      await page
        .getByRole('row', { name: /about\.html/ })
        .getByText('from origin')
        .count(),
      1,
    );
    await shot(page, '10-object-from-origin');

    // pagination: 30 keys, 25 a page
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        rawSigned(server.url, { method: 'PUT', path: `/walk/many/k${String(i).padStart(2, '0')}`, body: 'x' }),
      ),
    );
    await page.getByRole('link', { name: 'walk', exact: true }).last().click();
    await page.getByRole('link', { name: 'many/' }).click();
    await page.getByLabel('Per page').selectOption('25');
    await page.getByRole('rowheader', { name: 'k25' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('rowheader', { name: 'k24' }).count(), 1);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('rowheader', { name: 'k29' }).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 5);
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('rowheader', { name: 'k00' }).waitFor();
    // delete an object (asks once more)
    await page.getByRole('button', { name: 'Delete many/k00' }).click();
    await page.getByRole('button', { name: 'Delete it' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted many/k00.' }).waitFor();
    await page.getByRole('rowheader', { name: 'k00' }).waitFor({ state: 'detached' });
    assert.equal((await rawSigned(server.url, { method: 'HEAD', path: '/walk/many/k00' })).status, 404);

    // a non-empty bucket cannot be deleted: the API's message; the ACL can be changed
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('button', { name: 'Delete walk' }).click();
    await page.getByRole('button', { name: 'Delete walk' }).click();
    const notEmpty = page.getByRole('alert');
    await notEmpty.waitFor();
    assert.equal((await notEmpty.textContent())?.trim(), 'BucketNotEmpty: The bucket you tried to delete is not empty.');
    await shot(page, '11-bucket-not-empty');
    await page.getByLabel('ACL of walk').selectOption('private');
    await page.getByRole('status').filter({ hasText: 'ACL of walk is now private.' }).waitFor();
    assert.equal((await fetch(`${server.url}/walk/hello.txt`)).status, 403, 'private again: anonymous reads are refused');

    // sign out: back to the sign-in page, the cookie is gone
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    assert.deepEqual(await context.cookies(), []);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Osprey' }).waitFor();
    await context.close();
  });

  it("an invalid rule shows the API's own message and stores nothing", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${server.url}/-/console/#/buckets/walk/origin`);
    await page.getByRole('button', { name: 'Add Mirror rule' }).click();
    await page.getByLabel('Origin URL (MirrorURL)').fill('ftp://files.example.com/');
    await page.getByRole('button', { name: 'Save rule' }).click();
    const error = page.locator('#rule-error');
    await error.waitFor();
    const expected = await apiMessage(
      'walk',
      `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>3</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>ftp://files.example.com/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`,
    );
    assert.match(expected, /^RoutingRule 3: /);
    assert.equal((await error.textContent())?.trim(), `InvalidArgument: ${expected}`);
    await shot(page, '12-rule-invalid');
    // the import path answers with the parser's own words too
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByLabel('Import (replaces the whole configuration)').fill('<WebsiteConfiguration><Nope/></WebsiteConfiguration>');
    await page.getByRole('button', { name: 'Import XML' }).click();
    await page.locator('#import-error').getByText('MalformedXML: Unknown element <Nope> in WebsiteConfiguration.').waitFor();
    const rules = await page
      .getByRole('table', { name: /Routing rules of walk/ })
      .locator('tbody tr')
      .count();
    assert.equal(rules, 2, 'nothing was stored');
    // index and error documents: the validator's message, then a valid pair stored
    await page.getByLabel('Error document', { exact: true }).fill('error.html');
    await page.getByLabel('Error document status').fill('302');
    await page.getByRole('button', { name: 'Save documents' }).click();
    await page
      .getByRole('alert')
      .getByText('InvalidArgument: ErrorDocument/HttpStatus must be a 2xx, 4xx or 5xx status code, not 302.')
      .waitFor();
    await page.getByLabel('Index document', { exact: true }).fill('index.html');
    await page.getByLabel('Error document status').fill('404');
    await page.getByRole('button', { name: 'Save documents' }).click();
    await page.getByRole('status').filter({ hasText: 'Documents saved.' }).waitFor();
    const cfg = (await rawSigned(server.url, { path: '/walk', query: { website: '' } })).body;
    assert.match(
      cfg,
      /<IndexDocument><Suffix>index\.html<\/Suffix><\/IndexDocument><ErrorDocument><Key>error\.html<\/Key><HttpStatus>404<\/HttpStatus><\/ErrorDocument>/,
    );
    assert.equal((cfg.match(/<RoutingRule>/g) ?? []).length, 2, 'the rules are kept');
    await context.close();
  });

  it('an expired session sends the visitor back to sign in, saying why', async () => {
    const { context, page } = await newPage();
    const expired = issueSession(ACCESS_KEY, SECRET_KEY, Date.now() - 13 * 3600_000);
    const cookie = {
      name: SESSION_COOKIE,
      value: expired.token,
      domain: '127.0.0.1',
      path: '/-/console',
      httpOnly: true,
      sameSite: 'Strict' as const,
    };
    await context.addCookies([cookie]);
    await page.goto(`${server.url}/-/console/#/activity`);
    await page.getByText('Your session has expired. Sign in again.').waitFor();
    await page.getByRole('heading', { name: 'Sign in to Osprey' }).waitFor();
    // and while in use: the session runs out between two clicks
    await page.getByLabel('Access key ID').fill(ACCESS_KEY);
    await page.getByLabel('Secret access key').fill(SECRET_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mirror activity', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('link', { name: 'walk', exact: true }).waitFor();
    await context.addCookies([cookie]);
    await page.getByRole('link', { name: 'walk', exact: true }).click();
    await page.getByText('Your session has expired. Sign in again.').waitFor();
    await shot(page, '13-session-expired');
    await context.close();
  });

  it('every screen at phone width (390×844)', async () => {
    const { context, page } = await newPage(PHONE);
    await page.goto(`${server.url}/-/console/`);
    await page.getByRole('heading', { name: 'Sign in to Osprey' }).waitFor();
    await shot(page, 'phone-01-sign-in');
    await signIn(page);
    const noSideScroll = async (what: string) =>
      assert.ok(
        await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'),
        `${what}: the page does not scroll sideways`,
      );
    await noSideScroll('buckets');
    await shot(page, 'phone-02-buckets');
    await page.goto(`${server.url}/-/console/#/buckets/walk`);
    await page.getByRole('button', { name: 'Details of hello.txt' }).click();
    await page.getByRole('region', { name: 'hello.txt' }).waitFor();
    await noSideScroll('objects');
    await shot(page, 'phone-03-objects');
    await page.goto(`${server.url}/-/console/#/buckets/walk/origin`);
    await page.getByRole('button', { name: 'Edit rule 1' }).click();
    await page.getByRole('heading', { name: 'Edit Mirror rule 1' }).waitFor();
    await noSideScroll('back-to-origin');
    await shot(page, 'phone-04-back-to-origin');
    await page.goto(`${server.url}/-/console/#/simulator?bucket=walk`);
    await page.getByLabel('Key', { exact: true }).fill('old/page.html');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.locator('#sim-outcome').getByText('Location: https://old.example.com/old/page.html').waitFor();
    await noSideScroll('simulator');
    await shot(page, 'phone-05-simulator');
    await page.goto(`${server.url}/-/console/#/activity`);
    await page.getByRole('table', { name: 'Recent origin fetches' }).waitFor();
    await noSideScroll('activity');
    await shot(page, 'phone-06-activity');
    await context.close();
  });

  it('the pages loaded nothing from anywhere but Osprey and raised no script or CSP errors', () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  });
});
