/**
 * Redirect Locations (spec §4) beyond the basic table in match-redirect.test.ts: key rewriting
 * corner cases, encoding, query handling, codes, and S3's RedirectAllRequestsTo. Pure. Issue 18:
 * the bucket kept for path-style requests when the Location stays on the same host,
 * ReplaceKeyWith's `?` and `#`, and External/AliCDN rules without Protocol (VAL-10 as amended).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRedirect, encodeKeyPath, newKey, redirectAll } from '../../src/rules/redirect.ts';
import type { RedirectRequest } from '../../src/rules/redirect.ts';
import type { Redirect, RoutingRule } from '../../src/rules/rules.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import { stripAuthParams, withQuery } from '../../src/codec/uri.ts';
import { decide } from '../../src/rules/resolve.ts';
import type { WebsiteRequest } from '../../src/rules/resolve.ts';

const ext = (cond: RoutingRule['Condition'], redirect: Partial<Redirect> = {}): RoutingRule => ({
  RuleNumber: 1,
  Condition: cond,
  Redirect: { RedirectType: 'External', Protocol: 'https', HostName: 'h.example.com', ...redirect },
});
const req = (key: string, query = '') => ({ key, query, host: 'b.example.org:9000', protocol: 'http' as const });

describe('RED-01 the new key', () => {
  const table: [string, RoutingRule, string, string][] = [
    ['RED-01 ${key} may appear several times', ext({}, { ReplaceKeyWith: '${key}/${key}' }), 'a', 'a/a'],
    [
      'RED-01 ReplaceKeyWith without ${key} replaces the whole key',
      ext({ KeyPrefixEquals: 'images/' }, { ReplaceKeyWith: 'folderdeleted.html' }),
      'images/x.png',
      'folderdeleted.html',
    ],
    [
      'RED-01 an empty ReplaceKeyWith counts as unset (VAL-09 compares non-empty values)',
      ext({ KeyPrefixEquals: 'a/' }, { ReplaceKeyWith: '', ReplaceKeyPrefixWith: 'b/' }),
      'a/x',
      'b/x',
    ],
    [
      'RED-01 an empty ReplaceKeyPrefixWith removes the prefix',
      ext({ KeyPrefixEquals: 'old/' }, { ReplaceKeyPrefixWith: '' }),
      'old/x',
      'x',
    ],
    [
      'RED-01 [design] OSS External without EnableReplacePrefix still replaces (S3 examples)',
      ext({ KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/' }),
      'abc/test.txt',
      'def/test.txt',
    ],
    [
      'RED-01 EnableReplacePrefix=true replaces',
      ext({ KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/', EnableReplacePrefix: true }),
      'abc/t',
      'def/t',
    ],
    ['RED-01 no rewrite fields: the key is unchanged', ext({ KeyPrefixEquals: 'abc/' }), 'abc/t', 'abc/t'],
    ['RED-01 the key is substituted verbatim (special characters)', ext({}, { ReplaceKeyWith: 'p/${key}' }), 'a b/ü$1', 'p/a b/ü$1'],
  ];
  for (const [name, rule, key, want] of table) it(name, () => assert.equal(newKey(rule, key), want));
});

describe('RED-02 RED-03 Location and status', () => {
  const table: [string, RoutingRule, ReturnType<typeof req>, number, string][] = [
    [
      'RED-02 the documented example: prefix/${key}.suffix + test',
      ext({}, { Protocol: 'http', HostName: 'www.test.com', ReplaceKeyWith: 'prefix/${key}.suffix' }),
      req('test'),
      301,
      'http://www.test.com/prefix/test.suffix',
    ],
    [
      'RED-02 MIR-08 PassQueryString drops request credentials (a presigned URL never leaves Osprey)',
      ext({}, { PassQueryString: true }),
      req('k', 'a=b&X-Amz-Signature=s&X-Amz-Credential=c&c=d&OSSAccessKeyId=o&Signature=x&Expires=1'),
      301,
      'https://h.example.com/k?a=b&c=d',
    ],
    [
      'RED-02 PassQueryString with only credentials: no "?"',
      ext({}, { PassQueryString: true }),
      req('k', 'X-Amz-Date=1'),
      301,
      'https://h.example.com/k',
    ],
    [
      'RED-02 the query is passed as sent (no re-encoding)',
      ext({}, { PassQueryString: true }),
      req('k', 'q=a%20b&x=%E2%9C%93&flag'),
      301,
      'https://h.example.com/k?q=a%20b&x=%E2%9C%93&flag',
    ],
    [
      'RED-02 RFC 3986: sub-delimiters and spaces in the key are encoded, slashes kept',
      ext({}),
      req("a+b/c&d=e/(x)!*'~-._"),
      301,
      'https://h.example.com/a%2Bb/c%26d%3De/%28x%29%21%2A%27~-._',
    ],
    ['RED-02 a key of only a slash keeps it', ext({}), req('dir/'), 301, 'https://h.example.com/dir/'],
    ['RED-03 302 and 307 as configured', ext({}, { HttpRedirectCode: 302 }), req('k'), 302, 'https://h.example.com/k'],
    ['RED-03 default 301 when absent', ext({}, {}), req('k'), 301, 'https://h.example.com/k'],
    [
      'RED-06 seamless migration: 404 rule, 302 to the old site',
      ext({ HttpErrorCodeReturnedEquals: 404 }, { Protocol: 'http', HostName: 'old.example.com', HttpRedirectCode: 302 }),
      req('not/yet.jpg'),
      302,
      'http://old.example.com/not/yet.jpg',
    ],
    [
      'RED-07 AliCDN: the same Location as External, no extra header',
      ext({}, { RedirectType: 'AliCDN' }),
      req('k'),
      301,
      'https://h.example.com/k',
    ],
    [
      'RED-09 S3: HostName given, protocol from the request',
      { RuleNumber: 1, Redirect: { RedirectType: 'External', HostName: 'x.example.com' } },
      req('k'),
      301,
      'http://x.example.com/k',
    ],
    [
      'RED-09 S3: Protocol given, host (with port) from the request',
      { RuleNumber: 1, Redirect: { RedirectType: 'External', Protocol: 'https' } },
      req('k'),
      301,
      'https://b.example.org:9000/k',
    ],
    [
      'RED-09 §7.1 S3 codes 303/308',
      { RuleNumber: 1, Redirect: { RedirectType: 'External', HttpRedirectCode: 308 } },
      req('k'),
      308,
      'http://b.example.org:9000/k',
    ],
  ];
  for (const [name, rule, r, status, location] of table) {
    it(name, () => assert.deepEqual(buildRedirect(rule, r), { status, location }));
  }
  it('RED-01 RED-02 end to end from the OSS API sample rule 3 (External, ReplaceKeyWith, EnableReplacePrefix=false)', () => {
    const c = parseWebsiteXml(
      '<WebsiteConfiguration><RoutingRules><RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><RuleNumber>3</RuleNumber><Redirect><ReplaceKeyWith>prefix/${key}</ReplaceKeyWith><HttpRedirectCode>302</HttpRedirectCode><EnableReplacePrefix>false</EnableReplacePrefix><PassQueryString>false</PassQueryString><Protocol>http</Protocol><HostName>www.test.com</HostName><RedirectType>External</RedirectType></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
    );
    const rule = c.RoutingRules[0];
    assert.ok(rule);
    assert.deepEqual(buildRedirect(rule, req('a/b.html', 'x=1')), { status: 302, location: 'http://www.test.com/prefix/a/b.html' });
  });
});

describe('S3 RedirectAllRequestsTo', () => {
  it('§7.1 same key and query on the other host, 301, request protocol by default', () => {
    assert.deepEqual(redirectAll({ HostName: 'new.example.com' }, req('a b/c', 'x=1')), {
      status: 301,
      location: 'http://new.example.com/a%20b/c?x=1',
    });
    assert.deepEqual(redirectAll({ HostName: 'new.example.com', Protocol: 'https' }, req('', 'Signature=s')), {
      status: 301,
      location: 'https://new.example.com/',
    });
  });
});

describe('uri helpers', () => {
  it('MIR-05 encodeKeyPath keeps empty segments (leading and repeated slashes)', () => {
    assert.equal(encodeKeyPath('//a//b/'), '//a//b/');
    assert.equal(encodeKeyPath('✓'), '%E2%9C%93');
  });
  it('MIR-08 stripAuthParams: names case-insensitive and percent-decoded; malformed escapes kept', () => {
    assert.equal(
      stripAuthParams(
        'x-amz-signature=1&X%2DAmz%2DDate=2&keep=%zz&x-oss-signature-version=OSS4&x-oss-credential=c&security-token=t&x-oss-security-token=t&x-oss-additional-headers=h&x-oss-expires=1&x-oss-date=d',
      ),
      'keep=%zz',
    );
    assert.equal(stripAuthParams(''), '');
  });
  it('MIR-09 withQuery joins onto a URL that already has a query', () => {
    assert.equal(withQuery('http://o/?p=1/k', 'a=b'), 'http://o/?p=1/k&a=b');
    assert.equal(withQuery('http://o/k', ''), 'http://o/k');
  });
});

// issue 18
const rule18 = (redirect: Partial<Redirect>, cond: RoutingRule['Condition'] = {}): RoutingRule => ({
  RuleNumber: 1,
  Condition: cond,
  Redirect: { RedirectType: 'External', ...redirect },
});
const req18 = (key: string, more: Partial<RedirectRequest> = {}): RedirectRequest => ({
  key,
  host: '127.0.0.1:9000',
  protocol: 'http',
  query: '',
  ...more,
});

const websiteReq = (key: string, pathPrefix: string, more: Partial<WebsiteRequest> = {}): WebsiteRequest => ({
  method: 'GET',
  key,
  headers: {},
  query: '',
  host: '127.0.0.1:9000',
  protocol: 'http',
  websiteMode: false,
  pathPrefix,
  ...more,
});

describe('a Location on the same host keeps the bucket of a path-style request', () => {
  const s3 =
    parseWebsiteXml(`<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IndexDocument><Suffix>index.html</Suffix></IndexDocument>
    <RoutingRules><RoutingRule><Condition><KeyPrefixEquals>docs/old/</KeyPrefixEquals></Condition>
    <Redirect><ReplaceKeyPrefixWith>docs/new/</ReplaceKeyPrefixWith></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`);

  it('GET /site/docs/old/a.html -> /site/docs/new/a.html (the resolver passes the path prefix)', () => {
    const d = decide(s3, websiteReq('docs/old/a.html', '/site/'), new Map());
    assert.equal(d.action.kind, 'redirect');
    assert.equal(d.action.kind === 'redirect' && d.action.location, 'http://127.0.0.1:9000/site/docs/new/a.html');
  });

  it('virtual-hosted and bound-domain requests (path prefix /) stay as they were', () => {
    const d = decide(s3, websiteReq('docs/old/a.html', '/', { host: 'site.s3.example.com' }), new Map());
    assert.equal(d.action.kind === 'redirect' && d.action.location, 'http://site.s3.example.com/docs/new/a.html');
  });

  it('a rule with HostName sends the key to that host, without the bucket', () => {
    const r = rule18({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyPrefixWith: 'new/' }, { KeyPrefixEquals: 'old/' });
    assert.equal(buildRedirect(r, req18('old/a', { pathPrefix: '/site/' })).location, 'https://www.example.com/new/a');
  });

  it('without a path prefix (older callers) nothing changes', () => {
    assert.equal(
      buildRedirect(rule18({ ReplaceKeyPrefixWith: 'new/' }, { KeyPrefixEquals: 'old/' }), req18('old/a')).location,
      'http://127.0.0.1:9000/new/a',
    );
  });
});

describe("ReplaceKeyWith: the rule's own '?' starts the query and '#' the fragment", () => {
  const login = rule18({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyWith: 'login?next=${key}', HttpRedirectCode: 302 });

  it("the README's login example: /login?next=<key>", () => {
    assert.deepEqual(buildRedirect(login, req18('private/s.txt')), {
      status: 302,
      location: 'https://www.example.com/login?next=private/s.txt',
    });
  });

  it('the key in the query is encoded as a query value (& = + # ? space and non-ASCII), / kept', () => {
    assert.equal(
      buildRedirect(login, req18('private/a b&c=d+e#f?g/日.txt')).location,
      'https://www.example.com/login?next=private/a%20b%26c%3Dd%2Be%23f%3Fg/%E6%97%A5.txt',
    );
  });

  it("a '?' or '#' inside the key is never taken for one of the rule's", () => {
    const r = rule18({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'new/${key}' });
    assert.equal(buildRedirect(r, req18('a?b#c')).location, 'https://h.example.com/new/a%3Fb%23c');
  });

  it('a fragment, with and without a query', () => {
    const frag = rule18({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'docs.html#${key}' });
    assert.equal(buildRedirect(frag, req18('api/get object')).location, 'https://h.example.com/docs.html#api/get%20object');
    const both = rule18({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'p?a=1&k=${key}#top', PassQueryString: true });
    assert.equal(buildRedirect(both, req18('x', { query: 'v=2&X-Amz-Signature=s' })).location, 'https://h.example.com/p?a=1&k=x&v=2#top');
  });

  it('PassQueryString appends the request query after the rule query', () => {
    const r = rule18({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyWith: 'login?next=${key}', PassQueryString: true });
    assert.equal(buildRedirect(r, req18('k', { query: 'lang=en' })).location, 'https://www.example.com/login?next=k&lang=en');
  });

  it('escapes the rule already holds are kept; literal text outside a query is still encoded', () => {
    const r = rule18({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'search?q=a%20b&t=x y' });
    assert.equal(buildRedirect(r, req18('k')).location, 'https://h.example.com/search?q=a%20b&t=x%20y');
  });

  it('an Internal rewrite still takes ReplaceKeyWith as a key, ? and all', () => {
    assert.equal(newKey(rule18({ RedirectType: 'Internal', ReplaceKeyWith: 'login?next=${key}' }), 'k'), 'login?next=k');
  });
});

describe('External/AliCDN without Protocol (VAL-10, amended)', () => {
  const xml = (type: string) => `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>${type}</RedirectType><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect>
    </RoutingRule></RoutingRules></WebsiteConfiguration>`;

  for (const type of ['External', 'AliCDN']) {
    it(`${type}: accepted, and the Location uses the request's protocol`, () => {
      const cfg = parseWebsiteXml(xml(type));
      const r = cfg.RoutingRules[0];
      assert.ok(r);
      assert.equal(r.Redirect.Protocol, undefined);
      assert.equal(buildRedirect(r, req18('a/b.html', { protocol: 'https' })).location, 'https://old.example.com/a/b.html');
      assert.equal(buildRedirect(r, req18('a/b.html', { protocol: 'http' })).location, 'http://old.example.com/a/b.html');
    });
  }

  it('a Protocol other than http or https is still refused, and so is a missing HostName', () => {
    assert.throws(
      () => parseWebsiteXml(xml('External').replace('<HostName>', '<Protocol>ftp</Protocol><HostName>')),
      /Protocol must be http or https/,
    );
    assert.throws(() => parseWebsiteXml(xml('External').replace('<HostName>old.example.com</HostName>', '')), /needs Redirect\/HostName/);
  });
});
