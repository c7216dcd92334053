/**
 * Redirect Locations (spec §4) beyond the basic table in match-redirect.test.ts: key rewriting
 * corner cases, encoding, query handling, codes, and S3's RedirectAllRequestsTo. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRedirect, encodeKeyPath, newKey, redirectAll } from '../../src/origin/redirect.ts';
import type { Redirect, RoutingRule } from '../../src/origin/rules.ts';
import { parseWebsiteXml } from '../../src/origin/rules.ts';
import { stripAuthParams, withQuery } from '../../src/origin/uri.ts';

const ext = (cond: RoutingRule['Condition'], redirect: Partial<Redirect> = {}): RoutingRule => ({
  RuleNumber: 1, Condition: cond, Redirect: { RedirectType: 'External', Protocol: 'https', HostName: 'h.example.com', ...redirect },
});
const req = (key: string, query = '') => ({ key, query, host: 'b.example.org:9000', protocol: 'http' as const });

describe('RED-01 the new key', () => {
  const table: [string, RoutingRule, string, string][] = [
    ['RED-01 ${key} may appear several times', ext({}, { ReplaceKeyWith: '${key}/${key}' }), 'a', 'a/a'],
    ['RED-01 ReplaceKeyWith without ${key} replaces the whole key', ext({ KeyPrefixEquals: 'images/' }, { ReplaceKeyWith: 'folderdeleted.html' }), 'images/x.png', 'folderdeleted.html'],
    ['RED-01 an empty ReplaceKeyWith counts as unset (VAL-09 compares non-empty values)', ext({ KeyPrefixEquals: 'a/' }, { ReplaceKeyWith: '', ReplaceKeyPrefixWith: 'b/' }), 'a/x', 'b/x'],
    ['RED-01 an empty ReplaceKeyPrefixWith removes the prefix', ext({ KeyPrefixEquals: 'old/' }, { ReplaceKeyPrefixWith: '' }), 'old/x', 'x'],
    ['RED-01 [design] OSS External without EnableReplacePrefix still replaces (S3 examples)', ext({ KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/' }), 'abc/test.txt', 'def/test.txt'],
    ['RED-01 EnableReplacePrefix=true replaces', ext({ KeyPrefixEquals: 'abc/' }, { ReplaceKeyPrefixWith: 'def/', EnableReplacePrefix: true }), 'abc/t', 'def/t'],
    ['RED-01 no rewrite fields: the key is unchanged', ext({ KeyPrefixEquals: 'abc/' }), 'abc/t', 'abc/t'],
    ['RED-01 the key is substituted verbatim (special characters)', ext({}, { ReplaceKeyWith: 'p/${key}' }), 'a b/ü$1', 'p/a b/ü$1'],
  ];
  for (const [name, rule, key, want] of table) it(name, () => assert.equal(newKey(rule, key), want));
});

describe('RED-02 RED-03 Location and status', () => {
  const table: [string, RoutingRule, ReturnType<typeof req>, number, string][] = [
    ['RED-02 the documented example: prefix/${key}.suffix + test', ext({}, { Protocol: 'http', HostName: 'www.test.com', ReplaceKeyWith: 'prefix/${key}.suffix' }), req('test'), 301, 'http://www.test.com/prefix/test.suffix'],
    ['RED-02 MIR-08 PassQueryString drops request credentials (a presigned URL never leaves Osprey)', ext({}, { PassQueryString: true }), req('k', 'a=b&X-Amz-Signature=s&X-Amz-Credential=c&c=d&OSSAccessKeyId=o&Signature=x&Expires=1'), 301, 'https://h.example.com/k?a=b&c=d'],
    ['RED-02 PassQueryString with only credentials: no "?"', ext({}, { PassQueryString: true }), req('k', 'X-Amz-Date=1'), 301, 'https://h.example.com/k'],
    ['RED-02 the query is passed as sent (no re-encoding)', ext({}, { PassQueryString: true }), req('k', 'q=a%20b&x=%E2%9C%93&flag'), 301, 'https://h.example.com/k?q=a%20b&x=%E2%9C%93&flag'],
    ['RED-02 RFC 3986: sub-delimiters and spaces in the key are encoded, slashes kept', ext({}), req("a+b/c&d=e/(x)!*'~-._"), 301, 'https://h.example.com/a%2Bb/c%26d%3De/%28x%29%21%2A%27~-._'],
    ['RED-02 a key of only a slash keeps it', ext({}), req('dir/'), 301, 'https://h.example.com/dir/'],
    ['RED-03 302 and 307 as configured', ext({}, { HttpRedirectCode: 302 }), req('k'), 302, 'https://h.example.com/k'],
    ['RED-03 default 301 when absent', ext({}, {}), req('k'), 301, 'https://h.example.com/k'],
    ['RED-06 seamless migration: 404 rule, 302 to the old site', ext({ HttpErrorCodeReturnedEquals: 404 }, { Protocol: 'http', HostName: 'old.example.com', HttpRedirectCode: 302 }), req('not/yet.jpg'), 302, 'http://old.example.com/not/yet.jpg'],
    ['RED-07 AliCDN: the same Location as External, no extra header', ext({}, { RedirectType: 'AliCDN' }), req('k'), 301, 'https://h.example.com/k'],
    ['RED-09 S3: HostName given, protocol from the request', { RuleNumber: 1, Redirect: { RedirectType: 'External', HostName: 'x.example.com' } }, req('k'), 301, 'http://x.example.com/k'],
    ['RED-09 S3: Protocol given, host (with port) from the request', { RuleNumber: 1, Redirect: { RedirectType: 'External', Protocol: 'https' } }, req('k'), 301, 'https://b.example.org:9000/k'],
    ['RED-09 §7.1 S3 codes 303/308', { RuleNumber: 1, Redirect: { RedirectType: 'External', HttpRedirectCode: 308 } }, req('k'), 308, 'http://b.example.org:9000/k'],
  ];
  for (const [name, rule, r, status, location] of table) {
    it(name, () => assert.deepEqual(buildRedirect(rule, r), { status, location }));
  }
  it('RED-01 RED-02 end to end from the OSS API sample rule 3 (External, ReplaceKeyWith, EnableReplacePrefix=false)', () => {
    const c = parseWebsiteXml('<WebsiteConfiguration><RoutingRules><RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><RuleNumber>3</RuleNumber><Redirect><ReplaceKeyWith>prefix/${key}</ReplaceKeyWith><HttpRedirectCode>302</HttpRedirectCode><EnableReplacePrefix>false</EnableReplacePrefix><PassQueryString>false</PassQueryString><Protocol>http</Protocol><HostName>www.test.com</HostName><RedirectType>External</RedirectType></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>');
    const rule = c.RoutingRules[0];
    assert.ok(rule);
    assert.deepEqual(buildRedirect(rule, req('a/b.html', 'x=1')), { status: 302, location: 'http://www.test.com/prefix/a/b.html' });
  });
});

describe('S3 RedirectAllRequestsTo', () => {
  it('§7.1 same key and query on the other host, 301, request protocol by default', () => {
    assert.deepEqual(redirectAll({ HostName: 'new.example.com' }, req('a b/c', 'x=1')), { status: 301, location: 'http://new.example.com/a%20b/c?x=1' });
    assert.deepEqual(redirectAll({ HostName: 'new.example.com', Protocol: 'https' }, req('', 'Signature=s')), { status: 301, location: 'https://new.example.com/' });
  });
});

describe('uri helpers', () => {
  it('MIR-05 encodeKeyPath keeps empty segments (leading and repeated slashes)', () => {
    assert.equal(encodeKeyPath('//a//b/'), '//a//b/');
    assert.equal(encodeKeyPath('✓'), '%E2%9C%93');
  });
  it('MIR-08 stripAuthParams: names case-insensitive and percent-decoded; malformed escapes kept', () => {
    assert.equal(stripAuthParams('x-amz-signature=1&X%2DAmz%2DDate=2&keep=%zz&x-oss-signature-version=OSS4&x-oss-credential=c&security-token=t&x-oss-security-token=t&x-oss-additional-headers=h&x-oss-expires=1&x-oss-date=d'), 'keep=%zz');
    assert.equal(stripAuthParams(''), '');
  });
  it('MIR-09 withQuery joins onto a URL that already has a query', () => {
    assert.equal(withQuery('http://o/?p=1/k', 'a=b'), 'http://o/?p=1/k&a=b');
    assert.equal(withQuery('http://o/k', ''), 'http://o/k');
  });
});
