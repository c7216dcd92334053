/**
 * CORS configuration (service/cors): parse and validate both dialects, the limits, matching
 * (wildcards, methods, requested headers, first rule wins) and the headers an allowed request gets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { buildXml } from '../../src/codec/xml.ts';
import { allowHeaders, corsDocument, matchCors, parseCorsXml, requestedHeaders, varyOf, wildcardMatch } from '../../src/service/cors.ts';

const S3 = (rules: string) => `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</CORSConfiguration>`;
const RULE = (inner: string) => `<CORSRule>${inner}</CORSRule>`;
const GET_ANY = RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return err.code;
  }
  return 'no error';
}

describe('parseCorsXml', () => {
  it('reads every S3 field and writes them back in S3 order', () => {
    const cfg = parseCorsXml(
      S3(
        RULE(
          '<ID>r1</ID><AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>' +
            '<AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>',
        ),
      ),
      's3',
    );
    assert.deepEqual(cfg, {
      dialect: 's3',
      responseVary: false,
      rules: [
        {
          id: 'r1',
          allowedOrigins: ['https://*.example.com'],
          allowedMethods: ['GET', 'PUT'],
          allowedHeaders: ['x-amz-*'],
          exposeHeaders: ['ETag'],
          maxAgeSeconds: 3000,
        },
      ],
    });
    const xml = buildXml(corsDocument(cfg));
    assert.match(
      xml,
      /<CORSRule><ID>r1<\/ID><AllowedHeader>x-amz-\*<\/AllowedHeader><AllowedMethod>GET<\/AllowedMethod><AllowedMethod>PUT<\/AllowedMethod><AllowedOrigin>/,
    );
    assert.doesNotMatch(xml, /ResponseVary/);
  });

  it('an OSS body (ResponseVary) is the OSS dialect, and is written back with ResponseVary', () => {
    const cfg = parseCorsXml(`<CORSConfiguration>${GET_ANY}<ResponseVary>true</ResponseVary></CORSConfiguration>`, 's3');
    assert.equal(cfg.dialect, 'oss');
    assert.equal(cfg.responseVary, true);
    assert.match(buildXml(corsDocument(cfg)), /<\/CORSRule><ResponseVary>true<\/ResponseVary><\/CORSConfiguration>/);
    assert.equal(
      code(() => parseCorsXml(`<CORSConfiguration>${GET_ANY}<ResponseVary>yes</ResponseVary></CORSConfiguration>`, 'oss')),
      'InvalidArgument',
    );
  });

  it('limits: 100 rules in S3, 10 in OSS', () => {
    assert.equal(parseCorsXml(S3(GET_ANY.repeat(100)), 's3').rules.length, 100);
    assert.equal(
      code(() => parseCorsXml(S3(GET_ANY.repeat(101)), 's3')),
      'InvalidArgument',
    );
    assert.equal(parseCorsXml(S3(GET_ANY.repeat(10)), 'oss').rules.length, 10);
    assert.equal(
      code(() => parseCorsXml(S3(GET_ANY.repeat(11)), 'oss')),
      'InvalidArgument',
    );
  });

  const bad: [string, string, string][] = [
    ['not XML', '<CORSConfiguration>', 'MalformedXML'],
    ['another root', '<WebsiteConfiguration/>', 'MalformedXML'],
    ['no rule', S3(''), 'MalformedXML'],
    ['no AllowedOrigin', S3(RULE('<AllowedMethod>GET</AllowedMethod>')), 'MalformedXML'],
    ['no AllowedMethod', S3(RULE('<AllowedOrigin>*</AllowedOrigin>')), 'MalformedXML'],
    [
      'an unknown element',
      S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Allowed>x</Allowed>')),
      'MalformedXML',
    ],
    [
      'a negative MaxAgeSeconds',
      S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds>')),
      'MalformedXML',
    ],
    ['an unsupported method', S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>')), 'InvalidRequest'],
    ['a lower-case method', S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>')), 'InvalidRequest'],
    ['two wildcards in an origin', S3(RULE('<AllowedOrigin>*.a.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')), 'InvalidRequest'],
    [
      'two wildcards in a header',
      S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*a*</AllowedHeader>')),
      'InvalidRequest',
    ],
    [
      'a wildcard in ExposeHeader',
      S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-*</ExposeHeader>')),
      'InvalidRequest',
    ],
    [
      'a non-ASCII origin',
      S3(RULE('<AllowedOrigin>https://bücher.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')),
      'InvalidRequest',
    ],
    [
      'a space in ExposeHeader',
      S3(RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x a</ExposeHeader>')),
      'InvalidRequest',
    ],
    [
      'an ID over 255 characters',
      S3(RULE(`<ID>${'i'.repeat(256)}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`)),
      'InvalidArgument',
    ],
  ];
  for (const [what, xml, want] of bad) {
    it(`refuses ${what} with ${want}`, () =>
      assert.equal(
        code(() => parseCorsXml(xml, 's3')),
        want,
      ));
  }
});

describe('matching', () => {
  it('wildcards: one * stands for any run of characters, anchored at both ends', () => {
    const cases: [string, string, boolean][] = [
      ['*', 'anything', true],
      ['*suffix', 'foo.suffix', true],
      ['*suffix', 'foo.suffix.get', false],
      ['start*end', 'startend', true],
      ['start*end', 'start12end', true],
      ['start*end', '0start12end', false],
      ['prefix*', 'prefix', true],
      ['prefix*', 'bla.prefix', false],
      ['ab*ba', 'aba', false],
      ['http://a.example', 'http://a.example', true],
      ['http://a.example', 'http://a.example:8080', false],
    ];
    for (const [p, v, want] of cases) assert.equal(wildcardMatch(p, v), want, `${p} ~ ${v}`);
  });

  const cfg = parseCorsXml(
    S3(
      RULE('<AllowedOrigin>*suffix</AllowedOrigin><AllowedMethod>GET</AllowedMethod>') +
        RULE(
          '<AllowedOrigin>http://app.test</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>Content-*</AllowedHeader><AllowedHeader>x-amz-meta-a</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds>',
        ) +
        RULE('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod>'),
    ),
    's3',
  );

  it('needs origin, method and every requested header (case-insensitive) to match one rule; the first wins', () => {
    assert.equal(matchCors(cfg, { origin: 'x.suffix', method: 'GET', headers: [] })?.rule, cfg.rules[0]);
    assert.equal(matchCors(cfg, { origin: 'x.suffix', method: 'PUT', headers: [] }), undefined);
    assert.equal(
      matchCors(cfg, { origin: 'http://app.test', method: 'PUT', headers: requestedHeaders('content-type, X-Amz-Meta-A') })?.rule,
      cfg.rules[1],
    );
    assert.equal(matchCors(cfg, { origin: 'http://app.test', method: 'PUT', headers: requestedHeaders('x-amz-meta-b') }), undefined);
    assert.equal(matchCors(cfg, { origin: 'http://other.test', method: 'HEAD', headers: [] })?.allowedOrigin, '*');
    assert.equal(matchCors(cfg, { origin: 'http://other.test', method: 'HEAD', headers: ['x-any'] }), undefined);
  });

  it('answers * for the * origin, else the Origin with credentials; a preflight also gets Allow-Headers', () => {
    const any = matchCors(cfg, { origin: 'http://other.test', method: 'HEAD', headers: [] });
    assert.ok(any);
    assert.deepEqual(allowHeaders(any, 'http://other.test'), {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'HEAD',
    });
    const app = matchCors(cfg, { origin: 'http://app.test', method: 'PUT', headers: ['content-type'] });
    assert.ok(app);
    assert.deepEqual(allowHeaders(app, 'http://app.test', { headers: ['content-type'] }), {
      'Access-Control-Allow-Origin': 'http://app.test',
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Methods': 'PUT, GET',
      'Access-Control-Allow-Headers': 'content-type',
      'Access-Control-Expose-Headers': 'ETag',
      'Access-Control-Max-Age': '60',
    });
  });

  it('Vary: always Origin for S3 configurations (plus the request headers on a preflight); OSS only with ResponseVary', () => {
    assert.equal(varyOf(cfg, false), 'Origin');
    assert.equal(varyOf(cfg, true), 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
    assert.equal(varyOf({ ...cfg, dialect: 'oss', responseVary: false }, false), undefined);
    assert.equal(varyOf({ ...cfg, dialect: 'oss', responseVary: true }, true), 'Origin');
  });
});

describe('white space', () => {
  it('between elements is ignored; other text is refused', () => {
    const cfg = parseCorsXml(
      '<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigin> * </AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n  </CORSRule>\n</CORSConfiguration>\n',
      's3',
    );
    assert.deepEqual(cfg.rules[0]?.allowedOrigins, ['*']);
    assert.equal(
      code(() =>
        parseCorsXml(
          '<CORSConfiguration>x<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
          's3',
        ),
      ),
      'MalformedXML',
    );
  });
});
