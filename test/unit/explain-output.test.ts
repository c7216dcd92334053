/**
 * Issue 18: the rule simulator's answer is for users, who cannot look up the specification's
 * statement IDs (`MAT-07`, `RED-02`, …): its text, its JSON (`/-/rules/explain`, `--json`, the
 * console) carry none, while keys and values that merely look like one stay as they are.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain, formatExplanation } from '../../src/rules/explain.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import type { WebsiteRequest } from '../../src/rules/resolve.ts';

const CFG = parseWebsiteXml(
  `<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir><Type>0</Type></IndexDocument>
  <ErrorDocument><Key>404.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>blog/</KeyPrefixEquals><IncludeHeader><Key>X-Beta</Key><Equals>1</Equals></IncludeHeader></Condition>
      <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>beta.example.com</HostName><HttpRedirectCode>307</HttpRedirectCode></Redirect></RoutingRule>
    <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>img/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://origin.example.com/</MirrorURL></Redirect></RoutingRule>
    <RoutingRule><RuleNumber>3</RuleNumber><Condition><KeySuffixEquals>.png</KeySuffixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>none.png</ReplaceKeyWith></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`,
  { maxRules: 5 },
);
const EXISTING = new Set(['index.html', 'docs/index.html', '404.html', 'here.txt', 'notes (MAT-07).txt']);
const req = (key: string, over: Partial<WebsiteRequest> = {}): WebsiteRequest => ({
  method: 'GET',
  key,
  headers: {},
  query: '',
  host: 'site.example.com',
  protocol: 'http',
  websiteMode: true,
  pathPrefix: '/',
  ...over,
});
const SPEC_ID = /\b(?:MAT|RED|WEB|MIR|VAL|XML|LIM|GET|API|ERR)-\d{2}/;

describe('the simulator names no specification IDs', () => {
  const cases: [string, WebsiteRequest][] = [
    ['a pre-routing redirect, earlier rules skipped', req('blog/post', { headers: { 'x-beta': '1' } })],
    ['a header that does not match', req('blog/post', { headers: { 'x-beta': '2' } })],
    ['a mirror', req('img/a.jpg')],
    ['an Internal rewrite to a missing key, then the error document', req('x/y.png')],
    ['an index document and a directory redirect', req('docs/')],
    ['a directory without a slash', req('docs')],
    ['an existing object', req('here.txt')],
    ['a sub-resource', req('here.txt', { query: 'acl' })],
    ['a PUT', req('img/a.jpg', { method: 'PUT' })],
    ['a status from elsewhere', req('here.txt', { status: 503 })],
    ['a 2xx status', req('here.txt', { status: 200 })],
  ];
  for (const [name, r] of cases) {
    it(name, async () => {
      const e = await explain(CFG, r, EXISTING);
      const json = JSON.stringify(e);
      assert.doesNotMatch(json, SPEC_ID, json);
      const text = formatExplanation(e);
      assert.doesNotMatch(text, SPEC_ID, text);
      assert.doesNotMatch(text, /\(\)|, \)|\s\)/, text);
    });
  }

  it('a key that looks like an ID is shown as it is', async () => {
    const e = await explain(CFG, req('notes (MAT-07).txt'), EXISTING);
    assert.equal(e.outcome.kind === 'serve' && e.outcome.key, 'notes (MAT-07).txt');
    assert.match(formatExplanation(e), /serve 'notes \(MAT-07\)\.txt'/);
  });
});
