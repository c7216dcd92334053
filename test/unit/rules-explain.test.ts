/**
 * The rule simulator's pure half (`explain`, `formatExplanation`): which rule fires and why the
 * earlier ones did not, and what would happen — for every outcome kind. The answer is plain JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Explanation } from '../../src/rules/explain.ts';
import { explain, explainDecision, formatExplanation } from '../../src/rules/explain.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import type { WebsiteRequest } from '../../src/rules/resolve.ts';
import { decide } from '../../src/rules/resolve.ts';

const CFG = parseWebsiteXml(
  `<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir><Type>0</Type></IndexDocument>
  <ErrorDocument><Key>404.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>blog/</KeyPrefixEquals><IncludeHeader><Key>X-Beta</Key><Equals>1</Equals></IncludeHeader></Condition>
      <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>beta.example.com</HostName><HttpRedirectCode>307</HttpRedirectCode></Redirect></RoutingRule>
    <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>img/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://origin.example.com/base/</MirrorURL><MirrorURLSlave>http://backup.example.com/</MirrorURLSlave><MirrorURLProbe>http://origin.example.com/ping</MirrorURLProbe>
        <MirrorPassQueryString>true</MirrorPassQueryString>
        <MirrorHeaders><PassAll>true</PassAll><Set><Key>Host</Key><Value>www.example.com</Value></Set><Set><Key>x-from</Key><Value>osprey</Value></Set></MirrorHeaders></Redirect></RoutingRule>
    <RoutingRule><RuleNumber>3</RuleNumber><Condition><KeySuffixEquals>.png</KeySuffixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>none.png</ReplaceKeyWith></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`,
  { maxRules: 5 },
);
const EXISTING = new Set(['index.html', 'docs/index.html', 'none.png', '404.html', 'here.txt']);
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

describe('explain()', () => {
  it('MAT-01 MAT-05 MIR-03 MIR-07 MIR-08 MIR-11 MIR-13a mirror: the rule, why rule 1 did not fire, the origin request', async () => {
    const e = await explain(
      CFG,
      req('img/cat 1.png', { query: 'w=100&X-Amz-Signature=zzz', headers: { 'x-beta': '1', authorization: 'AWS4 secret', cookie: 'c=1' } }),
      EXISTING,
    );
    assert.equal(e.outcome.kind, 'mirror');
    assert.ok(e.outcome.kind === 'mirror');
    assert.equal(e.outcome.ruleNumber, 2);
    assert.deepEqual(e.outcome.plan.urls, [
      'http://origin.example.com/base/img/cat%201.png?w=100',
      'http://backup.example.com/img/cat%201.png?w=100',
    ]);
    assert.equal(e.outcome.plan.hostOverride, 'www.example.com');
    assert.deepEqual(
      e.trace.map((p) => [p.phase, p.entries.map((t) => [t.ruleNumber, t.matched])]),
      [
        [
          'pre-routing',
          [
            [1, false],
            [2, false],
            [3, false],
          ],
        ],
        [
          'error 404',
          [
            [1, false],
            [2, true],
          ],
        ],
      ],
    );
    assert.match(e.trace[0]?.entries[0]?.reason ?? '', /key does not start with 'blog\/'/);
    const text = formatExplanation(e);
    assert.match(text, /rule 2: FIRES/);
    assert.ok(text.includes('=> mirror by rule 2: GET http://origin.example.com/base/img/cat%201.png?w=100'), text);
    assert.match(text, /then, on failure \(5xx-or-timeout\): GET http:\/\/backup\.example\.com\//);
    assert.match(text, /primary health probe: http:\/\/origin\.example\.com\/ping/);
    assert.match(text, /with Host: www\.example\.com/);
    assert.match(text, /x-from: osprey/);
    assert.match(text, /cookie: c=1/, 'PassAll forwards the cookie');
    assert.match(text, /not sent: authorization: reserved/);
    assert.doesNotMatch(text, /AWS4 secret|zzz/, 'credentials never printed');
    assert.match(text, /stored as 'img\/cat 1\.png'/);
  });
  it('MAT-05 MAT-07 RED-02 a header condition fires a pre-routing redirect', async () => {
    const e = await explain(CFG, req('blog/post', { headers: { 'x-beta': '1' } }), EXISTING);
    assert.deepEqual(e.outcome, {
      kind: 'redirect',
      status: 307,
      location: 'https://beta.example.com/blog/post',
      ruleNumber: 1,
      redirectKind: 'External',
      why: 'rule 1 (pre-routing, External)',
    });
    assert.match(formatExplanation(e), /=> redirect 307 Location: https:\/\/beta\.example\.com\/blog\/post/);
    const other = formatExplanation(await explain(CFG, req('blog/post', { headers: { 'x-beta': '2' } }), EXISTING));
    assert.match(other, /rule 1: skipped: header X-Beta is '2', not '1'/);
  });
  it('RED-08 WEB-03 WEB-04 MAT-10 serve outcomes: Internal, directory, error document, existing object', async () => {
    const internal = await explain(CFG, req('a/b.png'), EXISTING);
    assert.deepEqual([internal.outcome.kind, 'key' in internal.outcome && internal.outcome.key], ['serve', 'none.png']);
    const dir = formatExplanation(await explain(CFG, req('docs'), EXISTING));
    assert.match(dir, /=> redirect 302 Location: \/docs\/ \('docs\/index.html' exists: 302 to the directory \(Type 0\)\)/);
    const missing = formatExplanation(await explain(CFG, req('nothing.html'), EXISTING));
    assert.match(missing, /- object 'nothing.html': missing/);
    assert.match(missing, /=> serve '404.html' with status 404 \(.*error document '404.html'\)/);
    assert.match(
      formatExplanation(await explain(CFG, req('here.txt'), EXISTING)),
      /=> serve 'here.txt' with status 200 \(the object exists and is served as-is\)/,
    );
  });
  it('RED-05 error outcomes: a status with no rule, a signed NoSuchKey', async () => {
    const e = await explain(CFG, req('x', { status: 503 }), EXISTING);
    assert.deepEqual(e.outcome, { kind: 'error', status: 503, code: 'status 503', why: 'no rule for status 503' });
    assert.equal(e.request.status, 503);
    const signed = await explain(CFG, req('nothing.html', { websiteMode: false }), async (k) => EXISTING.has(k));
    assert.equal(signed.outcome.kind, 'error');
    assert.match(formatExplanation(signed), /=> NoSuchKey \(404\)/);
  });
  it('no configuration: says so, and answers from the store', async () => {
    const e = await explain(undefined, req('here.txt'), EXISTING);
    assert.equal(e.configured, false);
    assert.equal(e.dialect, undefined);
    assert.match(formatExplanation(e), /no website configuration: no rule can fire/);
    assert.equal(e.outcome.kind, 'serve');
  });
  it('the explanation is plain JSON (what /-/rules/explain sends and the CLI prints back)', async () => {
    for (const r of [
      req('img/x.jpg', { headers: { host: 'h' } }),
      req('blog/p', { headers: { 'x-beta': '1' } }),
      req('docs'),
      req('x', { status: 500 }),
    ]) {
      const e = await explain(CFG, r, EXISTING);
      const copy = JSON.parse(JSON.stringify(e)) as Explanation;
      assert.deepEqual(copy, e);
      assert.equal(formatExplanation(copy), formatExplanation(e));
    }
  });
  it('explainDecision refuses an unfinished decision', () => {
    assert.throws(() => explainDecision(CFG, req('docs'), decide(CFG, req('docs'), new Map())), /still needs a lookup of 'docs'/);
  });
});
