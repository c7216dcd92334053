/**
 * http/header-value: every header value built from data is one Node writes (MIR-34 amended): text
 * goes out as its UTF-8 octets, a byte string as received, controls percent-encoded; never a throw.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { attachmentDisposition, headerValue, locationValue, textHeaderValue } from '../../src/codec/header-value.ts';

/** Would Node's http write this value? (the check setHeader makes) */
function writable(v: string): boolean {
  try {
    http.validateHeaderValue('x-test', v);
    return true;
  } catch {
    return false;
  }
}

const utf8Octets = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('header-value', () => {
  const texts = ['日本語.txt', 'photo 🙂.css', 'cafe\u0301.txt', 'été', 'a\r\nb', 'nul\0del\x7f', '\ud800 lone', 'tab\tok'];
  it('text: its UTF-8 octets, controls percent-encoded, always writable', () => {
    assert.equal(textHeaderValue('MIRROR http://o/日本.txt'), utf8Octets('MIRROR http://o/日本.txt'));
    assert.equal(textHeaderValue('été'), utf8Octets('été'), 'text below U+0100 is UTF-8 too (what OSS sends), not latin1');
    assert.equal(textHeaderValue('a\r\nb\0\x7f'), 'a%0D%0Ab%00%7F');
    assert.equal(textHeaderValue('plain ascii; a=b'), 'plain ascii; a=b');
    assert.equal(textHeaderValue('MIRROR http://o/a \t'), 'MIRROR http://o/a%20%09', 'HTTP would drop the space and tab at the end');
    for (const t of texts) assert.ok(writable(textHeaderValue(t)), JSON.stringify(t));
  });
  it('any value: a byte string as received stays; text above U+00FF goes as UTF-8; never throws', () => {
    const received = utf8Octets('naïve 日本');
    assert.equal(headerValue(received), received, 'S3/RGW: user metadata octets back as they came');
    assert.equal(headerValue('日本'), utf8Octets('日本'));
    assert.equal(headerValue('x\ny'), 'x%0Ay');
    for (const t of texts) assert.ok(writable(headerValue(t)), JSON.stringify(t));
  });
  it('Location: non-ASCII and controls percent-encoded as URL octets, escapes kept', () => {
    assert.equal(locationValue('http://h/a%20b/日本.txt'), 'http://h/a%20b/%E6%97%A5%E6%9C%AC.txt');
    assert.equal(locationValue('http://h/a b\r\n'), 'http://h/a%20b%0D%0A');
    assert.equal(locationValue(utf8Octets('http://h/é'), 'bytes'), 'http://h/%C3%A9');
    assert.equal(locationValue('http://h/ok?x=1'), 'http://h/ok?x=1');
  });
  it('Content-Disposition: RFC 6266 filename with RFC 5987 filename*', () => {
    assert.equal(
      attachmentDisposition('日本 (1).txt'),
      `attachment; filename="__ (1).txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%281%29.txt`,
    );
    assert.equal(attachmentDisposition('a"b\\c%\'*.txt'), `attachment; filename="a_b_c_'*.txt"; filename*=UTF-8''a%22b%5Cc%25%27%2A.txt`);
    for (const t of texts) assert.ok(writable(attachmentDisposition(t)), JSON.stringify(t));
  });
});
