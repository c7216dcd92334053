/**
 * Rule matching (spec §2) beyond the basic table in match-redirect.test.ts: phases, methods, the
 * bucket root, header edge cases, and the trace the simulator prints. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerValue, isErrorRouting, matchRules } from '../../src/rules/match.ts';
import type { RoutingRule } from '../../src/rules/rules.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';

const rule = (n: number, cond: RoutingRule['Condition'], type: RoutingRule['Redirect']['RedirectType'] = 'External'): RoutingRule => ({
  RuleNumber: n,
  Condition: cond,
  Redirect: { RedirectType: type, Protocol: 'https', HostName: 'h.example.com', ...(type === 'Mirror' && { MirrorURL: 'http://o/' }) },
});

describe('matchRules phases and requests', () => {
  it('MAT-07 with no phase given, req.status selects the error phase', () => {
    const rules = [rule(1, { KeyPrefixEquals: 'a' }), rule(2, { HttpErrorCodeReturnedEquals: 404 })];
    assert.equal(matchRules(rules, { key: 'a', method: 'GET', headers: {} }).rule?.RuleNumber, 1);
    assert.equal(matchRules(rules, { key: 'a', method: 'GET', headers: {}, status: 404 }).rule?.RuleNumber, 2);
    assert.equal(matchRules(rules, { key: 'a', method: 'GET', headers: {}, status: 500 }).rule, undefined);
  });
  it('MAT-01 MAT-03 the first match ends the walk: later rules are not even traced', () => {
    const m = matchRules([rule(1, {}), rule(2, {}), rule(3, {})], { key: 'k', method: 'GET', headers: {} }, { kind: 'pre' });
    assert.deepEqual(
      m.trace.map((t) => t.ruleNumber),
      [1],
    );
  });
  it('MAT-08 every method other than GET/HEAD is left alone', () => {
    for (const method of ['PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH']) {
      const m = matchRules([rule(1, {})], { key: 'k', method, headers: {} }, { kind: 'pre' });
      assert.equal(m.rule, undefined, method);
      assert.match(m.trace[0]?.reason ?? '', /MAT-08/);
    }
    assert.equal(matchRules([rule(1, {})], { key: 'k', method: 'get', headers: {} }, { kind: 'pre' }).rule?.RuleNumber, 1, 'method case');
  });
  it('MAT-09 the bucket itself (key "") is never matched', () => {
    const m = matchRules(
      [rule(1, {}), rule(2, { HttpErrorCodeReturnedEquals: 404 })],
      { key: '', method: 'GET', headers: {} },
      { kind: 'error', status: 404 },
    );
    assert.equal(m.rule, undefined);
    assert.match(m.trace[1]?.reason ?? '', /MAT-09/);
  });
  it('MAT-04 an empty prefix or suffix matches every key; keys are compared decoded and case-sensitively', () => {
    assert.equal(
      matchRules([rule(1, { KeyPrefixEquals: '', KeySuffixEquals: '' })], { key: 'x', method: 'GET', headers: {} }, { kind: 'pre' }).rule
        ?.RuleNumber,
      1,
    );
    assert.equal(
      matchRules([rule(1, { KeyPrefixEquals: 'ünï/' })], { key: 'ünï/a', method: 'GET', headers: {} }, { kind: 'pre' }).rule?.RuleNumber,
      1,
    );
    assert.equal(
      matchRules([rule(1, { KeySuffixEquals: '.JPG' })], { key: 'a.jpg', method: 'GET', headers: {} }, { kind: 'pre' }).rule,
      undefined,
    );
  });
  it('MAT-05 the documented Host condition; a repeated header is matched on its combined value', () => {
    const host = rule(1, { IncludeHeader: [{ Key: 'host', Equals: 'test.oss-cn-beijing-internal.aliyuncs.com' }] });
    assert.equal(
      matchRules([host], { key: 'k', method: 'GET', headers: { host: 'test.oss-cn-beijing-internal.aliyuncs.com' } }, { kind: 'pre' }).rule
        ?.RuleNumber,
      1,
    );
    assert.equal(headerValue({ 'x-a': ['1', '2'] }, 'X-A'), '1, 2');
    assert.equal(headerValue({ 'X-Mixed': 'v' }, 'x-mixed'), 'v', 'tolerates callers that kept the casing');
    const both = rule(1, { IncludeHeader: [{ Key: 'x-a', StartsWith: 'a', EndsWith: 'z' }] });
    assert.equal(matchRules([both], { key: 'k', method: 'GET', headers: { 'x-a': 'abz' } }, { kind: 'pre' }).rule?.RuleNumber, 1);
    assert.equal(matchRules([both], { key: 'k', method: 'GET', headers: { 'x-a': 'abc' } }, { kind: 'pre' }).rule, undefined);
  });
  it('MAT-05 a present but empty header value only equals ""', () => {
    assert.equal(
      matchRules(
        [rule(1, { IncludeHeader: [{ Key: 'x-a', Equals: '' }] })],
        { key: 'k', method: 'GET', headers: { 'x-a': '' } },
        { kind: 'pre' },
      ).rule?.RuleNumber,
      1,
    );
  });
  it('MAT-06 MAT-11 any 4xx/5xx can be an error-routing status', () => {
    for (const status of [403, 500, 503]) {
      assert.equal(
        matchRules([rule(1, { HttpErrorCodeReturnedEquals: status })], { key: 'k', method: 'GET', headers: {} }, { kind: 'error', status })
          .rule?.RuleNumber,
        1,
      );
    }
  });
  it('MAT-07 isErrorRouting splits the list', () => {
    assert.equal(isErrorRouting(rule(1, { HttpErrorCodeReturnedEquals: 404 })), true);
    assert.equal(isErrorRouting(rule(1, {})), false);
    assert.equal(isErrorRouting({ RuleNumber: 1, Redirect: { RedirectType: 'External' } }), false);
  });
  it('MAT-02 the trace of the firing rule lists what held; earlier rules say which condition failed', () => {
    const m = matchRules(
      [
        rule(1, { KeyPrefixEquals: 'img/', IncludeHeader: [{ Key: 'x-a', Equals: '1' }] }),
        rule(2, { KeyPrefixEquals: 'img/', KeySuffixEquals: '.png', HttpErrorCodeReturnedEquals: 404 }, 'Mirror'),
      ],
      { key: 'img/a.png', method: 'GET', headers: { 'x-a': '2' } },
      { kind: 'error', status: 404 },
    );
    assert.deepEqual(
      m.trace.map((t) => [t.ruleNumber, t.matched]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.match(m.trace[0]?.reason ?? '', /pre-routing rule/);
    assert.equal(m.trace[1]?.reason, "matches (prefix 'img/', suffix '.png', status 404): Mirror");
  });
  it('MAT-01 S3 rules keep document order through parsing', () => {
    const c = parseWebsiteXml(
      '<WebsiteConfiguration><IndexDocument><Suffix>i</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a/</KeyPrefixEquals></Condition><Redirect><HostName>first.example.com</HostName></Redirect></RoutingRule><RoutingRule><Redirect><HostName>second.example.com</HostName></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
    );
    assert.equal(
      matchRules(c.RoutingRules, { key: 'a/x', method: 'GET', headers: {} }, { kind: 'pre' }).rule?.Redirect.HostName,
      'first.example.com',
    );
    assert.equal(
      matchRules(c.RoutingRules, { key: 'b/x', method: 'GET', headers: {} }, { kind: 'pre' }).rule?.Redirect.HostName,
      'second.example.com',
    );
  });
});
