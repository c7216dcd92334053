/**
 * The S3 driver's lean signer for store GET/HEAD (src/storage/s3/reader.ts StoreSigner) against
 * AWS's signer (@smithy/signature-v4) and the project's own (auth/sigv4.ts signRequestV4): the
 * same request at the same instant must carry the same Authorization, across days (the cached
 * signing key) and within one second (the cached date).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { signRequestV4 } from '../../src/auth/sigv4.ts';
import { canonicalQuery } from '../../src/auth/encoding.ts';
import { StoreSigner } from '../../src/storage/s3/reader.ts';

const creds = { accessKeyId: 'STOREKEY0123', secretAccessKey: 'store/Secret+Key=abc' };
const HOST = '127.0.0.1:7480';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function awsAuthorization(
  method: string,
  path: string,
  range: string | undefined,
  at: Date,
  region: string,
  query: Record<string, string> = {},
): Promise<string> {
  const signer = new SignatureV4({ credentials: creds, region, service: 's3', sha256: Sha256, uriEscapePath: false });
  const headers: Record<string, string> = { host: HOST, 'x-amz-content-sha256': EMPTY_SHA256 };
  if (range !== undefined) headers.range = range;
  const signed = await signer.sign(
    { method, protocol: 'http:', hostname: '127.0.0.1', port: 7480, path, query, headers },
    { signingDate: at },
  );
  return String(signed.headers.authorization);
}

describe('storage/s3 StoreSigner', () => {
  const cases: { method: 'GET' | 'HEAD'; path: string; range?: string }[] = [
    { method: 'GET', path: '/osprey-store/b/photos/o/cat.jpg' },
    { method: 'HEAD', path: '/osprey-store/b/photos/o/cat.jpg' },
    { method: 'GET', path: '/osprey-store/b/photos/o/a%20b/%E2%82%AC.txt', range: 'bytes=0-99' },
  ];
  for (const c of cases) {
    it(`signs ${c.method} ${c.path}${c.range ? ' with a Range' : ''} as AWS's signer does`, async () => {
      const signer = new StoreSigner(HOST, creds, 'us-east-1');
      const at = new Date('2026-12-02T18:00:07.250Z');
      const h = signer.sign(c.method, c.path, c.range, at.getTime());
      assert.equal(h.authorization, await awsAuthorization(c.method, c.path, c.range, at, 'us-east-1'));
      // and as the project's own signer does (auth/sigv4.ts)
      const own = signRequestV4(
        { method: c.method, url: c.path, headers: { host: HOST, ...(c.range !== undefined && { range: c.range }) } },
        creds,
        EMPTY_SHA256,
        at,
        'us-east-1',
      );
      assert.equal(h.authorization, own.authorization);
      assert.equal(h['x-amz-date'], '20261202T180007Z');
      assert.equal(h.host, HOST);
      assert.equal(h.range, c.range);
    });
  }

  it('keeps signing correctly across seconds, days and in another region', async () => {
    const signer = new StoreSigner(HOST, creds, 'eu-west-3');
    const path = '/osprey-store/b/x/o/k';
    for (const iso of ['2026-12-02T23:59:59.900Z', '2026-12-02T23:59:59.990Z', '2026-12-03T00:00:00.010Z', '2026-12-03T00:00:01.000Z']) {
      const at = new Date(iso);
      assert.equal(
        signer.sign('GET', path, undefined, at.getTime()).authorization,
        await awsAuthorization('GET', path, undefined, at, 'eu-west-3'),
        iso,
      );
    }
  });

  // a listing: GET on the bucket with a query string (list.ts); the canonical query is the
  // parameters sorted by name, names and values URI-encoded per AWS (space %20, + %2B, / %2F,
  // ~ kept, * %2A, UTF-8 bytes of CJK, emoji and control characters)
  const queries: Record<string, string>[] = [
    { 'list-type': '2', 'max-keys': '1000', prefix: 'osprey/b/photos/o/', 'encoding-type': 'url' },
    { 'list-type': '2', prefix: 'p/a b+c%d~e*f/日本語/🙂 cafe\u0301', delimiter: '/', 'start-after': 'p/ctl\x01\x1f\x7f.txt' },
    { 'continuation-token': 'p/amp&<lt>"q\'=.txt?x#y', 'list-type': '2', 'max-keys': '1', delimiter: '' },
    // by name, not by `name=value`: 'a-b=' sorts before 'a=' though 'a' comes first
    { 'a-b': '1', a: '2', 'a.c': '3' },
  ];
  for (const query of queries) {
    it(`signs GET on the bucket with the query ${JSON.stringify(query)} as AWS's signer does`, async () => {
      const signer = new StoreSigner(HOST, creds, 'us-east-1');
      const at = new Date('2026-12-02T18:00:07.250Z');
      const canonical = canonicalQuery(Object.entries(query));
      const h = signer.sign('GET', '/osprey-store', undefined, at.getTime(), canonical);
      assert.equal(h.authorization, await awsAuthorization('GET', '/osprey-store', undefined, at, 'us-east-1', query));
      // the project's own signer, given the query as a client sends it
      const own = signRequestV4(
        { method: 'GET', url: `/osprey-store?${canonical}`, headers: { host: HOST } },
        creds,
        EMPTY_SHA256,
        at,
        'us-east-1',
      );
      assert.equal(h.authorization, own.authorization);
      // the query as sent is its canonical form: sorted, every value recoverable
      const names = canonical.split('&').map((p) => p.slice(0, p.indexOf('=')));
      assert.deepEqual(names, [...names].sort());
      assert.deepEqual(Object.fromEntries(new URLSearchParams(canonical)), query);
      // and without the query the signature differs (the query is signed)
      assert.notEqual(signer.sign('GET', '/osprey-store', undefined, at.getTime()).authorization, h.authorization);
    });
  }
});
