/**
 * Redirect Locations as a new user writes the rules (issue 18): the bucket kept for path-style
 * requests when the Location stays on the same host, ReplaceKeyWith's `?` and `#`, and
 * External/AliCDN rules without Protocol (VAL-10 as amended: the request's protocol).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRedirect, newKey } from '../../src/origin/redirect.ts';
import type { RedirectRequest } from '../../src/origin/redirect.ts';
import type { Redirect, RoutingRule } from '../../src/origin/rules.ts';
import { parseWebsiteXml } from '../../src/origin/rules.ts';
import { decide } from '../../src/website/resolve.ts';
import type { WebsiteRequest } from '../../src/website/resolve.ts';

const rule = (redirect: Partial<Redirect>, cond: RoutingRule['Condition'] = {}): RoutingRule => ({
  RuleNumber: 1, Condition: cond, Redirect: { RedirectType: 'External', ...redirect },
});
const req = (key: string, more: Partial<RedirectRequest> = {}): RedirectRequest => ({ key, host: '127.0.0.1:9000', protocol: 'http', query: '', ...more });

const websiteReq = (key: string, pathPrefix: string, more: Partial<WebsiteRequest> = {}): WebsiteRequest => ({
  method: 'GET', key, headers: {}, query: '', host: '127.0.0.1:9000', protocol: 'http', websiteMode: false, pathPrefix, ...more,
});

describe('a Location on the same host keeps the bucket of a path-style request', () => {
  const s3 = parseWebsiteXml(`<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IndexDocument><Suffix>index.html</Suffix></IndexDocument>
    <RoutingRules><RoutingRule><Condition><KeyPrefixEquals>docs/old/</KeyPrefixEquals></Condition>
    <Redirect><ReplaceKeyPrefixWith>docs/new/</ReplaceKeyPrefixWith></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`);

  it('GET /site/docs/old/a.html -> /site/docs/new/a.html (the resolver passes the path prefix)', () => {
    const d = decide(s3, websiteReq('docs/old/a.html', '/site/'), new Map());
    assert.equal(d.action.kind, 'redirect');
    assert.equal(d.action.kind === 'redirect' && d.action.location, 'http://127.0.0.1:9000/site/docs/new/a.html');
  });

  it('virtual-hosted and bound-domain requests (path prefix /) stay as they were', () => {
    const d = decide(s3, websiteReq('docs/old/a.html', '/', { host: 'site.s3.example.com' }), new Map());
    assert.equal(d.action.kind === 'redirect' && d.action.location, 'http://site.s3.example.com/docs/new/a.html');
  });

  it('a rule with HostName sends the key to that host, without the bucket', () => {
    const r = rule({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyPrefixWith: 'new/' }, { KeyPrefixEquals: 'old/' });
    assert.equal(buildRedirect(r, req('old/a', { pathPrefix: '/site/' })).location, 'https://www.example.com/new/a');
  });

  it('without a path prefix (older callers) nothing changes', () => {
    assert.equal(buildRedirect(rule({ ReplaceKeyPrefixWith: 'new/' }, { KeyPrefixEquals: 'old/' }), req('old/a')).location, 'http://127.0.0.1:9000/new/a');
  });
});

describe("ReplaceKeyWith: the rule's own '?' starts the query and '#' the fragment", () => {
  const login = rule({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyWith: 'login?next=${key}', HttpRedirectCode: 302 });

  it("the README's login example: /login?next=<key>", () => {
    assert.deepEqual(buildRedirect(login, req('private/s.txt')), { status: 302, location: 'https://www.example.com/login?next=private/s.txt' });
  });

  it('the key in the query is encoded as a query value (& = + # ? space and non-ASCII), / kept', () => {
    assert.equal(buildRedirect(login, req('private/a b&c=d+e#f?g/日.txt')).location, 'https://www.example.com/login?next=private/a%20b%26c%3Dd%2Be%23f%3Fg/%E6%97%A5.txt');
  });

  it("a '?' or '#' inside the key is never taken for one of the rule's", () => {
    const r = rule({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'new/${key}' });
    assert.equal(buildRedirect(r, req('a?b#c')).location, 'https://h.example.com/new/a%3Fb%23c');
  });

  it('a fragment, with and without a query', () => {
    const frag = rule({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'docs.html#${key}' });
    assert.equal(buildRedirect(frag, req('api/get object')).location, 'https://h.example.com/docs.html#api/get%20object');
    const both = rule({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'p?a=1&k=${key}#top', PassQueryString: true });
    assert.equal(buildRedirect(both, req('x', { query: 'v=2&X-Amz-Signature=s' })).location, 'https://h.example.com/p?a=1&k=x&v=2#top');
  });

  it('PassQueryString appends the request query after the rule query', () => {
    const r = rule({ Protocol: 'https', HostName: 'www.example.com', ReplaceKeyWith: 'login?next=${key}', PassQueryString: true });
    assert.equal(buildRedirect(r, req('k', { query: 'lang=en' })).location, 'https://www.example.com/login?next=k&lang=en');
  });

  it('escapes the rule already holds are kept; literal text outside a query is still encoded', () => {
    const r = rule({ Protocol: 'https', HostName: 'h.example.com', ReplaceKeyWith: 'search?q=a%20b&t=x y' });
    assert.equal(buildRedirect(r, req('k')).location, 'https://h.example.com/search?q=a%20b&t=x%20y');
  });

  it('an Internal rewrite still takes ReplaceKeyWith as a key, ? and all', () => {
    assert.equal(newKey(rule({ RedirectType: 'Internal', ReplaceKeyWith: 'login?next=${key}' }), 'k'), 'login?next=k');
  });
});

describe('External/AliCDN without Protocol (VAL-10, amended)', () => {
  const xml = (type: string) => `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>${type}</RedirectType><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect>
    </RoutingRule></RoutingRules></WebsiteConfiguration>`;

  for (const type of ['External', 'AliCDN']) {
    it(`${type}: accepted, and the Location uses the request's protocol`, () => {
      const cfg = parseWebsiteXml(xml(type));
      const r = cfg.RoutingRules[0];
      assert.ok(r);
      assert.equal(r.Redirect.Protocol, undefined);
      assert.equal(buildRedirect(r, req('a/b.html', { protocol: 'https' })).location, 'https://old.example.com/a/b.html');
      assert.equal(buildRedirect(r, req('a/b.html', { protocol: 'http' })).location, 'http://old.example.com/a/b.html');
    });
  }

  it('a Protocol other than http or https is still refused, and so is a missing HostName', () => {
    assert.throws(() => parseWebsiteXml(xml('External').replace('<HostName>', '<Protocol>ftp</Protocol><HostName>')), /Protocol must be http or https/);
    assert.throws(() => parseWebsiteXml(xml('External').replace('<HostName>old.example.com</HostName>', '')), /needs Redirect\/HostName/);
  });
});
