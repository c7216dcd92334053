/**
 * Bad input to the website API and to rule-routed GETs: a correct 4xx with a clear message,
 * nothing stored, and the server still serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

const GOOD = `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules>
  <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>ünï/</KeyPrefixEquals><IncludeHeader><Key>X-Mixed-Case</Key><Equals>Yes</Equals></IncludeHeader></Condition>
    <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>u.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>
  <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeySuffixEquals>/</KeySuffixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>dirs.example.com</HostName></Redirect></RoutingRule>
</RoutingRules></WebsiteConfiguration>`;

describe('website bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/bad-site', headers: { 'x-amz-acl': 'public-read' } })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/bad-site', query: { website: '' }, body: GOOD })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  async function refused(body: string, code: string, message: RegExp): Promise<void> {
    const r = await rawSigned(server.url, { method: 'PUT', path: '/bad-site', query: { website: '' }, body });
    assert.equal(r.status, 400, r.body);
    assert.equal(xmlField(r.body, 'Code'), code, r.body);
    assert.match(xmlField(r.body, 'Message') ?? '', message);
  }

  it('VAL-xx refusals leave the stored configuration untouched', async () => {
    await refused(
      '<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition/><Redirect><RedirectType>Mirror</RedirectType></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
      'InvalidArgument',
      /RoutingRule 1: a Mirror rule needs Condition\/HttpErrorCodeReturnedEquals 404/,
    );
    await refused('<WebsiteConfiguration><Bogus/></WebsiteConfiguration>', 'MalformedXML', /Unknown element <Bogus>/);
    await refused(
      '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><WebsiteConfiguration><IndexDocument><Suffix>&b;</Suffix></IndexDocument></WebsiteConfiguration>',
      'MalformedXML',
      /DOCTYPE/,
    );
    await refused(
      '<WebsiteConfiguration>' + '<IndexDocument>'.repeat(200) + '</IndexDocument>'.repeat(200) + '</WebsiteConfiguration>',
      'MalformedXML',
      /nested deeper/,
    );
    await refused(
      '<WebsiteConfiguration><IndexDocument><Suffix>' + 'x'.repeat(200 * 1024) + '</Suffix></IndexDocument></WebsiteConfiguration>',
      'MalformedXML',
      /131072 bytes/,
    );
    await refused('not xml at all', 'MalformedXML', /not well-formed/);
    const got = await rawSigned(server.url, { path: '/bad-site', query: { website: '' } });
    assert.equal(got.status, 200);
    assert.match(got.body, /u\.example\.com/);
  });

  it('MAT-05 header conditions match names in any casing', async () => {
    for (const name of ['x-mixed-case', 'X-MIXED-CASE', 'X-Mixed-Case']) {
      const r = await fetch(`${server.url}/bad-site/%C3%BCn%C3%AF/page`, { redirect: 'manual', headers: { [name]: 'Yes' } });
      assert.equal(r.status, 302, name);
      assert.equal(r.headers.get('location'), 'https://u.example.com/%C3%BCn%C3%AF/page');
    }
    const wrongValue = await fetch(`${server.url}/bad-site/%C3%BCn%C3%AF/page`, { redirect: 'manual', headers: { 'x-mixed-case': 'yes' } });
    assert.equal(wrongValue.status, 404); // values are case-sensitive: rule 1 does not hold, and nothing else matches
  });

  it('keys with .., %2F, unicode and trailing slashes', async () => {
    // fetch() would normalise the path; send it as is
    const dots = await rawSigned(server.url, { path: '/bad-site/a/%2E%2E/b', anonymous: true });
    assert.equal(dots.status, 400);
    assert.equal(xmlField(dots.body, 'Code'), 'InvalidObjectName');
    const slash = await rawSigned(server.url, { path: '/bad-site/dir%2Fsub/' });
    assert.equal(slash.status, 301); // key 'dir/sub/' missing: rule 2 (suffix '/', 404) fires, for signed requests too
    assert.equal(slash.headers.location, 'https://dirs.example.com/dir/sub/');
    const uni = await rawSigned(server.url, { path: '/bad-site/%E2%9C%93/', headers: { 'X-Mixed-Case': 'Yes' } });
    assert.equal(uni.status, 301);
    assert.equal(uni.headers.location, 'https://dirs.example.com/%E2%9C%93/');
    const list = await rawSigned(server.url, { path: '/bad-site', query: { 'list-type': '2' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/);
  });
});
