/**
 * Fuzz the routing logic, not only the parsers: rule matching (spec §2), the Location of a redirect
 * (§4) and the origin URL of a mirror (§3.2) from arbitrary keys, queries and rules. Each property
 * compares with a model written from the spec's statements (MAT-01…MAT-09, RED-01/02, MIR-03…08),
 * or checks a round trip through a real URL parser (WHATWG `URL`, what every client uses).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matchRules } from '../../src/rules/match.ts';
import type { MatchRequest, Phase } from '../../src/rules/match.ts';
import { mirrorPlan } from '../../src/rules/mirror-plan.ts';
import { buildRedirect } from '../../src/rules/redirect.ts';
import type { RoutingRule } from '../../src/rules/rules.ts';
import { isAuthParam } from '../../src/codec/uri.ts';
import { fuzz } from './budget.ts';

/** Pieces of keys that sit on the encoders' edges: reserved URL characters, escapes, non-ASCII, astral. */
const keyPiece = fc.oneof(
  fc.constantFrom(
    '/',
    '%',
    '%2F',
    '%41',
    '+',
    '?',
    '#',
    '&',
    '=',
    ' ',
    ';',
    ':',
    '@',
    '!',
    "'",
    '(',
    ')',
    '*',
    '~',
    '.',
    '..x',
    'a',
    'Z',
    '9',
    '-',
    '_',
    'é',
    '中',
    '😀',
    '\u00a0',
    '\t',
    '\\',
    '"',
    '<',
    '>',
    '${key}',
  ),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);
/** A valid object key (STYLE §2.12): non-empty, no NUL, no '.' or '..' segment, at most 1024 bytes. */
const objectKey = fc
  .array(keyPiece, { minLength: 1, maxLength: 12 })
  .map((p) => p.join(''))
  .filter(
    (k) =>
      k.length > 0 &&
      k.isWellFormed() &&
      !k.includes('\0') &&
      Buffer.byteLength(k) <= 1024 &&
      k.split('/').every((s) => s !== '.' && s !== '..'),
  );

/** A prefix of `key` cut at a code point (a rule's KeyPrefixEquals is text, never half a character). */
function prefixOf(key: string, cut: number): string {
  const points = [...key];
  return points.slice(0, cut % (points.length + 1)).join('');
}

function hasDotSegment(key: string): boolean {
  return key.split('/').some((s) => s === '.' || s === '..');
}

/** The origin keys are decoded segment by segment: percent-decoding of the encoded path. */
function decodePath(path: string): string {
  return path.split('/').map(decodeURIComponent).join('/');
}

// ---------------------------------------------------------------------------------------------
// rule matching

const HEADER_NAMES = ['x-a', 'X-B', 'host'];
const HEADER_VALUES = ['', 'v', 'va', 'av', 'value', 'V'];
const includeHeader = fc
  .record({
    Key: fc.constantFrom(...HEADER_NAMES),
    test: fc.constantFrom('Equals', 'StartsWith', 'EndsWith'),
    value: fc.constantFrom(...HEADER_VALUES),
  })
  .map(({ Key, test, value }) => ({ Key, [test]: value }));

const SMALL = ['', 'a', 'a/', 'ab', 'b', '.txt', 'a/b', 'é'];
const ruleArb = (n: number) =>
  fc
    .record({
      prefix: fc.option(fc.constantFrom(...SMALL), { nil: undefined }),
      suffix: fc.option(fc.constantFrom(...SMALL), { nil: undefined }),
      code: fc.option(fc.constantFrom(404, 403, 500), { nil: undefined }),
      headers: fc.array(includeHeader, { maxLength: 2 }),
      type: fc.constantFrom('Mirror', 'External', 'Internal'),
      headAllowed: fc.boolean(),
    })
    .map((r): RoutingRule => ({
      RuleNumber: n,
      Condition: {
        ...(r.prefix !== undefined && { KeyPrefixEquals: r.prefix }),
        ...(r.suffix !== undefined && { KeySuffixEquals: r.suffix }),
        ...(r.code !== undefined && { HttpErrorCodeReturnedEquals: r.code }),
        ...(r.headers.length > 0 && { IncludeHeader: r.headers }),
      },
      Redirect: {
        RedirectType: r.type,
        ...(r.type === 'Mirror' ? { MirrorURL: 'http://o.example/', MirrorAllowHeadObject: r.headAllowed } : { HostName: 'h.example' }),
      },
    }));

const rulesArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 6 })
  .chain((numbers) => fc.tuple(...numbers.map(ruleArb)));

const requestArb = fc.record({
  key: fc.oneof(
    fc.constant(''),
    fc.constantFrom(...SMALL.filter((s) => s !== '')),
    fc.array(fc.constantFrom('a', 'b', '/', '.txt', 'é'), { minLength: 1, maxLength: 5 }).map((p) => p.join('')),
  ),
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'get'),
  headers: fc.dictionary(
    fc.constantFrom('x-a', 'x-b', 'host', 'x-c'),
    fc.oneof(fc.constantFrom(...HEADER_VALUES), fc.array(fc.constantFrom(...HEADER_VALUES), { minLength: 2, maxLength: 2 })),
  ),
  status: fc.option(fc.constantFrom(404, 403, 500), { nil: undefined }),
});

/** The spec's statements, written out on their own (not from the module). */
function holds(rule: RoutingRule, req: MatchRequest, phase: Phase): boolean {
  const c = rule.Condition ?? {};
  const method = req.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return false; // MAT-08
  if (method === 'HEAD' && rule.Redirect.RedirectType === 'Mirror' && rule.Redirect.MirrorAllowHeadObject !== true) return false; // MAT-08, MIR-45
  if (req.key === '') return false; // MAT-09
  const code = c.HttpErrorCodeReturnedEquals; // MAT-06, MAT-07
  if (phase.kind === 'pre' ? code !== undefined : code !== phase.status) return false;
  if (c.KeyPrefixEquals !== undefined && !req.key.startsWith(c.KeyPrefixEquals)) return false; // MAT-04
  if (c.KeySuffixEquals !== undefined && !req.key.endsWith(c.KeySuffixEquals)) return false;
  for (const h of c.IncludeHeader ?? []) {
    // MAT-05: case-insensitive name, repeated values joined
    const raw = req.headers[(h.Key ?? '').toLowerCase()];
    if (raw === undefined) return false;
    const v = Array.isArray(raw) ? raw.join(', ') : raw;
    if (h.Equals !== undefined && v !== h.Equals) return false;
    if (h.StartsWith !== undefined && !v.startsWith(h.StartsWith)) return false;
    if (h.EndsWith !== undefined && !v.endsWith(h.EndsWith)) return false;
  }
  return true;
}

describe('fuzz: rule matching (MAT-01…MAT-09)', () => {
  it('the first rule by RuleNumber that holds fires, whatever the order the rules are stored in; the trace stops there', async () => {
    await fuzz(
      fc.property(rulesArb, requestArb, fc.nat(), (rules, req, shuffleSeed) => {
        const phase: Phase = req.status === undefined ? { kind: 'pre' } : { kind: 'error', status: req.status };
        const ordered = [...rules].sort((a, b) => a.RuleNumber - b.RuleNumber);
        const want = ordered.find((r) => holds(r, req, phase));
        // MAT-01: the stored order does not matter
        const shuffled = [...rules];
        for (let i = shuffled.length - 1, s = shuffleSeed; i > 0; i--, s = Math.floor(s / 7) + i) {
          const j = s % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const got = matchRules(shuffled, req);
        assert.equal(got.rule?.RuleNumber, want?.RuleNumber);
        const traced = got.trace.map((t) => t.ruleNumber);
        const upTo = want ? ordered.indexOf(want) + 1 : ordered.length;
        assert.deepEqual(
          traced,
          ordered.slice(0, upTo).map((r) => r.RuleNumber),
          'the trace walks the rules in order up to the match',
        );
        assert.deepEqual(
          got.trace.map((t) => t.matched),
          traced.map((n) => n === want?.RuleNumber),
        );
      }),
      { ms: 1500, minRuns: 200 },
    );
  });

  it('MAT-05 header names match whatever their case in the rule', async () => {
    await fuzz(
      fc.property(
        fc.constantFrom('x-a', 'host'),
        fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        (name, value, upper) => {
          const cased = [...name].map((c, i) => (upper[i % 4] ? c.toUpperCase() : c)).join('');
          const rule = {
            RuleNumber: 1,
            Condition: { IncludeHeader: [{ Key: cased, Equals: value }] },
            Redirect: { RedirectType: 'External', HostName: 'h.example' },
          } as RoutingRule;
          assert.equal(matchRules([rule], { key: 'k', method: 'GET', headers: { [name]: value } }).rule?.RuleNumber, 1);
          assert.equal(matchRules([rule], { key: 'k', method: 'GET', headers: { [name]: value + 'x' } }).rule, undefined);
        },
      ),
      { ms: 500, minRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Location and origin URL

const queryParam = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      'a',
      'b',
      'x-amz-signature',
      'X-Amz-Credential',
      'Signature',
      'OSSAccessKeyId',
      'x-oss-signature-version',
      'Expires',
      'security-token',
      'w',
      'q',
    ),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 5 }),
  ),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
/** A raw query string as a client sends it (each part percent-encoded), and its parameters. */
const queryArb = fc.array(queryParam, { maxLength: 5 }).map((params) => ({
  raw: params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  params,
}));

const HOSTS = ['www.example.com', 'cdn.example.org:8080', 'h.example'];

describe('fuzz: redirect Location (RED-01, RED-02, MIR-08)', () => {
  it('the Location is a URL on the rule host whose path decodes to the new key, with the client query minus credentials', async () => {
    await fuzz(
      fc.property(
        objectKey,
        fc.nat(),
        fc.constantFrom('', 'new/', 'x-', 'dir é/'),
        fc.constantFrom(...HOSTS),
        fc.constantFrom('http', 'https'),
        fc.boolean(),
        queryArb,
        (key, cut, replacement, host, protocol, passQuery, query) => {
          // the rule's prefix is a prefix of the key (the rule matched), possibly empty
          const prefix = prefixOf(key, cut);
          const rule = {
            RuleNumber: 1,
            Condition: { ...(prefix !== '' && { KeyPrefixEquals: prefix }) },
            Redirect: {
              RedirectType: 'External',
              Protocol: protocol,
              HostName: host,
              ReplaceKeyPrefixWith: replacement,
              PassQueryString: passQuery,
            },
          } as RoutingRule;
          const { location } = buildRedirect(rule, { key, host: 'osprey.local', protocol: 'http', query: query.raw });
          assert.match(location, /^[\x21-\x7e]+$/, 'a Location is visible ASCII: every other byte is escaped');
          const url = new URL(location);
          assert.equal(url.protocol, `${protocol}:`);
          assert.equal(url.host, host);
          const want = replacement + key.slice(prefix.length);
          // a new key with a '.' or '..' segment cannot be said in a URL (every parser resolves it,
          // %2e included); it stays on the rule's host, so it is not checked here (see the mirror property)
          if (!hasDotSegment(want)) assert.equal(decodePath(url.pathname.slice(1)), want, 'RED-01: the path is the new key');
          assert.equal(url.hash, '', 'a key character never starts a fragment');
          const kept = query.params.filter(([k]) => !isAuthParam(k));
          assert.deepEqual([...url.searchParams], passQuery ? kept : [], 'RED-02, MIR-08: the client query without credentials, in order');
        },
      ),
      { ms: 1500, minRuns: 200 },
    );
  });

  it('ReplaceKeyWith `login?next=${key}#from=${key}`: the key is the value of next and of the fragment, whatever it holds', async () => {
    await fuzz(
      fc.property(objectKey, (key) => {
        const rule = {
          RuleNumber: 1,
          Condition: {},
          Redirect: {
            RedirectType: 'External',
            Protocol: 'https',
            HostName: 'login.example',
            ReplaceKeyWith: 'sign in/login?next=${key}&x=1#from=${key}',
          },
        } as RoutingRule;
        const { location } = buildRedirect(rule, { key, host: 'osprey.local', protocol: 'http', query: '' });
        assert.match(location, /^[\x21-\x7e]+$/);
        const url = new URL(location);
        assert.equal(decodePath(url.pathname), '/sign in/login');
        assert.equal(url.searchParams.get('next'), key);
        assert.equal(url.searchParams.get('x'), '1');
        assert.equal(decodeURIComponent(url.hash.slice('#from='.length)), key);
      }),
      { ms: 1000, minRuns: 100 },
    );
  });
});

describe('fuzz: mirror origin URL (MIR-03…MIR-08)', () => {
  const BASES = ['http://o.example/', 'http://o.example/dir1/', 'https://o.example:8443/a%20b/', 'http://127.0.0.1:9000/bucket/'];
  it('the origin URL is MirrorURL + the encoded origin key (prefix replaced when enabled) + the query minus credentials; the object is stored under the requested key', async () => {
    await fuzz(
      fc.property(
        objectKey,
        fc.nat(),
        fc.constantFrom(...BASES),
        fc.option(fc.constantFrom('', 'dest/', 'v2-'), { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        queryArb,
        (key, cut, base, replacement, mirrorPass, pass, query) => {
          const prefix = prefixOf(key, cut);
          const rule = {
            RuleNumber: 1,
            Condition: { HttpErrorCodeReturnedEquals: 404, ...(prefix !== '' && { KeyPrefixEquals: prefix }) },
            Redirect: {
              RedirectType: 'Mirror',
              MirrorURL: base,
              ...(replacement !== undefined && { EnableReplacePrefix: true, ReplaceKeyPrefixWith: replacement }),
              ...(mirrorPass !== undefined && { MirrorPassQueryString: mirrorPass }),
              ...(pass !== undefined && { PassQueryString: pass }),
            },
          } as RoutingRule;
          const plan = mirrorPlan(rule, { key, query: query.raw, headers: {} });
          // MIR-03/04/06: collapse leading and repeated slashes (no MirrorPassOriginalSlashes), then the prefix replacement
          const collapsed = key.replace(/^\/+/, '').replace(/\/{2,}/g, '/');
          const originKey =
            replacement !== undefined && prefix !== '' && collapsed.startsWith(prefix)
              ? replacement + collapsed.slice(prefix.length)
              : collapsed;
          if (hasDotSegment(originKey)) {
            // the URL would climb out of MirrorURL: no origin is asked
            assert.deepEqual(plan.urls, []);
            assert.match(plan.refused ?? '', /segment/);
            return;
          }
          assert.equal(plan.refused, undefined);
          const originUrl = plan.urls[0] ?? '';
          assert.ok(originUrl.startsWith(base), 'MIR-09: MirrorURL is an opaque prefix');
          assert.match(originUrl, /^[\x21-\x7e]+$/, 'MIR-05: every other byte is escaped');
          const rest = originUrl.slice(base.length);
          const q = rest.indexOf('?');
          const path = q < 0 ? rest : rest.slice(0, q);
          assert.doesNotMatch(path, /#/, 'no fragment');
          assert.equal(decodePath(path), originKey);
          // the URL parser keeps the path as built (nothing normalised away)
          const parsed = new URL(originUrl);
          assert.equal(parsed.href.slice(0, parsed.href.length - parsed.search.length), base + path);
          // MIR-07: MirrorPassQueryString wins; else PassQueryString; default none. MIR-08: no credentials
          const passes = mirrorPass ?? pass ?? false;
          const kept = query.params.filter(([k]) => !isAuthParam(k));
          assert.deepEqual([...parsed.searchParams], passes ? kept : []);
          assert.equal(plan.storeKey, key.replace(/^\/+/, ''), 'MIR-04: stored under the requested key');
        },
      ),
      { ms: 1500, minRuns: 200 },
    );
  });
});
