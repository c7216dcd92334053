/**
 * Mirror plans (spec §3.2, §3.3, and the fetch settings of §3.4–§3.13 the engine reads), beyond the
 * basic cases in match-redirect.test.ts. Pure: nothing is fetched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_ORIGIN_REDIRECTS,
  isOriginFailure,
  mirrorPlan,
  originHeaderPlan,
  originKey,
  originRequest,
} from '../../src/rules/mirror-plan.ts';
import type { Redirect, RoutingRule } from '../../src/rules/rules.ts';

const m = (redirect: Partial<Redirect> = {}, cond: RoutingRule['Condition'] = { HttpErrorCodeReturnedEquals: 404 }): RoutingRule => ({
  RuleNumber: 1,
  Condition: cond,
  Redirect: { RedirectType: 'Mirror', MirrorURL: 'https://example.com/', ...redirect },
});
const plan = (rule: RoutingRule, key: string, more: Partial<Parameters<typeof mirrorPlan>[1]> = {}) =>
  mirrorPlan(rule, { key, query: '', headers: {}, ...more });

describe('origin key and URL (MIR-03…MIR-09)', () => {
  const prefix = { KeyPrefixEquals: 'examplefolder/', HttpErrorCodeReturnedEquals: 404 };
  const table: [string, RoutingRule, string, string | undefined, string][] = [
    [
      'MIR-04 an empty ReplaceKeyPrefixWith drops the prefix ("truncated")',
      m({ EnableReplacePrefix: true, ReplaceKeyPrefixWith: '' }, prefix),
      'examplefolder/a.txt',
      undefined,
      'https://example.com/a.txt',
    ],
    [
      'MIR-04 ReplaceKeyPrefixWith without EnableReplacePrefix=true is not applied to the origin key',
      m({ ReplaceKeyPrefixWith: 'dest/' }, prefix),
      'examplefolder/a.txt',
      undefined,
      'https://example.com/examplefolder/a.txt',
    ],
    [
      'MIR-04 [decision] ReplaceKeyWith with ${key} (the console\'s "add prefix/suffix")',
      m({ ReplaceKeyWith: 'pre/${key}.orig' }),
      'a/b.jpg',
      undefined,
      'https://example.com/pre/a/b.jpg.orig',
    ],
    [
      'MIR-06 S11 example: original slashes kept with MirrorPassOriginalSlashes',
      m({ EnableReplacePrefix: true, ReplaceKeyPrefixWith: 'destfolder/', MirrorPassOriginalSlashes: true }, prefix),
      'examplefolder/example.txt',
      '//examplefolder/example.txt',
      'https://example.com///destfolder/example.txt',
    ],
    ['MIR-06 repeated inner slashes kept too', m({ MirrorPassOriginalSlashes: true }), 'a/b', 'a//b', 'https://example.com/a//b'],
    ['MIR-06 default: the key as parsed, the raw path ignored', m({}), 'a/b', '//a//b', 'https://example.com/a/b'],
    [
      'MIR-06 default: repeated slashes in the key collapse to one, leading ones go',
      m({}),
      '/a//b///c',
      undefined,
      'https://example.com/a/b/c',
    ],
    [
      "MIR-06 MirrorPassOriginalSlashes without a raw key keeps the key's own slashes",
      m({ MirrorPassOriginalSlashes: true }),
      'a//b',
      undefined,
      'https://example.com/a//b',
    ],
    ['MIR-05 reserved characters encoded per segment', m({}), 'q?&=#%/ sp', undefined, 'https://example.com/q%3F%26%3D%23%25/%20sp'],
    [
      'MIR-09 MirrorURL is an opaque prefix (a query in it is kept as written)',
      m({ MirrorURL: 'https://img.example.com/?x-oss-process=style/' }),
      'a.jpg',
      undefined,
      'https://img.example.com/?x-oss-process=style/a.jpg',
    ],
  ];
  for (const [name, rule, key, rawKey, url] of table) {
    it(name, () => {
      const p = plan(rule, key, rawKey === undefined ? {} : { rawKey });
      assert.equal(p.urls[0], url);
      assert.equal(p.storeKey, key.replace(/^\/+/, ''), 'stored under the requested key (MIR-04, MIR-06)');
    });
  }
  it('MIR-07 MIR-08 MIR-09 the query joins a MirrorURL that has one, credentials stripped', () => {
    const p = plan(m({ MirrorURL: 'https://img.example.com/?a=1/', MirrorPassQueryString: true }), 'k', {
      query: 'w=100&X-Amz-Signature=s',
    });
    assert.equal(p.urls[0], 'https://img.example.com/?a=1/k&w=100');
    assert.equal(p.passQuery, true);
  });
  it('MIR-04 originKey alone', () => {
    assert.equal(originKey(m({ EnableReplacePrefix: true, ReplaceKeyPrefixWith: 'b/' }, { KeyPrefixEquals: 'a/' }), 'a/x'), 'b/x');
    assert.equal(originKey(m({ EnableReplacePrefix: true, ReplaceKeyPrefixWith: 'b/' }, { KeyPrefixEquals: 'a/' }), 'z/x'), 'z/x');
  });
});

describe('origin headers (MIR-10…MIR-14)', () => {
  it('MIR-13a Set may name Host: sent as Host and reported as the override', () => {
    const p = originHeaderPlan(m({ MirrorHeaders: { Set: [{ Key: 'Host', Value: 'www.example.com' }] } }), { host: 'osprey.local' });
    assert.equal(p.headers.host, 'www.example.com');
    assert.equal(p.hostOverride, 'www.example.com');
  });
  it('MIR-11 MIR-13 reserved and hop-by-hop names are refused in Pass and Set, and the simulator is told why', () => {
    const client = {
      authorization: 'AWS4 x',
      'x-oss-meta-a': '1',
      connection: 'close',
      'proxy-authorization': 'p',
      te: 'trailers',
      date: 'now',
      'x-ok': 'y',
    };
    const p = originHeaderPlan(
      m({
        MirrorHeaders: {
          PassAll: true,
          Pass: ['Authorization'],
          Set: [
            { Key: 'Range', Value: 'bytes=0-1' },
            { Key: 'Transfer-Encoding', Value: 'chunked' },
          ],
        },
      }),
      client,
    );
    assert.deepEqual(Object.keys(p.headers).sort(), ['accept-encoding', 'user-agent', 'x-ok']);
    const why = Object.fromEntries(p.dropped.map((d) => [d.name, d.reason]));
    assert.match(why.authorization ?? '', /MIR-11/);
    assert.match(why['x-oss-meta-a'] ?? '', /MIR-11/);
    assert.match(why.connection ?? '', /hop-by-hop/);
    assert.match(why['proxy-authorization'] ?? '', /hop-by-hop/);
    assert.match(why.range ?? '', /Set ignored/);
    assert.match(why['transfer-encoding'] ?? '', /Set ignored/);
  });
  it('MIR-12 Remove beats PassAll and Pass; Set beats Remove', () => {
    const p = originHeaderPlan(
      m({ MirrorHeaders: { PassAll: true, Pass: ['x-a'], Remove: ['X-A', 'x-b'], Set: [{ Key: 'x-b', Value: 'set' }] } }),
      { 'x-a': '1', 'x-b': '2', 'x-c': '3' },
    );
    assert.deepEqual(p.headers, { 'x-b': 'set', 'x-c': '3', 'user-agent': 'osprey-mirror/0.1.0', 'accept-encoding': 'identity' });
  });
  it('MIR-12 Pass names match client headers in any case; repeated values are combined', () => {
    const p = originHeaderPlan(m({ MirrorHeaders: { Pass: ['X-Trace'] } }), { 'x-trace': ['a', 'b'] });
    assert.equal(p.headers['x-trace'], 'a, b');
  });
  it('MIR-14 a passed Accept-Encoding or User-Agent is kept; the engine may give its own User-Agent', () => {
    const passed = originHeaderPlan(m({ MirrorHeaders: { Pass: ['accept-encoding', 'user-agent'] } }), {
      'accept-encoding': 'gzip',
      'user-agent': 'curl/8',
    });
    assert.equal(passed.headers['accept-encoding'], 'gzip');
    assert.equal(passed.headers['user-agent'], 'curl/8');
    assert.equal(plan(m(), 'k', { userAgent: 'osprey-mirror/9.9.9' }).headers['user-agent'], 'osprey-mirror/9.9.9');
  });
});

describe('fetch settings the engine reads', () => {
  it('§3.4 MIR-17 MIR-23 MIR-32 defaults: follow up to 10 redirects, no MD5 check, store, 5xx/timeout failover', () => {
    const p = plan(m(), 'k');
    assert.equal(p.method, 'GET');
    assert.equal(p.followRedirects, true);
    assert.equal(p.maxRedirects, MAX_ORIGIN_REDIRECTS);
    assert.equal(p.checkMd5, false);
    assert.equal(p.store, true);
    assert.equal(p.failover, '5xx-or-timeout');
    assert.deepEqual(p.transparentStatuses, []);
    assert.equal(p.auth, undefined);
  });
  it("MIR-17 MIR-23 MIR-32 MIR-37 MIR-47 MIR-15 the rule's switches", () => {
    const p = plan(
      m({
        MirrorFollowRedirect: false,
        MirrorCheckMd5: true,
        MirrorProxyPass: true,
        MirrorSwitchAllErrors: true,
        MirrorAsyncStatus: 302,
        TransparentMirrorResponseCodes: '400, 404',
        MirrorAuth: { AccessKeyId: 'AK', AccessKeySecret: 'S', AuthType: 's3v4', Region: 'us-east-1' },
      }),
      'k',
    );
    assert.equal(p.followRedirects, false);
    assert.equal(p.maxRedirects, 0);
    assert.equal(p.checkMd5, true);
    assert.equal(p.store, false);
    assert.equal(p.failover, 'any-unexpected-status');
    assert.equal(p.asyncStatus, 302);
    assert.deepEqual(p.transparentStatuses, [400, 404]);
    assert.deepEqual(p.auth, { type: 's3v4', region: 'us-east-1', accessKeyId: 'AK' });
    assert.doesNotMatch(JSON.stringify(p), /"S"/, 'the secret is not in the plan');
  });
  it('MIR-45 HEAD: the plan is a HEAD and stores nothing', () => {
    const p = plan(m({ MirrorAllowHeadObject: true }), 'k', { method: 'HEAD' });
    assert.equal(p.method, 'HEAD');
    assert.equal(p.store, false);
  });
  it('MIR-37 what fails over', () => {
    const cases: [number | 'network', boolean, boolean][] = [
      [500, false, true],
      [503, false, true],
      ['network', false, true],
      [403, false, false],
      [404, false, false],
      [200, false, false],
      [403, true, true],
      [400, true, true],
      [404, true, false],
      [206, true, false],
      [301, true, false],
      [302, true, false],
      [303, true, false],
      [307, true, false],
      [308, true, true],
      [502, true, true],
    ];
    for (const [answer, all, want] of cases) assert.equal(isOriginFailure(answer, all), want, `${answer} switchAll=${all}`);
  });
  it('MIR-27, MIR-28, MIR-30, MIR-31 the store settings are in the plan', () => {
    const p = plan(
      m({
        MirrorSaveOssMeta: true,
        MirrorUserLastModified: true,
        MirrorReturnHeaders: { ReturnHeader: [{ Key: 'X-Served-By', Value: 'osprey' }] },
        MirrorTaggings: { Taggings: [{ Key: 'src', Value: 'mirror' }] },
      }),
      'k',
    );
    assert.equal(p.saveMeta, true);
    assert.equal(p.originLastModified, true);
    assert.deepEqual(p.returnHeaders, { 'x-served-by': 'osprey' });
    assert.deepEqual(p.tagging, { 'x-osprey-tagging': 'src=mirror', 'x-amz-tagging-count': '1' });
    const bare = plan(m({}), 'k');
    assert.deepEqual([bare.saveMeta, bare.originLastModified, bare.returnHeaders, bare.tagging], [false, false, {}, {}]);
  });
  it('MIR-15 originRequest joins the MirrorAuth key pair the plan leaves out; MIR-03 and an unknown AuthType are refused', () => {
    const rule = m({
      MirrorURLSlave: 'https://b.example.com/',
      MirrorURLProbe: 'https://example.com/health',
      MirrorSwitchAllErrors: true,
      MirrorHeaders: { Set: [{ Key: 'Host', Value: 'h.example.com' }] },
      MirrorAuth: { AccessKeyId: 'AK', AccessKeySecret: 'S', AuthType: 'oss' },
    });
    const p = plan(rule, 'k');
    const req = originRequest(rule, p);
    assert.ok(!('refused' in req));
    assert.deepEqual(req.urls, p.urls);
    assert.equal(req.probeUrl, 'https://example.com/health');
    assert.equal(req.headers.host, 'h.example.com');
    assert.equal(req.switchAllErrors, true);
    assert.equal(req.maxRedirects, MAX_ORIGIN_REDIRECTS);
    assert.deepEqual(req.auth, { type: 'oss', accessKeyId: 'AK', secretAccessKey: 'S', region: 'us-east-1' });
    assert.match((originRequest(rule, plan(rule, '../x')) as { refused: string }).refused, /'\.' or '\.\.' segment/);
    const odd = m({ MirrorAuth: { AccessKeyId: 'AK', AccessKeySecret: 'S', AuthType: 'hmac-md5' } });
    assert.match((originRequest(odd, plan(odd, 'k')) as { refused: string }).refused, /AuthType 'hmac-md5' is not supported/);
  });
});
