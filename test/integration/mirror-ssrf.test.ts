/**
 * VAL-16 at connect time (src/origin/connect-guard.ts): a MirrorURL host NAME passes the check at
 * PUT ?website (only literal addresses and localhost are refused there), so the mirror's dispatcher
 * must check the address the name resolves to. Names under `.osprey.test` (RFC 6761: never real)
 * are resolved by this test's own lookup to 127.0.0.1, so nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored, xmlField } from '../helpers/raw.ts';

/** Test names -> the addresses they "resolve" to; any other name goes to the real resolver. */
const FAKE: Record<string, LookupAddress[]> = {
  'origin.osprey.test': [{ address: '127.0.0.1', family: 4 }],
  // DNS rebinding style: a public address first, loopback behind it
  'rebind.osprey.test': [
    { address: '203.0.113.10', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ],
};

const realLookup = dns.lookup;
function fakeLookup(hostname: string, options: unknown, cb?: unknown): void {
  const callback = (typeof options === 'function' ? options : cb) as (
    err: NodeJS.ErrnoException | null,
    address: string | LookupAddress[],
    family?: number,
  ) => void;
  const opts = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean };
  const list = FAKE[hostname];
  if (!list) return void (realLookup as (h: string, o: unknown, c: unknown) => void)(hostname, options, cb);
  queueMicrotask(() => (opts.all ? callback(null, list) : callback(null, list[0]?.address ?? '', list[0]?.family)));
}

function website(originUrl: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

describe('VAL-16 SSRF: a name that resolves to a refused address is refused when connecting', () => {
  let origin: http.Server;
  let port = 0;
  let hits = 0;
  let strict: TestServer;
  let allowing: TestServer;
  before(async () => {
    (dns as { lookup: unknown }).lookup = fakeLookup;
    syncBuiltinESMExports();
    origin = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('internal data');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    port = (origin.address() as AddressInfo).port;
    // no allow-list at all / the helper's default, 127.0.0.0/8
    [strict, allowing] = await Promise.all([startOsprey({ originAllow: [] }), startOsprey()]);
  });
  after(async () => {
    (dns as { lookup: unknown }).lookup = realLookup;
    syncBuiltinESMExports();
    await Promise.all([strict.close(), allowing.close()]);
    origin.close();
  });

  async function configure(server: TestServer, bucket: string, originUrl: string): Promise<void> {
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website(originUrl) });
    assert.equal(r.status, 200, `the name passes the configuration-time check: ${r.body}`);
  }

  async function assertRefused(server: TestServer, bucket: string, key: string, resolved: RegExp): Promise<void> {
    const before = hits;
    const r = await fetch(`${server.url}/${bucket}/${key}`);
    assert.equal(r.status, 424);
    const body = await r.text();
    assert.equal(xmlField(body, 'Code'), 'MirrorFailed');
    assert.match(xmlField(body, 'Message') ?? '', resolved);
    assert.equal(hits, before, 'the origin was never contacted');
    const list = await rawSigned(server.url, { path: `/${bucket}`, query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/, 'nothing stored');
  }

  it('originAllow empty: origin.osprey.test -> 127.0.0.1 is refused at connect time, nothing stored', async () => {
    await configure(strict, 'named', `http://origin.osprey.test:${port}/`);
    await assertRefused(
      strict,
      'named',
      'secret.txt',
      /origin\.osprey\.test resolves to 127\.0\.0\.1, which is refused: it is a loopback address/,
    );
  });

  it('a name with a public and a loopback address (rebinding) is refused too', async () => {
    await configure(strict, 'rebind', `http://rebind.osprey.test:${port}/`);
    await assertRefused(strict, 'rebind', 'secret.txt', /rebind\.osprey\.test resolves to 127\.0\.0\.1/);
  });

  it('the same rule with originAllow covering 127.0.0.0/8 mirrors', async () => {
    await configure(allowing, 'named', `http://origin.osprey.test:${port}/`);
    const before = hits;
    const r = await fetch(`${allowing.url}/named/secret.txt`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'internal data');
    assert.equal(hits, before + 1);
    await untilStored(allowing.url, '/named/secret.txt');
    assert.equal((await rawSigned(allowing.url, { path: '/named/secret.txt' })).body, 'internal data');
  });

  it('allowing the NAME localhost does not allow the loopback address it resolves to', async () => {
    const byName = await startOsprey({ originAllow: ['localhost'] });
    try {
      await configure(byName, 'local', `http://localhost:${port}/`);
      await assertRefused(
        byName,
        'local',
        'secret.txt',
        /localhost resolves to (127\.0\.0\.1|::1), which is refused: it is a loopback address/,
      );
    } finally {
      await byName.close();
    }
  });
});
