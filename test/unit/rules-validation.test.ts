/**
 * The website XML parser and validator (spec §1.5, §1.6, §1.8): every case names its statement.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { fromStored, parseWebsiteXml, serializeWebsiteXml, toStored } from '../../src/rules/rules.ts';

const wrap = (rules: string, extra = '<IndexDocument><Suffix>index.html</Suffix></IndexDocument>') =>
  `<WebsiteConfiguration>${extra}<RoutingRules>${rules}</RoutingRules></WebsiteConfiguration>`;
const mirror = (n: number, more = '', cond = '<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>') =>
  `<RoutingRule><RuleNumber>${n}</RuleNumber><Condition>${cond}</Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://o.example.com/</MirrorURL>${more}</Redirect></RoutingRule>`;
const external = (n: number, more = '<Protocol>https</Protocol><HostName>x.example.com</HostName>') =>
  `<RoutingRule><RuleNumber>${n}</RuleNumber><Condition><KeyPrefixEquals>a/</KeyPrefixEquals></Condition><Redirect><RedirectType>External</RedirectType>${more}</Redirect></RoutingRule>`;

function rejects(xml: string, code: string, message: RegExp, maxRules = 5): void {
  assert.throws(
    () => parseWebsiteXml(xml, { maxRules }),
    (e: unknown) => {
      assert.ok(e instanceof S3Error, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('website configuration: accepted documents', () => {
  it('XML-03 the bare ali-oss document', () => {
    const c = parseWebsiteXml('<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>');
    assert.equal(c.IndexDocument?.Suffix, 'index.html');
    assert.equal(c.RoutingRules.length, 0);
  });
  it('API-06 declaration, any element order, pretty-printing, a single rule', () => {
    const c = parseWebsiteXml(
      `<?xml version="1.0" encoding="UTF-8"?>\n<WebsiteConfiguration>\n  <RoutingRules>\n    <RoutingRule>\n      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>\n      <Redirect><MirrorURL>http://o.example.com/</MirrorURL><RedirectType>Mirror</RedirectType></Redirect>\n      <RuleNumber>7</RuleNumber>\n    </RoutingRule>\n  </RoutingRules>\n</WebsiteConfiguration>`,
    );
    assert.equal(c.RoutingRules[0]?.RuleNumber, 7);
    assert.equal(c.dialect, 'oss');
  });
  it('GET-01 GET-02 GET-04 defaults filled in, ascending RuleNumber, repeated Pass', () => {
    const c = parseWebsiteXml(wrap(mirror(9) + mirror(2, '<MirrorHeaders><Pass>a-b</Pass><Pass>c</Pass></MirrorHeaders>')));
    assert.deepEqual(
      c.RoutingRules.map((r) => r.RuleNumber),
      [2, 9],
    );
    const xml = serializeWebsiteXml(c);
    for (const part of [
      '<PassQueryString>false</PassQueryString>',
      '<MirrorPassQueryString>false</MirrorPassQueryString>',
      '<MirrorFollowRedirect>true</MirrorFollowRedirect>',
      '<MirrorCheckMd5>false</MirrorCheckMd5>',
      '<PassAll>false</PassAll>',
      '<Pass>a-b</Pass><Pass>c</Pass>',
    ]) {
      assert.ok(xml.includes(part), part);
    }
    assert.ok(xml.indexOf('<RuleNumber>2</RuleNumber>') < xml.indexOf('<RuleNumber>9</RuleNumber>'));
  });
  it('XML-02 every element round-trips, even the ones Osprey only stores', () => {
    const extras =
      '<MirrorURLSlave>http://s.example.com/</MirrorURLSlave><MirrorURLProbe>http://o.example.com/health</MirrorURLProbe><MirrorSNI>true</MirrorSNI><MirrorUsingRole>false</MirrorUsingRole><MirrorRole>r</MirrorRole><MirrorIsExpressTunnel>false</MirrorIsExpressTunnel><MirrorDstRegion>cn</MirrorDstRegion><MirrorTaggings><Taggings><Key>k</Key><Value>v</Value></Taggings></MirrorTaggings><MirrorReturnHeaders><ReturnHeader><Key>x-a</Key><Value>1</Value></ReturnHeader></MirrorReturnHeaders><TransparentMirrorResponseCodes>400,404</TransparentMirrorResponseCodes>';
    const c = parseWebsiteXml(wrap(mirror(1, extras)));
    const again = parseWebsiteXml(serializeWebsiteXml(fromStored(toStored(c))));
    assert.deepEqual(again, c);
    assert.match(serializeWebsiteXml(c), /<MirrorIsExpressTunnel>false<\/MirrorIsExpressTunnel>/);
  });
  it('GET-03 MirrorAuth secret is masked on read', () => {
    const c = parseWebsiteXml(
      wrap(
        mirror(
          1,
          '<MirrorAuth><AccessKeyId>AK</AccessKeyId><AccessKeySecret>topsecret</AccessKeySecret><AuthType>s3v4</AuthType></MirrorAuth>',
        ),
      ),
    );
    const xml = serializeWebsiteXml(c);
    assert.doesNotMatch(xml, /topsecret/);
    assert.match(xml, /<AccessKeySecret>\*+<\/AccessKeySecret>/);
    assert.equal(c.RoutingRules[0]?.Redirect.MirrorAuth?.AccessKeySecret, 'topsecret');
  });
  it('XML-05 XML-06 an S3-dialect document stays S3 on GET', () => {
    const c = parseWebsiteXml(
      '<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith>b/</ReplaceKeyPrefixWith></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
    );
    assert.equal(c.dialect, 's3');
    assert.equal(c.RoutingRules[0]?.Redirect.RedirectType, 'External');
    assert.doesNotMatch(serializeWebsiteXml(c), /RuleNumber|RedirectType/);
  });
  it('XML-05 S3 RedirectAllRequestsTo', () => {
    const c = parseWebsiteXml(
      '<WebsiteConfiguration><RedirectAllRequestsTo><HostName>new.example.com</HostName><Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>',
    );
    assert.equal(c.RedirectAllRequestsTo?.HostName, 'new.example.com');
  });
  it('LIM-02 the configured cap can be raised (OSS up to 20, S3 up to 50)', () => {
    const six = Array.from({ length: 6 }, (_, i) => mirror(i + 1)).join('');
    assert.equal(parseWebsiteXml(wrap(six), { maxRules: 20 }).RoutingRules.length, 6);
    const s3rule = '<RoutingRule><Redirect><HostName>h.example.com</HostName></Redirect></RoutingRule>';
    assert.equal(parseWebsiteXml(wrap(s3rule.repeat(30)), { maxRules: 50 }).RoutingRules.length, 30);
  });
});

describe('website configuration: §1.5 rejections name the rule and field', () => {
  const cases: [string, string, string, RegExp, number?][] = [
    ['VAL-01 not well-formed', '<WebsiteConfiguration><IndexDocument>', 'MalformedXML', /not well-formed/],
    ['VAL-01 wrong root', '<Website><IndexDocument><Suffix>i</Suffix></IndexDocument></Website>', 'MalformedXML', /WebsiteConfiguration/],
    ['XML-01 empty configuration', '<WebsiteConfiguration></WebsiteConfiguration>', 'MalformedXML', /at least one/],
    ['XML-02 unknown element', wrap(mirror(1, '<MirrorUrl>x</MirrorUrl>')), 'MalformedXML', /Unknown element <MirrorUrl>/],
    ['XML-02 DOCTYPE refused', '<!DOCTYPE x [<!ENTITY a "b">]><WebsiteConfiguration/>', 'MalformedXML', /DOCTYPE/],
    [
      'VAL-02 missing RuleNumber',
      wrap(
        mirror(1).replace('<RuleNumber>1</RuleNumber>', '') +
          mirror(2, '', '<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>'),
      ),
      'InvalidArgument',
      /RoutingRule #1: RuleNumber is required/,
    ],
    ['VAL-02 zero RuleNumber', wrap(mirror(0)), 'InvalidArgument', /RuleNumber must be a positive/],
    [
      'VAL-02 non-integer RuleNumber',
      wrap(mirror(1).replace('<RuleNumber>1</RuleNumber>', '<RuleNumber>1.5</RuleNumber>')),
      'InvalidArgument',
      /RuleNumber.*whole number/,
    ],
    ['VAL-03 duplicate RuleNumber', wrap(mirror(3) + mirror(3)), 'InvalidArgument', /RuleNumber 3 is used by two rules/],
    [
      'VAL-04 no Condition',
      wrap(
        '<RoutingRule><RuleNumber>1</RuleNumber><Redirect><RedirectType>External</RedirectType></Redirect></RoutingRule><RoutingRule><RuleNumber>2</RuleNumber></RoutingRule>',
      ),
      'InvalidArgument',
      /RoutingRule 1: Condition is required/,
    ],
    [
      'VAL-04 no RedirectType',
      wrap(
        '<RoutingRule><RuleNumber>4</RuleNumber><Condition></Condition><Redirect><MirrorURL>http://o/</MirrorURL><HostName>h</HostName></Redirect></RoutingRule>',
      ),
      'InvalidArgument',
      /RoutingRule 4: Redirect\/RedirectType is required/,
    ],
    ['VAL-05 unknown RedirectType', wrap(external(2).replace('External', 'Proxy')), 'InvalidArgument', /RoutingRule 2: .*not 'Proxy'/],
    [
      'VAL-06 Mirror without MirrorURL',
      wrap(mirror(1).replace('<MirrorURL>http://o.example.com/</MirrorURL>', '')),
      'InvalidArgument',
      /RoutingRule 1: a Mirror rule needs Redirect\/MirrorURL/,
    ],
    [
      'VAL-06 MirrorURL without trailing slash',
      wrap(mirror(1).replace('http://o.example.com/', 'http://o.example.com/dir')),
      'InvalidArgument',
      /MirrorURL must be an http/,
    ],
    ['VAL-06 MirrorURL not http', wrap(mirror(1).replace('http://o.example.com/', 'ftp://o.example.com/')), 'InvalidArgument', /MirrorURL/],
    [
      'VAL-07 slave without probe',
      wrap(mirror(1, '<MirrorURLSlave>http://s.example.com/</MirrorURLSlave>')),
      'InvalidArgument',
      /MirrorURLSlave needs Redirect\/MirrorURLProbe/,
    ],
    [
      'VAL-08 Mirror without 404 condition',
      wrap(mirror(5, '', '<KeyPrefixEquals>x/</KeyPrefixEquals>')),
      'InvalidArgument',
      /RoutingRule 5: a Mirror rule needs Condition\/HttpErrorCodeReturnedEquals 404/,
    ],
    [
      'VAL-08 Mirror on 500',
      wrap(mirror(5, '', '<HttpErrorCodeReturnedEquals>500</HttpErrorCodeReturnedEquals>')),
      'InvalidArgument',
      /HttpErrorCodeReturnedEquals 404/,
    ],
    [
      'VAL-09 both replacements',
      wrap(
        external(
          1,
          '<Protocol>https</Protocol><HostName>h.example.com</HostName><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith>',
        ),
      ),
      'InvalidArgument',
      /ReplaceKeyWith and ReplaceKeyPrefixWith/,
    ],
    [
      'VAL-09 EnableReplacePrefix with ReplaceKeyWith',
      wrap(
        external(
          1,
          '<Protocol>https</Protocol><HostName>h.example.com</HostName><ReplaceKeyWith>a</ReplaceKeyWith><EnableReplacePrefix>true</EnableReplacePrefix>',
        ),
      ),
      'InvalidArgument',
      /EnableReplacePrefix/,
    ],
    [
      'VAL-10 External without HostName',
      wrap(external(6, '<Protocol>https</Protocol>')),
      'InvalidArgument',
      /RoutingRule 6: an External redirect needs Redirect\/HostName/,
    ],
    [
      'VAL-10 bad protocol',
      wrap(external(6, '<Protocol>ftp</Protocol><HostName>h.example.com</HostName>')),
      'InvalidArgument',
      /Protocol must be http or https/,
    ],
    [
      'VAL-10 bad redirect code',
      wrap(external(6, '<Protocol>http</Protocol><HostName>h.example.com</HostName><HttpRedirectCode>308</HttpRedirectCode>')),
      'InvalidArgument',
      /301, 302 or 307, not 308/,
    ],
    [
      'VAL-11 Internal with HostName',
      wrap(
        '<RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition><Redirect><RedirectType>Internal</RedirectType><HostName>h.example.com</HostName></Redirect></RoutingRule>',
      ),
      'InvalidArgument',
      /Internal redirect must not set HostName/,
    ],
    [
      'VAL-12 bad Pass header name',
      wrap(mirror(1, '<MirrorHeaders><Pass>bad header</Pass></MirrorHeaders>')),
      'InvalidArgument',
      /MirrorHeaders\/Pass 'bad header'/,
    ],
    [
      'VAL-12 Set value with CRLF',
      wrap(mirror(1, '<MirrorHeaders><Set><Key>x-a</Key><Value>a&#13;&#10;b</Value></Set></MirrorHeaders>')),
      'InvalidArgument',
      /without CR or LF/,
    ],
    [
      'VAL-13 LIM-02 a sixth rule by default',
      wrap([1, 2, 3, 4, 5, 6].map((i) => mirror(i)).join('')),
      'InvalidArgument',
      /At most 5 routing rules/,
    ],
    [
      'VAL-13 LIM-02 OSS ceiling 20 even when configured higher',
      wrap(Array.from({ length: 21 }, (_, i) => mirror(i + 1)).join('')),
      'InvalidArgument',
      /At most 20/,
      50,
    ],
    [
      'VAL-13 LIM-03 eleven IncludeHeader',
      wrap(
        mirror(
          1,
          '',
          '<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>' +
            '<IncludeHeader><Key>a</Key><Equals>1</Equals></IncludeHeader>'.repeat(11),
        ),
      ),
      'InvalidArgument',
      /at most 10 IncludeHeader/,
    ],
    [
      'VAL-13 LIM-03 eleven Pass',
      wrap(mirror(1, `<MirrorHeaders>${'<Pass>a</Pass>'.repeat(11)}</MirrorHeaders>`)),
      'InvalidArgument',
      /at most 10 MirrorHeaders\/Pass/,
    ],
    [
      'VAL-14 IndexDocument without Suffix',
      '<WebsiteConfiguration><IndexDocument></IndexDocument></WebsiteConfiguration>',
      'InvalidArgument',
      /Suffix/,
    ],
    [
      'VAL-14 ErrorDocument without Key',
      '<WebsiteConfiguration><ErrorDocument><HttpStatus>404</HttpStatus></ErrorDocument></WebsiteConfiguration>',
      'InvalidArgument',
      /ErrorDocument needs a non-empty Key/,
    ],
    [
      'VAL-14 bad Type',
      '<WebsiteConfiguration><IndexDocument><Suffix>i</Suffix><Type>3</Type></IndexDocument></WebsiteConfiguration>',
      'InvalidArgument',
      /Type must be 0, 1 or 2/,
    ],
    [
      'boolean that is not',
      wrap(mirror(1, '<MirrorCheckMd5>yes</MirrorCheckMd5>')),
      'InvalidArgument',
      /MirrorCheckMd5 must be true or false/,
    ],
    [
      'API-08 over 128 KB',
      wrap(mirror(1)).replace('<IndexDocument>', `<IndexDocument>${' '.repeat(130 * 1024)}`),
      'MalformedXML',
      /at most 131072 bytes/,
    ],
    [
      'S3 dialect rule without Redirect fields',
      '<WebsiteConfiguration><IndexDocument><Suffix>i</Suffix></IndexDocument><RoutingRules><RoutingRule><Redirect></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
      'InvalidArgument',
      /at least one of Protocol/,
    ],
  ];
  for (const [name, xml, code, msg, max] of cases) {
    it(name, () => rejects(xml, code, msg, max ?? 5));
  }
});
