/**
 * `osprey import` signs its own requests with migrate/target's sigV4Headers, a narrower and faster
 * form of auth/sigv4's signRequestV4 (issue 19). For every path, query and header value an import
 * sends, both must give the same headers, Authorization included, or the server refuses the copy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequestV4 } from '../../src/auth/sigv4.ts';
import { uriEncode } from '../../src/auth/encoding.ts';
import { encodeKeyPath } from '../../src/codec/uri.ts';
import { sigV4Headers } from '../../src/migrate/target.ts';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

const keys = [
  's/f0.bin',
  'a b/c+d=e&f?g#h',
  'dir//double/slash/',
  'quotes\'"(paren)*!',
  'unicode/ключ/報告/emoji😀.txt',
  'percent%20literal%2F',
  'tilde~dot.dash-under_',
  'ctl\u0001\u007f',
];

const headerSets: Record<string, string>[] = [
  {},
  { 'content-length': '4096', 'if-none-match': '*' },
  {
    'x-osprey-mirror-source': 'http://127.0.0.1:31234/s/f123.bin?x=1',
    'x-amz-meta-osprey-origin-etag': '"6747a1b2-1000"',
    'x-amz-meta-osprey-origin-last-modified': 'Sun, 06 Dec 2026 14:18:13 GMT',
    'content-type': 'text/html;  charset=utf-8',
    'content-disposition': ' attachment;\tfilename="a  b.txt" ',
    'cache-control': 'max-age=60',
    'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==',
    'x-amz-meta-note': 'é à',
    'content-length': '1048576',
  },
];

describe('migrate/target sigV4Headers', () => {
  it('signs as signRequestV4 does: every key path, header set and region, HEAD/PUT/GET', () => {
    const now = Date.UTC(2026, 11, 6, 14, 18, 13, 456);
    let n = 0;
    for (const key of keys)
      for (const headers of headerSets)
        for (const region of ['us-east-1', 'eu-central-1'])
          for (const [method, hash] of [
            ['PUT', 'UNSIGNED-PAYLOAD'],
            ['HEAD', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
          ] as const) {
            const path = `/prefix/my-bucket/${encodeKeyPath(key)}`;
            const all = { host: '127.0.0.1:9000', ...headers };
            const want = signRequestV4({ method, url: path, headers: all }, creds, hash, new Date(now), region);
            assert.deepEqual(
              sigV4Headers(method, path, '', all, creds, hash, region, now),
              want,
              `${method} ${key} ${JSON.stringify(headers)}`,
            );
            n++;
          }
    assert.equal(n, keys.length * headerSets.length * 4);
  });

  it('signs a ListObjectsV2 query given in canonical order as signRequestV4 does', () => {
    const now = Date.UTC(2027, 0, 1, 0, 0, 0);
    for (const prefix of ['', 's/', 'a b+c/ключ', "x!'()*~"]) {
      const query = [
        ['continuation-token', 'tok/en+=='],
        ['encoding-type', 'url'],
        ['list-type', '2'],
        ['max-keys', '1000'],
        ...(prefix ? [['prefix', prefix]] : []),
      ]
        .map(([k, v]) => `${k}=${uriEncode(v!, false)}`)
        .join('&');
      const all = { host: 'osprey.example:443' };
      const want = signRequestV4({ method: 'GET', url: `/bucket?${query}`, headers: all }, creds, 'e3b0', new Date(now), 'us-east-1');
      assert.deepEqual(sigV4Headers('GET', '/bucket', query, all, creds, 'e3b0', 'us-east-1', now), want, prefix);
    }
  });

  it('the date changes with the second it is signed in', () => {
    const a = sigV4Headers('HEAD', '/b/k', '', { host: 'h' }, creds, 'x', 'us-east-1', Date.UTC(2026, 11, 31, 23, 59, 59, 999));
    const b = sigV4Headers('HEAD', '/b/k', '', { host: 'h' }, creds, 'x', 'us-east-1', Date.UTC(2027, 0, 1, 0, 0, 0, 0));
    assert.equal(a['x-amz-date'], '20261231T235959Z');
    assert.equal(b['x-amz-date'], '20270101T000000Z');
    assert.match(b.authorization ?? '', /Credential=AKIDEXAMPLE\/20270101\/us-east-1\/s3\/aws4_request/);
  });
});
