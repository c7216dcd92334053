/**
 * origin/mirror-meta: what a mirror fill keeps from an origin answer (MIR-26, MIR-27, MIR-34), the
 * one mapping the mirror engine and `osprey import` share, and the owner's origin-marker header.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mirrorStoredHeaders, mirrorTag, mirrorUserMeta, parseMirrorSource } from '../../src/mirror/meta.ts';

describe('mirror-meta', () => {
  const origin = {
    'content-type': 'image/png',
    'cache-control': 'max-age=60',
    expires: 'Thu, 01 Jan 2037 00:00:00 GMT',
    'content-length': '10',
    etag: '"abc"',
    'set-cookie': ['a=b'],
    'x-oss-meta-owner': 'ops',
    'x-amz-meta-kind': 'doc',
    'x-other': 'no',
  };
  it('MIR-26 keeps the representation headers only', () => {
    assert.deepEqual(mirrorStoredHeaders(origin), {
      'content-type': 'image/png',
      'cache-control': 'max-age=60',
      expires: 'Thu, 01 Jan 2037 00:00:00 GMT',
    });
  });
  it('MIR-27 user metadata from x-oss-meta-* and x-amz-meta-*', () => {
    assert.deepEqual(mirrorUserMeta(origin), { owner: 'ops', kind: 'doc' });
  });
  it('MIR-34 the tag: decoded URL, or bare', () => {
    assert.equal(mirrorTag('http://o.example/a%20b/%E2%82%AC.txt', 'url'), 'MIRROR http://o.example/a b/€.txt');
    assert.equal(mirrorTag('http://o.example/%E0%A4%A', 'url'), 'MIRROR http://o.example/%E0%A4%A');
    assert.equal(mirrorTag('http://o.example/x', 'bare'), 'MIRROR');
  });
  it('MIR-34 (amended) every escape is decoded, as OSS url_decode does; broken UTF-8 stays encoded', () => {
    assert.equal(mirrorTag('http://o.example/a%2Bb%23c%3Bd%3Fe%26f%3Dg%2Fh%25i', 'url'), 'MIRROR http://o.example/a+b#c;d?e&f=g/h%i');
    assert.equal(mirrorTag('http://o.example/%E4%B8%AD%FF%F0%9F%99%82%E0%A4', 'url'), 'MIRROR http://o.example/中%FF🙂%E0%A4');
    assert.equal(
      mirrorTag('http://o.example/ctl%01%0D%0A', 'url'),
      'MIRROR http://o.example/ctl\x01\r\n',
      'stored as text; the header writer escapes controls',
    );
  });
  it('the origin-marker header takes an absolute http(s) URL of printable ASCII only', () => {
    assert.deepEqual(parseMirrorSource(' http://o.example/a%20b '), { url: 'http://o.example/a%20b' });
    for (const bad of ['not a url', 'ftp://o.example/x', '/relative', 'http://o.example/é', `http://o.example/${'a'.repeat(5000)}`]) {
      assert.ok('problem' in parseMirrorSource(bad), bad);
    }
  });
});
