/**
 * `osprey import`'s HTTP source asks the origins exactly as a mirror fill does (origin/walker):
 * a 3xx without Location or a redirect loop fails over to the next origin, a 404 is final, and a
 * rule the fill refuses (a dot segment, MIR-03) is refused with the fill's words. Real origins on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SourceError } from '../../src/migrate/errors.ts';
import { HttpOriginSource, rulePlanner } from '../../src/migrate/source-http.ts';
import type { RoutingRule } from '../../src/rules/model.ts';

async function origin(
  routes: Record<string, [number, Record<string, string>?]>,
): Promise<{ base: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const [status, headers] = routes[req.url ?? ''] ?? [404];
    res.writeHead(status, headers ?? {});
    res.end(status === 200 && req.method === 'GET' ? `body of ${req.url ?? ''}` : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const rule = (primary: string, secondary: string): RoutingRule => ({
  RuleNumber: 1,
  Condition: { HttpErrorCodeReturnedEquals: 404 },
  Redirect: { RedirectType: 'Mirror', MirrorURL: primary, MirrorURLSlave: secondary, EnableReplacePrefix: true, ReplaceKeyPrefixWith: '' },
});

describe('import from an HTTP origin walks the origins as a fill does', () => {
  let a: Awaited<ReturnType<typeof origin>>;
  let b: Awaited<ReturnType<typeof origin>>;
  let source: HttpOriginSource;
  before(async () => {
    a = await origin({ '/nolocation': [302], '/loop': [302, { location: '/loop' }], '/gone': [404], '/down': [503] });
    b = await origin({ '/nolocation': [200], '/loop': [200], '/gone': [200], '/down': [200] });
    source = new HttpOriginSource('test', [], rulePlanner(rule(a.base, b.base), 'import-test', undefined), 5000);
  });
  after(async () => {
    await source.close();
    await a.close();
    await b.close();
  });
  const fetched = async (key: string) => {
    const f = await source.fetch({ key, sourceKey: key }, AbortSignal.timeout(10_000));
    return { url: f.originUrl, body: Buffer.concat((await f.body.toArray()) as Buffer[]).toString() };
  };

  it('MIR-37 a 5xx fails over; a 404 is final', async () => {
    assert.deepEqual(await fetched('down'), { url: `${b.base}down`, body: 'body of /down' });
    await assert.rejects(
      source.fetch({ key: 'gone', sourceKey: 'gone' }, AbortSignal.timeout(10_000)),
      (e: unknown) => e instanceof SourceError && e.notFound,
    );
    assert.ok(!b.seen.includes('GET /gone'));
  });

  it('a 3xx without Location fails over, as a fill does', async () => {
    assert.deepEqual(await fetched('nolocation'), { url: `${b.base}nolocation`, body: 'body of /nolocation' });
  });

  it('more than 10 redirects fail over, as a fill does', async () => {
    assert.deepEqual(await fetched('loop'), { url: `${b.base}loop`, body: 'body of /loop' });
    assert.equal(a.seen.filter((s) => s === 'GET /loop').length, 10);
  });

  it("MIR-03 a key the fill refuses (a dot segment) is refused with the fill's reason, not retried", async () => {
    await assert.rejects(
      source.fetch({ key: '../x', sourceKey: '../x' }, AbortSignal.timeout(10_000)),
      (e: unknown) => e instanceof SourceError && !e.transient && /'\.' or '\.\.' segment/.test(e.message),
    );
  });
});
