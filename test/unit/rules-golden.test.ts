/**
 * Golden tests: website configurations from the OSS and AWS documentation and exactly what the
 * official clients send (ali-oss obj2xml output, the aws CLI's body captured on the wire, the OSS Go
 * SDK v1 marshalling), each parsed, checked, and answered on GET byte for byte (§1.6, §1.7, §1.8).
 * To re-bless after an intended change: regenerate test/fixtures/website/*.get.xml and review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { XmlNode } from '../../src/codec/xml.ts';
import { parseXml } from '../../src/codec/xml.ts';
import type { WebsiteConfig } from '../../src/rules/rules.ts';
import { MASKED_SECRET, fromStored, parseWebsiteXml, serializeWebsiteXml, toStored } from '../../src/rules/rules.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/website');
const read = (name: string) => readFileSync(path.join(DIR, name), 'utf8');

/** Every leaf of an XML document as 'Path/To/Leaf=value' (indices dropped: a multiset). */
function leaves(node: XmlNode | undefined, at = ''): string[] {
  if (node === undefined) return [];
  if (typeof node === 'string') return node.trim() === '' && at.endsWith('#text') ? [] : [`${at}=${node}`];
  if (Array.isArray(node)) return node.flatMap((n) => leaves(n, at));
  return Object.entries(node).flatMap(([k, v]) => (k === '#text' ? [] : leaves(v, at ? `${at}/${k}` : k)));
}

interface Golden {
  file: string;
  ids: string;
  dialect: WebsiteConfig['dialect'];
  rules: number;
  check?: (c: WebsiteConfig, get: string) => void;
}

const goldens: Golden[] = [
  {
    file: 'oss-api-sample.xml',
    ids: 'API-06 XML-03 GET-02 GET-04 the OSS PutBucketWebsite "complete sample" (Condition before RuleNumber)',
    dialect: 'oss',
    rules: 3,
    check: (c) => {
      assert.deepEqual(
        c.RoutingRules.map((r) => [r.RuleNumber, r.Redirect.RedirectType]),
        [
          [1, 'Mirror'],
          [2, 'AliCDN'],
          [3, 'External'],
        ],
      );
      assert.deepEqual(c.RoutingRules[1]?.Condition?.IncludeHeader, [{ Key: 'host', Equals: 'test.oss-cn-beijing-internal.aliyuncs.com' }]);
      assert.equal(c.RoutingRules[2]?.Redirect.ReplaceKeyWith, 'prefix/${key}');
      assert.deepEqual(c.RoutingRules[0]?.Redirect.MirrorHeaders?.Pass, ['myheader-key1', 'myheader-key2']);
    },
  },
  {
    file: 'oss-index-error.xml',
    ids: 'VAL-14 §1.3 the OSS sample with SupportSubDir, Type and HttpStatus',
    dialect: 'oss',
    rules: 0,
    check: (c) => {
      assert.deepEqual(c.IndexDocument, { Suffix: 'index.html', SupportSubDir: true, Type: 0 });
      assert.deepEqual(c.ErrorDocument, { Key: 'errorDocument.html', HttpStatus: 404 });
    },
  },
  {
    file: 'ali-oss-index-only.xml',
    ids: 'XML-03 ali-oss putBucketWebsite(name, { index }) (no declaration, no namespace)',
    dialect: 'oss',
    rules: 0,
  },
  {
    file: 'ali-oss-mirror-rule.xml',
    ids: "XML-02 §1.7 ali-oss's own test rule: string booleans, a single Set object, stored-only Mirror* fields",
    dialect: 'oss',
    rules: 1,
    check: (c) => {
      const r = c.RoutingRules[0]?.Redirect;
      assert.equal(r?.MirrorUsingRole, false);
      assert.equal(r?.MirrorPassOriginalSlashes, false);
      assert.deepEqual(r?.MirrorHeaders?.Set, [{ Key: 'myheader-key5', Value: 'myheader-value5' }]);
      assert.deepEqual(c.IndexDocument, { Suffix: 'index1.html', SupportSubDir: true, Type: 1 });
    },
  },
  { file: 'ali-oss-empty-rules.xml', ids: 'XML-03 ali-oss with routingRules: [] sends an empty <RoutingRules>', dialect: 'oss', rules: 0 },
  {
    file: 'go-v1-rules-only.xml',
    ids: 'XML-03 GET-01 Go SDK v1 SetBucketWebsiteDetail: empty IndexDocument/ErrorDocument, defaults filled in',
    dialect: 'oss',
    rules: 1,
    check: (c, get) => {
      assert.equal(c.IndexDocument, undefined);
      assert.equal(c.ErrorDocument, undefined);
      // the five values TestSetBucketWebsiteDetail asserts after a PUT without them
      for (const part of [
        '<PassQueryString>false</PassQueryString>',
        '<MirrorPassQueryString>false</MirrorPassQueryString>',
        '<MirrorFollowRedirect>true</MirrorFollowRedirect>',
        '<MirrorCheckMd5>false</MirrorCheckMd5>',
        '<PassAll>false</PassAll>',
      ]) {
        assert.ok(get.includes(part), part);
      }
    },
  },
  {
    file: 'go-v1-website-detail.xml',
    ids: 'XML-03 Go SDK v1: an AliCDN rule carrying an empty <MirrorHeaders>, explicit pointers kept',
    dialect: 'oss',
    rules: 3,
    check: (c) => {
      assert.equal(c.RoutingRules[2]?.Redirect.MirrorFollowRedirect, false);
      assert.equal(c.RoutingRules[2]?.Redirect.MirrorPassQueryString, true);
      assert.deepEqual(c.RoutingRules[1]?.Redirect.MirrorHeaders, {});
    },
  },
  {
    file: 'aws-cli-routing-rules.xml',
    ids: 'XML-05 XML-06 RED-09 aws s3api put-bucket-website (captured body): S3 dialect, External rules in document order',
    dialect: 's3',
    rules: 3,
    check: (c, get) => {
      assert.deepEqual(
        c.RoutingRules.map((r) => [r.RuleNumber, r.Redirect.RedirectType]),
        [
          [1, 'External'],
          [2, 'External'],
          [3, 'External'],
        ],
      );
      assert.equal(c.RoutingRules[0]?.Condition?.KeyPrefixEquals, 'docs/');
      assert.equal(c.RoutingRules[2]?.Redirect.HttpRedirectCode, 302);
      assert.doesNotMatch(get, /RuleNumber|RedirectType/);
      assert.match(get, /<WebsiteConfiguration xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/">/);
    },
  },
  {
    file: 'aws-cli-redirect-all.xml',
    ids: 'XML-05 §7.1 aws CLI RedirectAllRequestsTo',
    dialect: 's3',
    rules: 0,
    check: (c) => assert.deepEqual(c.RedirectAllRequestsTo, { HostName: 'example.com', Protocol: 'https' }),
  },
  {
    file: 'aws-doc-routing-rules.xml',
    ids: 'XML-05 the AWS routing-rule examples (pretty-printed, single-quoted namespace)',
    dialect: 's3',
    rules: 2,
  },
  {
    file: 'aws-doc-index-error.xml',
    ids: 'XML-05 the AWS PutBucketWebsite sample: no rules, AWS namespace -> S3 dialect',
    dialect: 's3',
    rules: 0,
  },
  {
    file: 'oss-all-fields.xml',
    ids: 'XML-02 GET-02 GET-03 every element of §1.2 round-trips; ascending RuleNumber; secret masked',
    dialect: 'oss',
    rules: 2,
    check: (c, get) => {
      assert.deepEqual(
        c.RoutingRules.map((r) => r.RuleNumber),
        [5, 10],
      );
      const m = c.RoutingRules[1]?.Redirect;
      assert.equal(m?.MirrorAuth?.AccessKeySecret, 'wJalrXUtnFEMIEXAMPLEKEY');
      assert.doesNotMatch(get, /wJalrXUtnFEMIEXAMPLEKEY/);
      assert.ok(get.includes(`<AccessKeySecret>${MASKED_SECRET}</AccessKeySecret>`));
      assert.equal(c.RoutingRules[1]?.LuaConfig?.Script, 'example.lua');
      assert.equal(m?.MirrorMultiAlternates?.MirrorMultiAlternate?.length, 2);
    },
  },
];

describe('golden website configurations (test/fixtures/website)', () => {
  for (const g of goldens) {
    it(`${g.ids} [${g.file}]`, () => {
      const put = read(g.file);
      const c = parseWebsiteXml(put, { maxRules: 20 });
      assert.equal(c.dialect, g.dialect);
      assert.equal(c.RoutingRules.length, g.rules);
      const get = serializeWebsiteXml(c);
      assert.equal(`${get}\n`, read(g.file.replace(/\.xml$/, '.get.xml')), 'GET body differs from the golden file');
      g.check?.(c, get);
      // GET is a fixed point: PUT of the GET body stores the same configuration (secret aside, GET-03)
      const again = parseWebsiteXml(get, { maxRules: 20 });
      assert.equal(serializeWebsiteXml(again), get);
      assert.equal(again.dialect, c.dialect);
      // storage round trip (toStored/fromStored)
      assert.deepEqual(fromStored(toStored(c)), c);
    });
  }

  it("XML-02 §1.7 every value a client PUT comes back on GET (what ali-oss's includesConf checks)", () => {
    for (const g of goldens) {
      const sent = leaves(parseXml(read(g.file)).WebsiteConfiguration).filter((l) => !l.includes('AccessKeySecret='));
      const got = leaves(parseXml(serializeWebsiteXml(parseWebsiteXml(read(g.file), { maxRules: 20 }))).WebsiteConfiguration);
      const pool = [...got];
      for (const leaf of sent) {
        // S3 dialect GET has no RuleNumber/RedirectType to echo, and Go v1's empty documents are "not set"
        if (leaf === 'IndexDocument/Suffix=' || leaf === 'ErrorDocument/Key=' || leaf === 'RoutingRules=') continue;
        const i = pool.indexOf(leaf);
        assert.ok(i >= 0, `${g.file}: ${leaf} missing from GET`);
        pool.splice(i, 1);
      }
    }
  });
});
