/**
 * The website step function (spec §5 WEB-05 with §2–§4), driven by a small loop that answers each
 * lookup from a Set of existing keys and records the lookups asked for. Each case names its
 * statement; website-resolve.test.ts has the basic table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebsiteConfig } from '../../src/rules/rules.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import type { Action, Decision, WebsiteRequest } from '../../src/rules/resolve.ts';
import { decide } from '../../src/rules/resolve.ts';

const NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const cfg = (xml: string, attrs = ''): WebsiteConfig =>
  parseWebsiteXml(`<WebsiteConfiguration${attrs}>${xml}</WebsiteConfiguration>`, { maxRules: 20 });
const INDEX = (sub?: boolean, type?: number) =>
  `<IndexDocument><Suffix>index.html</Suffix>${sub === undefined ? '' : `<SupportSubDir>${sub}</SupportSubDir>`}${type === undefined ? '' : `<Type>${type}</Type>`}</IndexDocument>`;
const ERROR = (status = '') => `<ErrorDocument><Key>404.html</Key>${status}</ErrorDocument>`;
const rules = (...r: string[]) => `<RoutingRules>${r.join('')}</RoutingRules>`;
const MIRROR = (more = '') =>
  `<RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>m/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://o.example.com/</MirrorURL><MirrorPassQueryString>true</MirrorPassQueryString><MirrorHeaders><Pass>x-trace</Pass></MirrorHeaders>${more}</Redirect></RoutingRule>`;
const OLD =
  '<RoutingRule><RuleNumber>3</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>External</RedirectType><Protocol>http</Protocol><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>';
const ON403 =
  '<RoutingRule><RuleNumber>4</RuleNumber><Condition><HttpErrorCodeReturnedEquals>403</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>denied.html</ReplaceKeyWith></Redirect></RoutingRule>';
const EVERYTHING =
  '<RoutingRule><RuleNumber>1</RuleNumber><Condition/><Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>all.example.com</HostName></Redirect></RoutingRule>';

const EXISTING = new Set([
  'index.html',
  'docs/index.html',
  'a page/index.html',
  'page.html',
  '404.html',
  'denied.html',
  'm/sub/index.html',
]);

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

/** The driver loop the I/O layer runs: answer each lookup, never the same key twice, a few at most. */
function drive(
  c: WebsiteConfig | undefined,
  r: WebsiteRequest,
  existing: ReadonlySet<string> = EXISTING,
): { d: Decision; lookups: string[] } {
  const facts = new Map<string, boolean>();
  const lookups: string[] = [];
  for (;;) {
    const d = decide(c, r, facts);
    if (d.action.kind !== 'lookup') return { d, lookups };
    assert.ok(!facts.has(d.action.key), `asked twice for '${d.action.key}'`);
    assert.ok(lookups.length < 5, 'too many lookups');
    lookups.push(d.action.key);
    facts.set(d.action.key, existing.has(d.action.key));
  }
}

type Want = Partial<Record<'kind' | 'key' | 'status' | 'location' | 'code' | 'ruleNumber' | 'errorDocument', string | number | boolean>> & {
  lookups?: string[];
  url?: string;
};

const table: [string, WebsiteConfig | undefined, WebsiteRequest, Want][] = [
  // WEB-02 / §7.1: the index document for directory keys, per dialect
  [
    "WEB-02 no SupportSubDir (ali-oss's bare document): a directory gives the ROOT index",
    cfg(INDEX()),
    request('docs/'),
    { kind: 'serve', key: 'index.html', lookups: ['index.html'] },
  ],
  [
    'WEB-02 §7.1 S22 S3 dialect: a directory gives ITS index',
    cfg(INDEX(), NS),
    request('docs/'),
    { kind: 'serve', key: 'docs/index.html' },
  ],
  [
    'WEB-03 §7.1 S22 S3 dialect: "docs" -> 302 /docs/ (OSS Type 0 behaviour)',
    cfg(INDEX(), NS),
    request('docs'),
    { kind: 'redirect', status: 302, location: '/docs/', lookups: ['docs', 'docs/index.html'] },
  ],
  [
    'WEB-03 the directory Location is URL-encoded, with the path-style prefix',
    cfg(INDEX(true, 0)),
    request('a page', { pathPrefix: '/bkt/' }),
    { kind: 'redirect', location: '/bkt/a%20page/' },
  ],
  [
    'WEB-03 Type 0 without dir/index -> 404 and the error document',
    cfg(INDEX(true, 0) + ERROR()),
    request('nodir'),
    { kind: 'serve', key: '404.html', status: 404, errorDocument: true, lookups: ['nodir', 'nodir/index.html', '404.html'] },
  ],
  [
    'WEB-03 Type 2 without dir/index -> 404 and the error document',
    cfg(INDEX(true, 2) + ERROR()),
    request('nodir'),
    { kind: 'serve', key: '404.html', status: 404 },
  ],
  [
    'WEB-03 Type 1 never looks for dir/index',
    cfg(INDEX(true, 1) + ERROR()),
    request('docs'),
    { kind: 'serve', key: '404.html', lookups: ['docs', '404.html'] },
  ],
  [
    'WEB-04 HttpStatus defaults to 404',
    cfg(INDEX() + ERROR()),
    request('nope'),
    { kind: 'serve', key: '404.html', status: 404, errorDocument: true },
  ],
  [
    'WEB-04 an ErrorDocument with HttpStatus 200 (single-page apps)',
    cfg(ERROR('<HttpStatus>200</HttpStatus>')),
    request('app/route'),
    { kind: 'serve', key: '404.html', status: 200 },
  ],
  [
    'WEB-01 WEB-06 a signed request of the root is not the index (the caller lists)',
    cfg(INDEX()),
    request('', { websiteMode: false }),
    { kind: 'error', code: 'NoSuchKey', lookups: [] },
  ],
  [
    'WEB-06 a signed request of a directory key: rules yes, index no',
    cfg(INDEX() + rules(OLD)),
    request('docs/', { websiteMode: false }),
    { kind: 'redirect', location: 'http://old.example.com/docs/', lookups: ['docs/'] },
  ],
  [
    'WEB-05 WEB-02 a website root without IndexDocument: straight to the error document',
    cfg(ERROR()),
    request(''),
    { kind: 'serve', key: '404.html', lookups: ['404.html'] },
  ],
  // §3 mirror actions carry their plan
  [
    'MIR-01 MIR-03 MIR-07 MIR-12 the mirror action carries the origin request',
    cfg(INDEX() + rules(MIRROR())),
    request('m/a b.bin', { query: 'v=2&Signature=s', headers: { 'x-trace': 't1', cookie: 'c' } }),
    { kind: 'mirror', key: 'm/a b.bin', ruleNumber: 2, url: 'http://o.example.com/m/a%20b.bin?v=2' },
  ],
  [
    'MIR-02 [decision] a directory key mirrors its index document, so the next request finds it',
    cfg(INDEX(true) + rules(MIRROR())),
    request('m/new/'),
    { kind: 'mirror', key: 'm/new/index.html', url: 'http://o.example.com/m/new/index.html', lookups: ['m/new/index.html'] },
  ],
  [
    'MAT-03 WEB-05 origin 404: no later rule, then WEB-03 still applies',
    cfg(INDEX(true, 0) + rules(MIRROR(), OLD)),
    request('m/sub', { mirrorNotFound: true }),
    { kind: 'redirect', status: 302, location: '/m/sub/' },
  ],
  [
    'MIR-45 HEAD with MirrorAllowHeadObject: a HEAD mirror',
    cfg(rules(MIRROR('<MirrorAllowHeadObject>true</MirrorAllowHeadObject>'), OLD)),
    request('m/x', { method: 'HEAD' }),
    { kind: 'mirror', key: 'm/x' },
  ],
  // statuses produced elsewhere (RED-05, MAT-11) and "as if missing"
  [
    'MAT-11 a 403 may fire an error-routing rule (Internal serves a page)',
    cfg(rules(ON403, OLD)),
    request('secret', { status: 403 }),
    { kind: 'serve', key: 'denied.html', status: 200, lookups: ['denied.html'] },
  ],
  ['MAT-11 412 is not an error', cfg(rules(ON403)), request('x', { status: 412 }), { kind: 'error', code: 'passthrough', status: 412 }],
  [
    'RED-05 a 500 with no rule for it, and nothing looked up',
    cfg(rules(OLD)),
    request('x', { status: 500 }),
    { kind: 'error', code: 'passthrough', status: 500, lookups: [] },
  ],
  [
    "MAT-06 status 404 given: the object counts as missing even if it exists (the simulator's --status 404)",
    cfg(rules(OLD)),
    request('page.html', { status: 404 }),
    { kind: 'redirect', location: 'http://old.example.com/page.html', lookups: [] },
  ],
  // requests that get no website treatment
  [
    'MAT-09 a sub-resource request (?acl) is never routed',
    cfg(INDEX() + rules(EVERYTHING)),
    request('page.html', { query: 'acl' }),
    { kind: 'serve', key: 'page.html' },
  ],
  [
    'MAT-08 PUT is never routed nor given documents',
    cfg(INDEX() + ERROR() + rules(EVERYTHING)),
    request('nope', { method: 'PUT' }),
    { kind: 'error', code: 'NoSuchKey', lookups: ['nope'] },
  ],
  [
    '§7.1 [decision] RedirectAllRequestsTo applies to website requests only',
    cfg('<RedirectAllRequestsTo><HostName>n.example.com</HostName></RedirectAllRequestsTo>'),
    request('page.html', { websiteMode: false }),
    { kind: 'serve', key: 'page.html' },
  ],
  [
    'no configuration: the object or NoSuchKey',
    undefined,
    request('nope'),
    { kind: 'error', code: 'NoSuchKey', status: 404, lookups: ['nope'] },
  ],
  ['no configuration: an existing object is served', undefined, request('page.html'), { kind: 'serve', key: 'page.html', status: 200 }],
  [
    'MAT-07 a condition-less pre-routing rule redirects everything, existing or not, without a lookup',
    cfg(INDEX() + rules(EVERYTHING)),
    request('page.html'),
    { kind: 'redirect', location: 'https://all.example.com/page.html', ruleNumber: 1, lookups: [] },
  ],
];

describe('decide() driven by a lookup loop', () => {
  for (const [name, c, r, want] of table) {
    it(name, () => {
      const { d, lookups } = drive(c, r);
      const a: Action = d.action;
      const fields: Record<string, unknown> = { ...a, ...(a.kind === 'mirror' && { ruleNumber: a.rule.RuleNumber, url: a.plan.urls[0] }) };
      const { lookups: wantLookups, ...rest } = want;
      for (const [k, v] of Object.entries(rest)) assert.equal(fields[k], v, `${k} in ${JSON.stringify(fields)}`);
      if (wantLookups) assert.deepEqual(lookups, wantLookups);
      if (a.kind !== 'lookup') assert.ok(a.why.length > 0);
    });
  }

  it('MIR-12 the mirror plan forwards only what the rule passes', () => {
    const { d } = drive(cfg(rules(MIRROR())), request('m/a', { headers: { 'x-trace': 't', cookie: 'c', authorization: 'AWS4 x' } }));
    assert.ok(d.action.kind === 'mirror');
    assert.equal(d.action.plan.headers['x-trace'], 't');
    assert.equal(d.action.plan.headers.cookie, undefined);
    assert.equal(d.action.plan.headers.authorization, undefined);
  });
  it('MIR-06 the raw key reaches the plan only when it is the key being mirrored', () => {
    const c = cfg(rules(MIRROR('<MirrorPassOriginalSlashes>true</MirrorPassOriginalSlashes>')));
    const { d } = drive(c, request('m/a', { rawKey: '//m/a' }));
    assert.ok(d.action.kind === 'mirror');
    assert.equal(d.action.plan.urls[0], 'http://o.example.com///m/a');
  });
  it('WEB-05 the trace and steps tell the whole story in order', () => {
    const { d } = drive(
      cfg(
        INDEX(true, 0) +
          ERROR() +
          rules(
            EVERYTHING.replace('<Condition/>', '<Condition><KeyPrefixEquals>x/</KeyPrefixEquals></Condition>'),
            OLD.replace('old.example.com', 'o.example.com').replace(
              '<HttpErrorCodeReturnedEquals>404',
              '<KeyPrefixEquals>y/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404',
            ),
          ),
      ),
      request('nodir'),
    );
    assert.deepEqual(
      d.trace.map((p) => p.phase),
      ['pre-routing', 'error 404'],
    );
    assert.deepEqual(
      d.trace[0]?.entries.map((e) => [e.ruleNumber, e.matched]),
      [
        [1, false],
        [3, false],
      ],
    );
    assert.deepEqual(d.steps, [
      "object 'nodir': missing",
      "directory index (Type 0, WEB-03) 'nodir/index.html': missing",
      "error document '404.html': exists",
    ]);
  });
  it('decide() is pure: the same facts give the same decision', () => {
    const c = cfg(INDEX(true, 0) + ERROR() + rules(OLD));
    const facts = new Map([['docs', false]]);
    assert.deepEqual(decide(c, request('docs'), facts), decide(c, request('docs'), facts));
  });
});
