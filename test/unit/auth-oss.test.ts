/**
 * Unit tests for src/auth/oss-v1.ts and oss-v4.ts on requests that ali-oss's client does not
 * send by itself (AdditionalHeaders, a mixed sub-resource/query string, a Date header, content
 * hashes) and on malformed input. Signatures come from ali-oss's own signer
 * (lib/common/signUtils.js), never from Osprey's code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { AuthInput, KeyStore } from '../../src/auth/types.ts';
import { verifyRequest } from '../../src/auth/verify.ts';
import { S3Error } from '../../src/errors.ts';

interface SignUtils {
  authorizationV4(
    ak: string,
    sk: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries?: Record<string, string | null> },
    bucket?: string,
    object?: string,
    additionalHeaders?: string[],
  ): string;
  buildCanonicalString(
    method: string,
    resource: string,
    request: { headers: Record<string, string>; parameters?: Record<string, string | null> },
    expires?: string,
  ): string;
  computeSignature(secret: string, canonical: string): string;
}
const signUtils = createRequire(import.meta.url)('ali-oss/lib/common/signUtils.js') as SignUtils;

const AK = 'LTAIUNIT';
const SK = 'unit/secret+key';
const keys: KeyStore = { secretFor: (id) => (id === AK ? SK : undefined) };
const NOW = new Date('2024-12-03T12:12:12Z');
const STAMP = '20241203T121212Z';
const HTTP_DATE = NOW.toUTCString();

function isS3(code: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof S3Error, `expected S3Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

const enc = (s: string) => encodeURIComponent(s);

/** A V4-signed request as ali-oss's signer signs it; `query` is sent as `k=v` (`k=` when empty or null). */
function v4(o: {
  method?: string;
  bucket?: string;
  key?: string;
  headers?: Record<string, string>;
  queries?: Record<string, string | null>;
  additional?: string[];
}): AuthInput {
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = {
    host: 'osprey.local',
    'x-oss-date': STAMP,
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    ...o.headers,
  };
  headers.authorization = signUtils.authorizationV4(
    AK,
    SK,
    'cn-hangzhou',
    method,
    { headers, queries: o.queries ?? {} },
    o.bucket,
    o.key,
    o.additional,
  );
  const qs = Object.entries(o.queries ?? {})
    .map(([k, v]) => `${enc(k)}=${v === null ? '' : enc(v)}`)
    .join('&');
  const path = `/${o.bucket ? `${o.bucket}/` : ''}${(o.key ?? '').split('/').map(enc).join('/')}`;
  return {
    method,
    url: qs ? `${path}?${qs}` : path,
    headers,
    now: NOW,
    ...(o.bucket !== undefined && { bucket: o.bucket }),
    ...(o.key !== undefined && { key: o.key }),
  };
}

/** A V1-signed request; `dateLine` is what goes on the Date line (Date or x-oss-date). */
function v1(o: {
  method?: string;
  bucket?: string;
  key?: string;
  headers: Record<string, string>;
  subres?: Record<string, string | null>;
  dateLine: string;
}): AuthInput {
  const method = o.method ?? 'GET';
  const resource = `/${o.bucket ? `${o.bucket}/` : ''}${o.key ?? ''}`;
  // buildCanonicalString takes the Date line from x-oss-date (or expires): pass ours as "expires"
  const canonical = signUtils.buildCanonicalString(method, resource, { headers: o.headers, parameters: o.subres ?? {} }, o.dateLine);
  const headers = { host: 'osprey.local', ...o.headers, authorization: `OSS ${AK}:${signUtils.computeSignature(SK, canonical)}` };
  const qs = Object.entries(o.subres ?? {})
    .map(([k, v]) => (v === null ? `${enc(k)}=` : `${enc(k)}=${enc(v)}`))
    .join('&');
  const path = `/${o.bucket ? `${o.bucket}/` : ''}${(o.key ?? '').split('/').map(enc).join('/')}`;
  return {
    method,
    url: qs ? `${path}?${qs}` : path,
    headers,
    now: NOW,
    ...(o.bucket !== undefined && { bucket: o.bucket }),
    ...(o.key !== undefined && { key: o.key }),
  };
}

function owner(input: AuthInput): void {
  const r = verifyRequest(input, keys);
  assert.deepEqual(r.principal, { kind: 'owner', accessKeyId: AK });
  assert.equal(r.dialect, 'oss');
}

describe('auth oss v4: header form beyond what ali-oss sends by itself', () => {
  it('AdditionalHeaders host;range verify; a missing listed header -> AccessDenied; another host -> SignatureDoesNotMatch', () => {
    const input = v4({ bucket: 'bkt', key: 'a/b c.txt', headers: { range: 'bytes=0-9' }, additional: ['host', 'range'] });
    assert.match(String(input.headers.authorization), /AdditionalHeaders=host;range,/);
    owner(input);
    const { range: _range, ...noRange } = input.headers;
    assert.throws(() => verifyRequest({ ...input, headers: noRange }, keys), isS3('AccessDenied'));
    assert.throws(
      () => verifyRequest({ ...input, headers: { ...input.headers, host: 'evil.local' } }, keys),
      isS3('SignatureDoesNotMatch'),
    );
    // an unsigned header may change freely
    owner({ ...input, headers: { ...input.headers, 'user-agent': 'x' } });
  });

  const queries: { name: string; q: Record<string, string | null> }[] = [
    { name: 'a sub-resource (null, signed bare)', q: { uploads: null } },
    { name: 'an empty query parameter (signed "k=")', q: { prefix: '' } },
    { name: 'both at once', q: { uploads: null, prefix: '' } },
    { name: 'values needing encoding', q: { prefix: "a b/ü!'()*", 'max-keys': '10', delimiter: '/' } },
  ];
  for (const t of queries) {
    it(`query with ${t.name} verifies; a changed value -> SignatureDoesNotMatch`, () => {
      const input = v4({ bucket: 'bkt', queries: t.q });
      owner(input);
      assert.throws(() => verifyRequest({ ...input, url: `${input.url}&extra=1` }, keys), isS3('SignatureDoesNotMatch'));
    });
  }

  it('service and bucket level resources: / and /bkt/', () => {
    owner(v4({}));
    owner(v4({ bucket: 'bkt' }));
  });

  it('a hex x-oss-content-sha256 binds the body (payload plan sha256)', () => {
    const hash = createHash('sha256').update('hello').digest('hex');
    const r = verifyRequest(v4({ method: 'PUT', bucket: 'bkt', key: 'k', headers: { 'x-oss-content-sha256': hash } }), keys);
    assert.deepEqual(r.payload, { kind: 'sha256', expected: hash });
  });

  it('malformed: no Signature, wrong product, bad credential -> AuthorizationHeaderMalformed', () => {
    const input = v4({ bucket: 'bkt', key: 'k' });
    const auth = String(input.headers.authorization);
    for (const bad of [
      auth.replace(/,?Signature=[0-9a-f]+/, ''),
      auth.replace('/oss/', '/ecs/'),
      auth.replace('/aliyun_v4_request', '/aws4_request'),
      'OSS4-HMAC-SHA256 nonsense',
    ]) {
      assert.throws(
        () => verifyRequest({ ...input, headers: { ...input.headers, authorization: bad } }, keys),
        isS3('AuthorizationHeaderMalformed'),
      );
    }
  });

  it('x-oss-date missing, malformed or on another day than the credential -> AccessDenied', () => {
    const input = v4({ bucket: 'bkt', key: 'k' });
    const { 'x-oss-date': _d, ...noDate } = input.headers;
    assert.throws(() => verifyRequest({ ...input, headers: noDate }, keys), isS3('AccessDenied'));
    assert.throws(() => verifyRequest({ ...input, headers: { ...input.headers, 'x-oss-date': HTTP_DATE } }, keys), isS3('AccessDenied'));
    assert.throws(
      () => verifyRequest({ ...input, headers: { ...input.headers, 'x-oss-date': '20241204T001212Z' } }, keys),
      isS3('AccessDenied'),
    );
  });
});

describe('auth oss v1: header form', () => {
  it('a client that sends Date (not x-oss-date) and signs it verifies', () => {
    owner(v1({ bucket: 'bkt', key: 'k.txt', headers: { date: HTTP_DATE, 'content-type': 'text/plain' }, dateLine: HTTP_DATE }));
  });

  it('x-oss-* headers are canonicalised (sorted, lower-cased, trimmed)', () => {
    const input = v1({
      method: 'PUT',
      bucket: 'bkt',
      key: 'k',
      headers: { 'x-oss-date': HTTP_DATE, 'x-oss-meta-b': ' two ', 'x-oss-meta-a': 'one', 'content-md5': 'eB5eJF1ptWaXm4bijSPyxw==' },
      dateLine: HTTP_DATE,
    });
    owner(input);
    assert.throws(
      () => verifyRequest({ ...input, headers: { ...input.headers, 'x-oss-meta-a': 'uno' } }, keys),
      isS3('SignatureDoesNotMatch'),
    );
    assert.throws(
      () => verifyRequest({ ...input, headers: { ...input.headers, 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' } }, keys),
      isS3('SignatureDoesNotMatch'),
    );
  });

  it('sub-resources with values (uploadId, partNumber) are signed; other query parameters are not', () => {
    const input = v1({
      method: 'PUT',
      bucket: 'bkt',
      key: 'big.bin',
      headers: { 'x-oss-date': HTTP_DATE },
      subres: { partNumber: '3', uploadId: 'abc/def' },
      dateLine: HTTP_DATE,
    });
    owner(input);
    owner({ ...input, url: `${input.url}&foo=bar` });
    assert.throws(
      () => verifyRequest({ ...input, url: input.url.replace('partNumber=3', 'partNumber=4') }, keys),
      isS3('SignatureDoesNotMatch'),
    );
  });

  it('bucket and service level resources: /bkt/?acl and /', () => {
    owner(v1({ bucket: 'bkt', headers: { 'x-oss-date': HTTP_DATE }, subres: { acl: null }, dateLine: HTTP_DATE }));
    owner(v1({ headers: { 'x-oss-date': HTTP_DATE }, dateLine: HTTP_DATE }));
  });

  it('malformed header -> AuthorizationHeaderMalformed; no date -> AccessDenied; payload plan none', () => {
    const input = v1({ bucket: 'bkt', key: 'k', headers: { 'x-oss-date': HTTP_DATE }, dateLine: HTTP_DATE });
    assert.deepEqual(verifyRequest(input, keys).payload, { kind: 'none' });
    for (const bad of ['OSS ', 'OSS nocolon', `OSS ${AK}:`]) {
      assert.throws(
        () => verifyRequest({ ...input, headers: { ...input.headers, authorization: bad } }, keys),
        isS3('AuthorizationHeaderMalformed'),
      );
    }
    const { 'x-oss-date': _d, ...noDate } = input.headers;
    assert.throws(() => verifyRequest({ ...input, headers: noDate }, keys), isS3('AccessDenied'));
  });
});

describe('auth oss v1: signed URL form', () => {
  const expires = String(Math.floor(NOW.getTime() / 1000) + 600);
  function signedUrl(key: string): AuthInput {
    const canonical = signUtils.buildCanonicalString('GET', `/bkt/${key}`, { headers: {} }, expires);
    const sig = signUtils.computeSignature(SK, canonical);
    return {
      method: 'GET',
      url: `/bkt/${enc(key)}?OSSAccessKeyId=${AK}&Expires=${expires}&Signature=${enc(sig)}`,
      headers: { host: 'osprey.local' },
      now: NOW,
      bucket: 'bkt',
      key,
    };
  }

  it('verifies until Expires, then AccessDenied "Request has expired"', () => {
    const input = signedUrl('k.txt');
    owner(input);
    owner({ ...input, now: new Date(Number(expires) * 1000) });
    assert.throws(
      () => verifyRequest({ ...input, now: new Date(Number(expires) * 1000 + 1000) }, keys),
      (e: unknown) => isS3('AccessDenied')(e) && (e as Error).message === 'Request has expired',
    );
  });

  it('missing Signature or a non-numeric Expires -> AccessDenied; unknown key -> InvalidAccessKeyId', () => {
    const input = signedUrl('k.txt');
    assert.throws(() => verifyRequest({ ...input, url: input.url.replace(/&Signature=.*$/, '') }, keys), isS3('AccessDenied'));
    assert.throws(() => verifyRequest({ ...input, url: input.url.replace(/Expires=\d+/, 'Expires=soon') }, keys), isS3('AccessDenied'));
    assert.throws(() => verifyRequest(input, { secretFor: () => undefined }), isS3('InvalidAccessKeyId'));
  });
});

describe('auth oss: anonymous', () => {
  it('no credentials with x-oss-* headers: anonymous, OSS dialect, no payload claim', () => {
    const r = verifyRequest({ method: 'GET', url: '/bkt/k', headers: { host: 'h', 'x-oss-date': HTTP_DATE }, now: NOW }, keys);
    assert.deepEqual(r, { principal: { kind: 'anonymous' }, dialect: 'oss', payload: { kind: 'none' } });
  });
});
