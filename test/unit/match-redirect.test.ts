/**
 * The matcher (spec §2), the redirect builder (§4) and the mirror plan (§3.2, §3.3): pure tables.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRules } from '../../src/rules/match.ts';
import type { MatchRequest, Phase } from '../../src/rules/match.ts';
import { mirrorPlan, originHeaders, originQuery } from '../../src/rules/mirror-plan.ts';
import { buildRedirect, newKey } from '../../src/rules/redirect.ts';
import type { Redirect, RoutingRule } from '../../src/rules/rules.ts';

const rule = (n: number, cond: RoutingRule['Condition'], redirect: Partial<Redirect> = {}): RoutingRule => ({
  RuleNumber: n,
  Condition: cond,
  Redirect: { RedirectType: 'External', Protocol: 'https', HostName: 'h.example.com', ...redirect },
});
const req = (key: string, headers: Record<string, string> = {}, method = 'GET'): MatchRequest => ({ key, method, headers });
const PRE: Phase = { kind: 'pre' };
const E404: Phase = { kind: 'error', status: 404 };

describe('matchRules (§2)', () => {
  const table: [string, RoutingRule[], MatchRequest, Phase, number | undefined][] = [
    [
      'MAT-01 lowest RuleNumber wins, whatever the list order',
      [rule(5, { KeyPrefixEquals: 'a' }), rule(2, { KeyPrefixEquals: 'a' })],
      req('abc'),
      PRE,
      2,
    ],
    [
      'MAT-02 all conditions ANDed: prefix holds, suffix does not',
      [rule(1, { KeyPrefixEquals: 'a/', KeySuffixEquals: '.jpg' })],
      req('a/x.png'),
      PRE,
      undefined,
    ],
    ['MAT-02 prefix and suffix both hold', [rule(1, { KeyPrefixEquals: 'a/', KeySuffixEquals: '.jpg' })], req('a/x.jpg'), PRE, 1],
    ['MAT-04 prefix is case-sensitive', [rule(1, { KeyPrefixEquals: 'Img/' })], req('img/x'), PRE, undefined],
    ['MAT-04 punctuation prefix', [rule(1, { KeyPrefixEquals: '~!@#$%^&*()' })], req('~!@#$%^&*()x'), PRE, 1],
    [
      'MAT-05 header name case-insensitive, value exact',
      [rule(1, { IncludeHeader: [{ Key: 'X-Flag', Equals: 'on' }] })],
      req('k', { 'x-flag': 'on' }),
      PRE,
      1,
    ],
    [
      'MAT-05 header value is case-sensitive',
      [rule(1, { IncludeHeader: [{ Key: 'x-flag', Equals: 'on' }] })],
      req('k', { 'x-flag': 'ON' }),
      PRE,
      undefined,
    ],
    ['MAT-05 missing header fails', [rule(1, { IncludeHeader: [{ Key: 'x-flag', Equals: 'on' }] })], req('k'), PRE, undefined],
    [
      'MAT-05 StartsWith / EndsWith',
      [
        rule(1, {
          IncludeHeader: [
            { Key: 'user-agent', StartsWith: 'Mozilla' },
            { Key: 'host', EndsWith: '.example.com' },
          ],
        }),
      ],
      req('k', { 'user-agent': 'Mozilla/5.0', host: 'www.example.com' }),
      PRE,
      1,
    ],
    [
      'MAT-05 several IncludeHeader ANDed',
      [
        rule(1, {
          IncludeHeader: [
            { Key: 'a', Equals: '1' },
            { Key: 'b', Equals: '2' },
          ],
        }),
      ],
      req('k', { a: '1', b: '3' }),
      PRE,
      undefined,
    ],
    [
      'MAT-06 MAT-07 an error rule does not fire before the lookup',
      [rule(1, { HttpErrorCodeReturnedEquals: 404 })],
      req('k'),
      PRE,
      undefined,
    ],
    ['MAT-06 an error rule fires for its status', [rule(1, { HttpErrorCodeReturnedEquals: 404 })], req('k'), E404, 1],
    ['MAT-06 another status does not fire it', [rule(1, { HttpErrorCodeReturnedEquals: 500 })], req('k'), E404, undefined],
    [
      'MAT-07 a pre-routing rule is not reconsidered in the error phase',
      [rule(1, { KeyPrefixEquals: 'k' }), rule(2, { HttpErrorCodeReturnedEquals: 404 })],
      req('k'),
      E404,
      2,
    ],
    [
      'MAT-07 first rule in its phase wins (rule 1 pre-routing, rule 2 error)',
      [rule(2, { HttpErrorCodeReturnedEquals: 404 }), rule(1, { KeyPrefixEquals: 'k' })],
      req('k'),
      PRE,
      1,
    ],
    ['MAT-08 PUT is never routed', [rule(1, {})], req('k', {}, 'PUT'), PRE, undefined],
    ['MAT-08 HEAD follows redirect rules', [rule(1, {})], req('k', {}, 'HEAD'), PRE, 1],
    [
      'MAT-08 HEAD does not mirror without MirrorAllowHeadObject',
      [
        rule(1, { HttpErrorCodeReturnedEquals: 404 }, { RedirectType: 'Mirror', MirrorURL: 'http://o/' }),
        rule(2, { HttpErrorCodeReturnedEquals: 404 }),
      ],
      req('k', {}, 'HEAD'),
      E404,
      2,
    ],
    [
      'MAT-08 HEAD mirrors with MirrorAllowHeadObject',
      [rule(1, { HttpErrorCodeReturnedEquals: 404 }, { RedirectType: 'Mirror', MirrorURL: 'http://o/', MirrorAllowHeadObject: true })],
      req('k', {}, 'HEAD'),
      E404,
      1,
    ],
    [
      'RED-09 an S3 rule without Condition always matches',
      [{ RuleNumber: 1, Redirect: { RedirectType: 'External', HostName: 'h' } }],
      req('anything'),
      PRE,
      1,
    ],
  ];
  for (const [name, rules, r, phase, want] of table) {
    it(name, () => {
      const m = matchRules(rules, r, phase);
      assert.equal(m.rule?.RuleNumber, want);
      assert.equal(m.trace.filter((t) => t.matched).length, want === undefined ? 0 : 1);
      for (const t of m.trace) assert.ok(t.reason.length > 0);
    });
  }
  it('MAT-03 the trace explains every rule considered before the one that fired', () => {
    const m = matchRules([rule(1, { KeyPrefixEquals: 'x/' }), rule(2, { KeySuffixEquals: '.png' }), rule(3, {})], req('a/b.jpg'), PRE);
    assert.deepEqual(
      m.trace.map((t) => [t.ruleNumber, t.matched]),
      [
        [1, false],
        [2, false],
        [3, true],
      ],
    );
    assert.match(m.trace[0]?.reason ?? '', /does not start with 'x\/'/);
    assert.match(m.trace[1]?.reason ?? '', /does not end with '.png'/);
  });
});

describe('redirects (§4)', () => {
  const base = { host: 'bucket.example.org', protocol: 'http' as const, query: '' };
  const table: [string, RoutingRule, { key: string; query?: string }, number, string][] = [
    [
      'RED-01 ReplaceKeyWith with ${key}',
      rule(1, {}, { ReplaceKeyWith: 'prefix/${key}.suffix' }),
      { key: 'test' },
      301,
      'https://h.example.com/prefix/test.suffix',
    ],
    [
      'RED-01 ReplaceKeyPrefixWith replaces the KeyPrefixEquals part',
      rule(1, { KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/' }),
      { key: 'abc/test.txt' },
      301,
      'https://h.example.com/def/test.txt',
    ],
    [
      'RED-01 ReplaceKeyPrefixWith without a prefix condition is prepended',
      rule(1, {}, { ReplaceKeyPrefixWith: 'new/' }),
      { key: 'a.txt' },
      301,
      'https://h.example.com/new/a.txt',
    ],
    [
      'RED-01 EnableReplacePrefix=false keeps the key',
      rule(1, { KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/', EnableReplacePrefix: false }),
      { key: 'abc/t' },
      301,
      'https://h.example.com/abc/t',
    ],
    [
      'RED-02 the key is percent-encoded, slashes kept',
      rule(1, {}),
      { key: 'a b/ü?.txt' },
      301,
      'https://h.example.com/a%20b/%C3%BC%3F.txt',
    ],
    [
      'RED-02 PassQueryString appends the query',
      rule(1, {}, { PassQueryString: true }),
      { key: 'k', query: 'a=b&c=d' },
      301,
      'https://h.example.com/k?a=b&c=d',
    ],
    ['RED-02 no query without PassQueryString', rule(1, {}), { key: 'k', query: 'a=b' }, 301, 'https://h.example.com/k'],
    ['RED-03 HttpRedirectCode', rule(1, {}, { HttpRedirectCode: 307 }), { key: 'k' }, 307, 'https://h.example.com/k'],
    [
      'RED-07 AliCDN is computed like External',
      rule(1, {}, { RedirectType: 'AliCDN', HttpRedirectCode: 302 }),
      { key: 'k' },
      302,
      'https://h.example.com/k',
    ],
    [
      'RED-09 S3 rule: missing Protocol and HostName come from the request',
      { RuleNumber: 1, Redirect: { RedirectType: 'External', ReplaceKeyPrefixWith: 'x/' } },
      { key: 'k' },
      301,
      'http://bucket.example.org/x/k',
    ],
  ];
  for (const [name, r, q, status, location] of table) {
    it(name, () => {
      const out = buildRedirect(r, { ...base, key: q.key, query: q.query ?? '' });
      assert.equal(out.status, status);
      assert.equal(out.location, location);
    });
  }
  it('RED-08 Internal computes the new key only', () => {
    assert.equal(
      newKey(rule(1, { KeyPrefixEquals: 'old/' }, { RedirectType: 'Internal', ReplaceKeyPrefixWith: 'new/' }), 'old/a'),
      'new/a',
    );
  });
});

describe('mirror plan (§3.2, §3.3)', () => {
  const m = (redirect: Partial<Redirect>, cond: RoutingRule['Condition'] = { HttpErrorCodeReturnedEquals: 404 }) =>
    rule(1, cond, { RedirectType: 'Mirror', MirrorURL: 'http://o.example.com/', ...redirect });
  it('MIR-03 MirrorURL + key, a path in MirrorURL kept', () => {
    assert.deepEqual(mirrorPlan(m({}), { key: 'a/b.jpg', query: '', headers: {} }).urls, ['http://o.example.com/a/b.jpg']);
    assert.deepEqual(mirrorPlan(m({ MirrorURL: 'http://o.example.com/dir1/' }), { key: 'a/b.jpg', query: '', headers: {} }).urls, [
      'http://o.example.com/dir1/a/b.jpg',
    ]);
  });
  it('MIR-04 EnableReplacePrefix rewrites the origin key, the stored key stays', () => {
    const p = mirrorPlan(
      m(
        { EnableReplacePrefix: true, ReplaceKeyPrefixWith: 'destfolder/' },
        { KeyPrefixEquals: 'examplefolder/', HttpErrorCodeReturnedEquals: 404 },
      ),
      { key: 'examplefolder/example.txt', query: '', headers: {} },
    );
    assert.deepEqual(p.urls, ['http://o.example.com/destfolder/example.txt']);
    assert.equal(p.storeKey, 'examplefolder/example.txt');
  });
  it('MIR-05 RFC 3986 encoding per segment', () => {
    assert.deepEqual(mirrorPlan(m({}), { key: 'a b/c+d/é#?', query: '', headers: {} }).urls, [
      'http://o.example.com/a%20b/c%2Bd/%C3%A9%23%3F',
    ]);
  });
  it('MIR-07 MIR-08 query only when configured, auth parameters stripped', () => {
    const q = 'w=1&X-Amz-Signature=s&OSSAccessKeyId=a&Expires=1&h=2&x-oss-signature=z&security-token=t';
    assert.equal(originQuery(m({}), q), '');
    assert.equal(originQuery(m({ MirrorPassQueryString: true }), q), 'w=1&h=2');
    assert.equal(originQuery(m({ PassQueryString: true }), q), 'w=1&h=2');
    assert.equal(originQuery(m({ PassQueryString: true, MirrorPassQueryString: false }), q), '');
  });
  it('MIR-10 no client header by default', () => {
    const h = originHeaders(m({}), { cookie: 'c', 'x-a': '1' });
    assert.deepEqual(Object.keys(h).sort(), ['accept-encoding', 'user-agent']);
  });
  it('MIR-11 MIR-12 MIR-13 PassAll minus reserved and Remove, plus Pass, then Set wins', () => {
    const client = {
      'x-a': '1',
      'x-b': '2',
      authorization: 'secret',
      range: 'bytes=0-1',
      'x-oss-meta-a': 'm',
      connection: 'keep-alive',
      host: 'me',
      cookie: 'c',
      'content-length': '5',
    };
    const h = originHeaders(
      m({
        MirrorHeaders: {
          PassAll: true,
          Remove: ['cookie'],
          Set: [
            { Key: 'x-b', Value: 'set' },
            { Key: 'x-new', Value: 'n' },
          ],
        },
      }),
      client,
    );
    assert.equal(h['x-a'], '1');
    assert.equal(h['x-b'], 'set');
    assert.equal(h['x-new'], 'n');
    for (const gone of ['authorization', 'range', 'x-oss-meta-a', 'connection', 'host', 'cookie', 'content-length'])
      assert.equal(h[gone], undefined, gone);
    const pass = originHeaders(m({ MirrorHeaders: { PassAll: false, Pass: ['x-a', 'authorization'] } }), client);
    assert.equal(pass['x-a'], '1');
    assert.equal(pass.authorization, undefined);
  });
  it('MIR-14 Osprey identifies itself and asks for identity encoding', () => {
    const h = originHeaders(m({}), {});
    assert.match(h['user-agent'] ?? '', /^osprey-mirror\//);
    assert.equal(h['accept-encoding'], 'identity');
  });
  it('MIR-37 MIR-40 primary, secondary, then alternates by number', () => {
    const p = mirrorPlan(
      m({
        MirrorURLSlave: 'http://s.example.com/',
        MirrorURLProbe: 'http://o.example.com/health',
        MirrorMultiAlternates: {
          MirrorMultiAlternate: [
            { MirrorMultiAlternateNumber: 2, MirrorMultiAlternateURL: 'http://c.example.com/' },
            { MirrorMultiAlternateNumber: 1, MirrorMultiAlternateURL: 'http://b.example.com/' },
          ],
        },
      }),
      { key: 'k', query: '', headers: {} },
    );
    assert.deepEqual(p.urls, ['http://o.example.com/k', 'http://s.example.com/k', 'http://b.example.com/k', 'http://c.example.com/k']);
    assert.equal(p.probeUrl, 'http://o.example.com/health');
  });
});
