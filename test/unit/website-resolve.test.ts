/**
 * The website resolver (spec §5 WEB-05, with §2 and §4): a table of requests against a set of
 * existing keys, each case naming its statement. `resolve` answers the lookups from the set.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebsiteConfig } from '../../src/rules/rules.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import type { Action, WebsiteRequest } from '../../src/rules/resolve.ts';
import { decide, hitIsFinal, resolve } from '../../src/rules/resolve.ts';

const cfg = (xml: string): WebsiteConfig => parseWebsiteXml(`<WebsiteConfiguration>${xml}</WebsiteConfiguration>`, { maxRules: 20 });
const INDEX = (sub = false, type = 0) =>
  `<IndexDocument><Suffix>index.html</Suffix><SupportSubDir>${sub}</SupportSubDir><Type>${type}</Type></IndexDocument>`;
const ERROR = '<ErrorDocument><Key>404.html</Key><HttpStatus>404</HttpStatus></ErrorDocument>';
const rules = (...r: string[]) => `<RoutingRules>${r.join('')}</RoutingRules>`;
const MIRROR =
  '<RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>m/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://o.example.com/</MirrorURL></Redirect></RoutingRule>';
const HIDE =
  '<RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>private/</KeyPrefixEquals></Condition><Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>www.example.com</HostName><ReplaceKeyWith>login</ReplaceKeyWith><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>';
const OLD =
  '<RoutingRule><RuleNumber>3</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>External</RedirectType><Protocol>http</Protocol><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>';
const ON500 =
  '<RoutingRule><RuleNumber>4</RuleNumber><Condition><HttpErrorCodeReturnedEquals>500</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>status.example.com</HostName><ReplaceKeyWith>sorry.html</ReplaceKeyWith><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>';
const INTERNAL =
  '<RoutingRule><RuleNumber>5</RuleNumber><Condition><KeySuffixEquals>.png</KeySuffixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>img/none.png</ReplaceKeyWith></Redirect></RoutingRule>';

const EXISTING = new Set(['index.html', 'docs/index.html', 'page.html', '404.html', 'private/x', 'img/none.png', 'm/here.bin']);

function request(key: string, over: Partial<WebsiteRequest> = {}): WebsiteRequest {
  return {
    method: 'GET',
    key,
    headers: {},
    query: '',
    host: 'site.example.com',
    protocol: 'http',
    websiteMode: true,
    pathPrefix: '/',
    ...over,
  };
}

async function run(c: WebsiteConfig, r: WebsiteRequest, existing = EXISTING): Promise<Action> {
  return (await resolve(c, r, async (k) => existing.has(k))).action;
}

type Want = Partial<Record<'kind' | 'key' | 'status' | 'location' | 'code', string | number>>;

const table: [string, string, WebsiteRequest, Want][] = [
  ['WEB-01 WEB-02 root gives the root index', INDEX(), request(''), { kind: 'serve', key: 'index.html', status: 200 }],
  ['WEB-02 SupportSubDir=false: a directory gives the root index', INDEX(false), request('docs/'), { kind: 'serve', key: 'index.html' }],
  ['WEB-02 SupportSubDir=true: a directory gives its own index', INDEX(true), request('docs/'), { kind: 'serve', key: 'docs/index.html' }],
  [
    'WEB-03 Type 0: dir/index exists -> 302 to dir/',
    INDEX(true, 0),
    request('docs'),
    { kind: 'redirect', status: 302, location: '/docs/' },
  ],
  [
    'WEB-03 Type 0 with path-style prefix',
    INDEX(true, 0),
    request('docs', { pathPrefix: '/bkt/' }),
    { kind: 'redirect', location: '/bkt/docs/' },
  ],
  ['WEB-03 Type 1: 404, no directory lookup', INDEX(true, 1) + ERROR, request('docs'), { kind: 'serve', key: '404.html', status: 404 }],
  ['WEB-03 Type 2: serve dir/index with 200', INDEX(true, 2), request('docs'), { kind: 'serve', key: 'docs/index.html', status: 200 }],
  ['WEB-03 SupportSubDir=false: 404', INDEX(false), request('docs'), { kind: 'error', code: 'NoSuchKey' }],
  [
    'WEB-04 error document with its status',
    INDEX() + ERROR.replace('<HttpStatus>404</HttpStatus>', '<HttpStatus>410</HttpStatus>'),
    request('nope'),
    { kind: 'serve', key: '404.html', status: 410 },
  ],
  [
    'WEB-04 missing error document -> plain NoSuchKey',
    INDEX() + '<ErrorDocument><Key>gone.html</Key></ErrorDocument>',
    request('nope'),
    { kind: 'error', code: 'NoSuchKey', status: 404 },
  ],
  [
    'WEB-06 signed requests get no index/error documents',
    INDEX() + ERROR,
    request('nope', { websiteMode: false }),
    { kind: 'error', code: 'NoSuchKey' },
  ],
  ['MAT-10 an existing object is served as-is', INDEX() + rules(OLD), request('page.html'), { kind: 'serve', key: 'page.html' }],
  [
    'MAT-07 a pre-routing rule fires even if the object exists',
    INDEX() + rules(HIDE),
    request('private/x'),
    { kind: 'redirect', status: 302, location: 'https://www.example.com/login' },
  ],
  [
    'WEB-05 step 3: error-routing redirect for a missing key',
    INDEX() + ERROR + rules(OLD),
    request('missing.html'),
    { kind: 'redirect', location: 'http://old.example.com/missing.html' },
  ],
  ['RED-04 a redirect never runs the error document', INDEX() + ERROR + rules(OLD), request('missing.html'), { kind: 'redirect' }],
  [
    'MIR-01 a missing key under a Mirror rule mirrors',
    INDEX() + rules(MIRROR, OLD),
    request('m/a.bin'),
    { kind: 'mirror', key: 'm/a.bin' },
  ],
  [
    'MIR-02 an existing key under a Mirror rule is served locally',
    INDEX() + rules(MIRROR),
    request('m/here.bin'),
    { kind: 'serve', key: 'm/here.bin' },
  ],
  [
    'MAT-03 origin 404 does not fall through to a later rule; the error document follows',
    INDEX() + ERROR + rules(MIRROR, OLD),
    request('m/a.bin', { mirrorNotFound: true }),
    { kind: 'serve', key: '404.html', status: 404 },
  ],
  [
    'MAT-08 HEAD does not mirror: the next rule fires',
    INDEX() + rules(MIRROR, OLD),
    request('m/a.bin', { method: 'HEAD' }),
    { kind: 'redirect', location: 'http://old.example.com/m/a.bin' },
  ],
  ['MAT-09 the root is never matched by rules', INDEX() + rules(OLD), request('', {}), { kind: 'serve', key: 'index.html' }],
  [
    'RED-08 Internal serves another key with 200',
    INDEX() + rules(INTERNAL),
    request('a/b.png'),
    { kind: 'serve', key: 'img/none.png', status: 200 },
  ],
  [
    'RED-08 Internal to a missing key -> 404 and the error document',
    INDEX() + ERROR + rules(INTERNAL.replace('img/none.png', 'img/nothing.png')),
    request('a/b.png'),
    { kind: 'serve', key: '404.html', status: 404 },
  ],
  [
    'RED-05 a 500 Osprey produced goes through error rules for 500',
    INDEX() + rules(ON500),
    request('x', { status: 500 }),
    { kind: 'redirect', location: 'https://status.example.com/sorry.html' },
  ],
  [
    'RED-05 no rule for that status: passthrough',
    INDEX() + rules(OLD),
    request('x', { status: 503 }),
    { kind: 'error', code: 'passthrough', status: 503 },
  ],
  ['MAT-11 304 is not an error', INDEX() + rules(OLD), request('x', { status: 304 }), { kind: 'error', code: 'passthrough', status: 304 }],
  [
    'RED-06 migration redirect works without an IndexDocument',
    rules(OLD),
    request('not-yet.jpg'),
    { kind: 'redirect', status: 302, location: 'http://old.example.com/not-yet.jpg' },
  ],
  [
    'S3 RedirectAllRequestsTo',
    '<RedirectAllRequestsTo><HostName>new.example.com</HostName></RedirectAllRequestsTo>',
    request('a/b', { query: 'x=1' }),
    { kind: 'redirect', status: 301, location: 'http://new.example.com/a/b?x=1' },
  ],
];

describe('website resolver (§5)', () => {
  for (const [name, xml, r, want] of table) {
    it(name, async () => {
      const a = await run(cfg(xml), r);
      for (const [k, v] of Object.entries(want))
        assert.equal((a as unknown as Record<string, unknown>)[k], v, `${k} in ${JSON.stringify(a)}`);
    });
  }
  it('decide() is a step function: it asks for one lookup at a time', () => {
    const c = cfg(INDEX(true, 0) + ERROR);
    const first = decide(c, request('docs'), new Map());
    assert.deepEqual(first.action, { kind: 'lookup', key: 'docs' });
    const second = decide(c, request('docs'), new Map([['docs', false]]));
    assert.deepEqual(second.action, { kind: 'lookup', key: 'docs/index.html' });
  });
  it('hitIsFinal (issue 19): whenever it lets an existing key be served first, decide serves that key with 200; a Mirror-only bucket qualifies, pre-routing rules do not', () => {
    const configs = [
      '',
      INDEX(),
      INDEX(true, 0),
      INDEX(true, 2) + ERROR,
      ERROR,
      rules(MIRROR),
      rules(MIRROR, OLD, ON500, INTERNAL),
      INDEX(true) + ERROR + rules(MIRROR, OLD),
      rules(HIDE),
      INDEX() + rules(HIDE, MIRROR),
      '<RedirectAllRequestsTo><HostName>new.example.com</HostName></RedirectAllRequestsTo>',
    ].filter(Boolean);
    let final = 0;
    for (const xml of configs) {
      const c = cfg(xml);
      for (const key of ['', 'docs/', 'docs', 'page.html', 'private/x', 'm/here.bin', 'a/b.png'])
        for (const over of [
          {},
          { websiteMode: false },
          { method: 'HEAD' },
          { query: 'acl' },
          { method: 'PUT' },
        ] as Partial<WebsiteRequest>[]) {
          const r = request(key, over);
          if (!hitIsFinal(c, r)) continue;
          final++;
          const d = decide(c, r, new Map([[key, true]]));
          assert.deepEqual(
            { kind: d.action.kind, key: (d.action as { key?: string }).key, status: (d.action as { status?: number }).status },
            { kind: 'serve', key, status: 200 },
            `${xml} ${JSON.stringify(r)}: ${JSON.stringify(d.action)}`,
          );
        }
    }
    assert.ok(final > 0);
    assert.equal(hitIsFinal(cfg(rules(MIRROR, OLD, ON500)), request('m/here.bin')), true);
    assert.equal(hitIsFinal(cfg(INDEX() + rules(MIRROR)), request('docs/')), false);
    assert.equal(hitIsFinal(cfg(rules(HIDE, MIRROR)), request('m/here.bin')), false);
  });
});
