/**
 * The website configuration model beyond the basic tables: client compatibility (§1.7), dialect
 * choice (XML-05), defaults that must not change behaviour (GET-01 with MIR-07), storage,
 * the VAL-16 origin guard, and the smaller §1.5 value checks. Every case names its statement.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { originQuery } from '../../src/rules/mirror-plan.ts';
import { addressProblem, originGuard } from '../../src/origin/origin-guard.ts';
import type { ParseOptions } from '../../src/rules/rules.ts';
import {
  MASKED_SECRET,
  MAX_RULES_OSS,
  MAX_RULES_S3,
  fromStored,
  keepMaskedSecrets,
  parseWebsiteXml,
  serializeWebsiteXml,
  toStored,
  validateMaxRoutingRules,
} from '../../src/rules/rules.ts';

const W = (inner: string, attrs = '') => `<WebsiteConfiguration${attrs}>${inner}</WebsiteConfiguration>`;
const INDEX = '<IndexDocument><Suffix>index.html</Suffix></IndexDocument>';
const NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const mirror = (n: number, redirect = '', cond = '') =>
  `<RoutingRule><RuleNumber>${n}</RuleNumber><Condition>${cond}<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://o.example.com/</MirrorURL>${redirect}</Redirect></RoutingRule>`;
const rules = (...r: string[]) => `${INDEX}<RoutingRules>${r.join('')}</RoutingRules>`;
const s3rule = (redirect: string, cond = '') => `<RoutingRule>${cond}<Redirect>${redirect}</Redirect></RoutingRule>`;

function rejects(xml: string, code: string, message: RegExp, opts: ParseOptions = { maxRules: 5 }): void {
  assert.throws(
    () => parseWebsiteXml(xml, opts),
    (e: unknown) => {
      assert.ok(e instanceof S3Error, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('XML-05 dialect from the body', () => {
  const table: [string, string, 'oss' | 's3'][] = [
    [
      'XML-05 an OSS-only element anywhere (SupportSubDir) makes it OSS',
      W('<IndexDocument><Suffix>i.html</Suffix><SupportSubDir>false</SupportSubDir></IndexDocument>', NS),
      'oss',
    ],
    [
      'XML-05 rules without RuleNumber/RedirectType make it S3, namespace or not',
      W(`${INDEX}<RoutingRules>${s3rule('<HostName>h.example.com</HostName>')}</RoutingRules>`),
      's3',
    ],
    ['XML-05 [decision] no rules, AWS namespace (every AWS SDK and the aws CLI): S3', W(INDEX, NS), 's3'],
    ['XML-05 [decision] no rules, no namespace (ali-oss, OSS SDKs): OSS', W(INDEX), 'oss'],
    ['XML-05 RedirectAllRequestsTo is S3', W('<RedirectAllRequestsTo><HostName>h.example.com</HostName></RedirectAllRequestsTo>'), 's3'],
  ];
  for (const [name, xml, dialect] of table) it(name, () => assert.equal(parseWebsiteXml(xml).dialect, dialect));
  it('XML-05 a RuleNumber in an S3-looking rule makes it OSS, and then OSS rules apply (VAL-04)', () => {
    rejects(
      W(
        `${INDEX}<RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Redirect><HostName>h.example.com</HostName></Redirect></RoutingRule></RoutingRules>`,
        NS,
      ),
      'InvalidArgument',
      /RoutingRule 1: Condition is required/,
    );
  });
  it('§7.1 RedirectAllRequestsTo must stand alone', () => {
    rejects(W(`${INDEX}<RedirectAllRequestsTo><HostName>h.example.com</HostName></RedirectAllRequestsTo>`), 'MalformedXML', /only element/);
    rejects(W('<RedirectAllRequestsTo><Protocol>https</Protocol></RedirectAllRequestsTo>'), 'InvalidArgument', /needs a HostName/);
  });
});

describe('XML-03 what the official clients send', () => {
  it('XML-03 Go SDK v1 empty <IndexDocument><Suffix/></IndexDocument> and <ErrorDocument><Key/></ErrorDocument> mean "not set"', () => {
    const c = parseWebsiteXml(
      W(
        `<IndexDocument><Suffix></Suffix></IndexDocument><ErrorDocument><Key></Key></ErrorDocument><RoutingRules>${mirror(1)}</RoutingRules>`,
      ),
    );
    assert.equal(c.IndexDocument, undefined);
    assert.equal(c.ErrorDocument, undefined);
    assert.doesNotMatch(serializeWebsiteXml(c), /IndexDocument|ErrorDocument/);
  });
  it('XML-01 with nothing else, those empty documents configure nothing', () => {
    rejects(
      W('<IndexDocument><Suffix></Suffix></IndexDocument><ErrorDocument><Key></Key></ErrorDocument>'),
      'MalformedXML',
      /at least one/,
    );
    rejects(W('<RoutingRules></RoutingRules>'), 'MalformedXML', /at least one/);
  });
  it('XML-03 an empty <Condition/> and an empty <MirrorHeaders/> on a redirect rule are accepted', () => {
    const c = parseWebsiteXml(
      W(
        `${INDEX}<RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition/><Redirect><RedirectType>External</RedirectType><MirrorHeaders/><Protocol>https</Protocol><HostName>h.example.com</HostName></Redirect></RoutingRule></RoutingRules>`,
      ),
    );
    assert.deepEqual(c.RoutingRules[0]?.Condition, {});
  });
  it('API-06 booleans in any case, entities and CDATA decoded, namespace prefixes ignored', () => {
    const c = parseWebsiteXml(
      W(
        rules(
          mirror(
            1,
            '<MirrorCheckMd5>True</MirrorCheckMd5>',
            '<IncludeHeader><Key>x-a</Key><Equals>a&amp;b</Equals></IncludeHeader><KeyPrefixEquals><![CDATA[<odd>/]]></KeyPrefixEquals>',
          ),
        ),
      ),
    );
    const r = c.RoutingRules[0];
    assert.equal(r?.Redirect.MirrorCheckMd5, true);
    assert.equal(r?.Condition?.IncludeHeader?.[0]?.Equals, 'a&b');
    assert.equal(r?.Condition?.KeyPrefixEquals, '<odd>/');
    assert.match(serializeWebsiteXml(c), /<KeyPrefixEquals>&lt;odd&gt;\/<\/KeyPrefixEquals>/);
  });
});

describe('GET-01 defaults never change behaviour', () => {
  it('GET-01 MIR-07 PassQueryString=true alone still forwards the query after a PUT, and after GET + PUT', () => {
    const c = parseWebsiteXml(W(rules(mirror(1, '<PassQueryString>true</PassQueryString>'))));
    const rule = c.RoutingRules[0];
    assert.ok(rule);
    assert.equal(originQuery(rule, 'a=1'), 'a=1');
    assert.equal(rule.Redirect.MirrorPassQueryString, true);
    const again = parseWebsiteXml(serializeWebsiteXml(c)).RoutingRules[0];
    assert.ok(again);
    assert.equal(originQuery(again, 'a=1'), 'a=1');
  });
  it('GET-01 MIR-07 an explicit MirrorPassQueryString=false still wins', () => {
    const rule = parseWebsiteXml(
      W(rules(mirror(1, '<PassQueryString>true</PassQueryString><MirrorPassQueryString>false</MirrorPassQueryString>'))),
    ).RoutingRules[0];
    assert.ok(rule);
    assert.equal(originQuery(rule, 'a=1'), '');
  });
  it('GET-01 defaults are only for Mirror rules', () => {
    const get = serializeWebsiteXml(
      parseWebsiteXml(
        W(
          rules(
            '<RoutingRule><RuleNumber>1</RuleNumber><Condition/><Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>h.example.com</HostName></Redirect></RoutingRule>',
          ),
        ),
      ),
    );
    assert.doesNotMatch(get, /MirrorFollowRedirect|PassQueryString/);
  });
});

describe('§1.5 value checks', () => {
  const cases: [string, string, string, RegExp, ParseOptions?][] = [
    [
      'XML-02 stray text inside a container',
      W(`${INDEX}<RoutingRules>text${mirror(1)}</RoutingRules>`),
      'MalformedXML',
      /Unexpected text in <RoutingRules>/,
    ],
    ['XML-02 a repeated singleton', W(INDEX + INDEX), 'MalformedXML', /<IndexDocument> may appear only once/],
    [
      'XML-02 an unknown element deep inside names its path',
      W(rules(mirror(1, '<MirrorHeaders><Passs>x</Passs></MirrorHeaders>'))),
      'MalformedXML',
      /Unknown element <Passs> in WebsiteConfiguration\/RoutingRules\/RoutingRule\[1\]\/Redirect\/MirrorHeaders/,
    ],
    [
      'XML-02 elements where text belongs',
      W(rules(mirror(1, '<MirrorURLProbe><a/></MirrorURLProbe>'))),
      'MalformedXML',
      /<MirrorURLProbe> .* must be text/,
    ],
    [
      'VAL-02 a RuleNumber beyond safe integers',
      W(rules(mirror(1).replace('<RuleNumber>1<', '<RuleNumber>99999999999999999999<'))),
      'InvalidArgument',
      /whole number/,
    ],
    [
      'VAL-06 MirrorURL with a fragment',
      W(rules(mirror(1).replace('http://o.example.com/', 'http://o.example.com/#x/'))),
      'InvalidArgument',
      /MirrorURL must be an http/,
    ],
    [
      'VAL-06 an alternate URL has the same form',
      W(
        rules(
          mirror(
            1,
            '<MirrorMultiAlternates><MirrorMultiAlternate><MirrorMultiAlternateNumber>1</MirrorMultiAlternateNumber><MirrorMultiAlternateURL>ftp://x/</MirrorMultiAlternateURL></MirrorMultiAlternate></MirrorMultiAlternates>',
          ),
        ),
      ),
      'InvalidArgument',
      /MirrorMultiAlternateURL must be an http/,
    ],
    [
      'VAL-10 HostName must be a host name',
      W(
        rules(
          '<RoutingRule><RuleNumber>3</RuleNumber><Condition/><Redirect><RedirectType>AliCDN</RedirectType><Protocol>https</Protocol><HostName>a b/c</HostName></Redirect></RoutingRule>',
        ),
      ),
      'InvalidArgument',
      /RoutingRule 3: Redirect\/HostName 'a b\/c' is not a valid host name/,
    ],
    [
      'VAL-12 IncludeHeader needs a comparison',
      W(rules(mirror(1, '', '<IncludeHeader><Key>x-a</Key></IncludeHeader>'))),
      'InvalidArgument',
      /IncludeHeader\[1\] \(x-a\) needs Equals, StartsWith or EndsWith/,
    ],
    [
      'VAL-12 MIR-31 a ReturnHeader value cannot split the response',
      W(
        rules(
          mirror(
            1,
            '<MirrorReturnHeaders><ReturnHeader><Key>x-a</Key><Value>a&#13;&#10;Set-Cookie: x</Value></ReturnHeader></MirrorReturnHeaders>',
          ),
        ),
      ),
      'InvalidArgument',
      /ReturnHeader\/Value for 'x-a' must not contain CR, LF/,
    ],
    [
      'VAL-13 LIM-03 eleven Set',
      W(rules(mirror(1, `<MirrorHeaders>${'<Set><Key>a</Key><Value>1</Value></Set>'.repeat(11)}</MirrorHeaders>`))),
      'InvalidArgument',
      /at most 10 MirrorHeaders\/Set/,
    ],
    [
      'VAL-13 LIM-03 eleven Remove',
      W(rules(mirror(1, `<MirrorHeaders>${'<Remove>a</Remove>'.repeat(11)}</MirrorHeaders>`))),
      'InvalidArgument',
      /at most 10 MirrorHeaders\/Remove/,
    ],
    [
      'VAL-15 MirrorAsyncStatus must be a status',
      W(rules(mirror(1, '<MirrorAsyncStatus>99</MirrorAsyncStatus>'))),
      'InvalidArgument',
      /MirrorAsyncStatus must be an HTTP status/,
    ],
    [
      'VAL-14 an IndexDocument Suffix is an object name, not a path',
      W('<IndexDocument><Suffix>a/index.html</Suffix></IndexDocument>'),
      'InvalidArgument',
      /without '\/'/,
    ],
    [
      'VAL-14 ErrorDocument HttpStatus cannot be a redirect',
      W('<ErrorDocument><Key>e.html</Key><HttpStatus>302</HttpStatus></ErrorDocument>'),
      'InvalidArgument',
      /HttpStatus must be a 2xx, 4xx or 5xx/,
    ],
    [
      'MAT-06 a redirect rule on a status outside 400-599',
      W(
        rules(
          '<RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>200</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>x</ReplaceKeyWith></Redirect></RoutingRule>',
        ),
      ),
      'InvalidArgument',
      /from 400 to 599, not 200/,
    ],
    [
      '§7.1 S3: ReplaceKeyWith and ReplaceKeyPrefixWith exclusive',
      W(
        `${INDEX}<RoutingRules>${s3rule('<ReplaceKeyPrefixWith>a/</ReplaceKeyPrefixWith><ReplaceKeyWith>b</ReplaceKeyWith>')}</RoutingRules>`,
        NS,
      ),
      'InvalidArgument',
      /RoutingRule #1: ReplaceKeyWith and ReplaceKeyPrefixWith/,
    ],
    [
      '§7.1 S3: HttpRedirectCode must be a redirect',
      W(`${INDEX}<RoutingRules>${s3rule('<HttpRedirectCode>300</HttpRedirectCode>')}</RoutingRules>`, NS),
      'InvalidArgument',
      /redirect status/,
    ],
    [
      'LIM-02 S3 ceiling 50 even when configured higher',
      W(`${INDEX}<RoutingRules>${s3rule('<HostName>h.example.com</HostName>').repeat(51)}</RoutingRules>`, NS),
      'InvalidArgument',
      /At most 50 routing rules/,
      { maxRules: 60 },
    ],
  ];
  for (const [name, xml, code, msg, opts] of cases) it(name, () => rejects(xml, code, msg, opts));

  it('MIR-09 a MirrorURL is an opaque prefix: a query part is allowed', () => {
    const c = parseWebsiteXml(W(rules(mirror(1).replace('http://o.example.com/', 'http://o.example.com/?x-oss-process=style/'))));
    assert.equal(c.RoutingRules[0]?.Redirect.MirrorURL, 'http://o.example.com/?x-oss-process=style/');
  });
  it('§7.1 S3 rules may use 303 and 308; VAL-15 MirrorAsyncStatus is accepted', () => {
    assert.equal(
      parseWebsiteXml(W(`${INDEX}<RoutingRules>${s3rule('<HttpRedirectCode>308</HttpRedirectCode>')}</RoutingRules>`, NS)).RoutingRules[0]
        ?.Redirect.HttpRedirectCode,
      308,
    );
    assert.equal(
      parseWebsiteXml(W(rules(mirror(1, '<MirrorAsyncStatus>302</MirrorAsyncStatus>')))).RoutingRules[0]?.Redirect.MirrorAsyncStatus,
      302,
    );
  });
  it('LIM-02 a nonsensical maxRules falls back to the default 5, never to "no cap"', () => {
    const six = W(rules(...[1, 2, 3, 4, 5, 6].map((i) => mirror(i))));
    for (const maxRules of [Number.NaN, 0, -1, 2.5]) rejects(six, 'InvalidArgument', /At most 5 routing rules/, { maxRules });
  });
  it('LIM-02 validateMaxRoutingRules accepts 1..50 and explains the OSS ceiling', () => {
    assert.equal(validateMaxRoutingRules(5), 5);
    assert.equal(validateMaxRoutingRules(MAX_RULES_S3), 50);
    for (const bad of [0, 51, 2.5, Number.NaN]) assert.throws(() => validateMaxRoutingRules(bad), new RegExp(`capped at ${MAX_RULES_OSS}`));
  });
});

describe('VAL-16 origin guard (pure half)', () => {
  const refused = [
    'http://127.0.0.1/',
    'http://127.1.2.3:8080/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://[::1]/',
    'http://localhost/',
    'http://a.localhost/',
    'http://169.254.169.254/',
    'http://[fd00:ec2::254]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://0.0.0.0/',
    'http://100.100.100.200/',
    'http://10.1.2.3/',
    'http://172.20.0.5/',
    'http://192.168.1.10/',
    'http://100.64.0.1/',
    'http://224.0.0.1/',
    'http://[fc00::1]/',
    'http://[ff02::1]/',
  ];
  for (const url of refused) {
    it(`VAL-16 refuses ${url} by default`, () => {
      rejects(W(rules(mirror(1).replace('http://o.example.com/', url))), 'InvalidArgument', /MirrorURL '.*' is refused: .*allow-list/, {
        maxRules: 5,
        originGuard: originGuard(),
      });
    });
  }
  it('VAL-16 public hosts pass; the allow-list admits names, addresses and IPv4 CIDRs; without a guard nothing is refused', () => {
    const guard = originGuard(['localhost', '127.0.0.0/8', '::1']);
    for (const url of ['http://o.example.com/', 'http://203.0.113.7/', 'http://localhost:9000/', 'http://127.9.9.9/', 'http://[::1]/'])
      assert.equal(guard(new URL(url)), undefined, url);
    assert.match(guard(new URL('http://169.254.169.254/')) ?? '', /link-local/);
    assert.equal(parseWebsiteXml(W(rules(mirror(1).replace('http://o.example.com/', 'http://127.0.0.1:1/')))).RoutingRules.length, 1);
  });
  it('VAL-16 the slave, probe and alternates are checked too', () => {
    rejects(
      W(rules(mirror(1, '<MirrorURLSlave>http://s.example.com/</MirrorURLSlave><MirrorURLProbe>http://127.0.0.1/health</MirrorURLProbe>'))),
      'InvalidArgument',
      /MirrorURLProbe/,
      { maxRules: 5, originGuard: originGuard() },
    );
  });
  it('VAL-16 addressProblem is what the mirror engine applies after DNS', () => {
    assert.match(addressProblem('127.0.0.1') ?? '', /loopback/);
    assert.equal(addressProblem('8.8.8.8'), undefined);
    assert.equal(addressProblem('2001:db8::1'), undefined);
    assert.match(addressProblem('10.0.0.1') ?? '', /private/);
    assert.match(addressProblem('239.1.1.1') ?? '', /multicast/);
    assert.equal(addressProblem('172.32.0.1'), undefined);
  });
});

describe('storage and secrets', () => {
  const cfg = parseWebsiteXml(
    W(rules(mirror(1, '<MirrorAuth><AccessKeyId>AK</AccessKeyId><AccessKeySecret>s3cr3t</AccessKeySecret></MirrorAuth>'))),
  );
  it('fromStored(toStored(c)) is c; the secret is stored (MIR-15 needs it)', () => {
    assert.deepEqual(fromStored(toStored(cfg)), cfg);
    assert.match(toStored(cfg), /s3cr3t/);
  });
  it('fromStored reads what earlier versions stored', () => {
    const legacy =
      '{"dialect":"s3","RoutingRules":[{"Condition":{"KeyPrefixEquals":"a/"},"Redirect":{"ReplaceKeyPrefixWith":"b/","RedirectType":"External"},"RuleNumber":1}],"IndexDocument":{"Suffix":"index.html"}}';
    assert.equal(fromStored(legacy).RoutingRules[0]?.Redirect.ReplaceKeyPrefixWith, 'b/');
  });
  it('fromStored refuses corrupt data instead of half-typing it', () => {
    for (const bad of [
      '[]',
      '{"RoutingRules":[]}',
      '{"dialect":"oss"}',
      '{"dialect":"oss","RoutingRules":[{"RuleNumber":"1","Redirect":{"RedirectType":"External"}}]}',
      '{"dialect":"oss","RoutingRules":[],"Bogus":1}',
      '{"dialect":"oss","RoutingRules":[],"IndexDocument":{}}',
      '{"dialect":"oss","RoutingRules":[{"RuleNumber":1,"Redirect":{"RedirectType":"Teleport"}}]}',
    ]) {
      assert.throws(() => fromStored(bad), /stored website configuration/, bad);
    }
  });
  it('GET-03 a PUT of the masked GET body keeps the stored secret (keepMaskedSecrets)', () => {
    const echoed = parseWebsiteXml(serializeWebsiteXml(cfg));
    assert.equal(echoed.RoutingRules[0]?.Redirect.MirrorAuth?.AccessKeySecret, MASKED_SECRET);
    assert.equal(keepMaskedSecrets(echoed, cfg).RoutingRules[0]?.Redirect.MirrorAuth?.AccessKeySecret, 's3cr3t');
    // a different access key id does not inherit the secret
    const other = parseWebsiteXml(serializeWebsiteXml(cfg).replace('<AccessKeyId>AK<', '<AccessKeyId>AK2<'));
    assert.equal(keepMaskedSecrets(other, cfg).RoutingRules[0]?.Redirect.MirrorAuth?.AccessKeySecret, MASKED_SECRET);
  });
});
