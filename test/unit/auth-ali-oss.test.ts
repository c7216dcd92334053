/**
 * src/auth against what the real ali-oss 6.23 client puts on the wire, for OSS signatures V1
 * (header, and signatureUrl) and V4 (header, and signatureUrlV4). A node:http server captures the
 * requests; each is verified with verifyRequest, then tampered with. ali-oss is pointed at
 * http://localhost:PORT with sldEnable, so it sends path-style /bucket/key.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OSS from 'ali-oss';
import type { AuthInput, KeyStore } from '../../src/auth/types.ts';
import { verifyRequest } from '../../src/auth/verify.ts';
import { S3Error } from '../../src/errors.ts';

const AK = 'LTAIOSPREYTEST';
const SK = 'ali/secret+key=0123456789';
const BUCKET = 'bkt';
const KEY = 'dir/a b+c ü 日本.txt';
const keys: KeyStore = { secretFor: (id) => (id === AK ? SK : undefined) };
const wrongKeys: KeyStore = { secretFor: (id) => (id === AK ? `${SK}x` : undefined) };

interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

const ACL_XML =
  '<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy><Owner><ID>1</ID><DisplayName>1</DisplayName></Owner><AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>';
const LIST_XML = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><Prefix>dir/</Prefix><Marker></Marker><MaxKeys>10</MaxKeys><Delimiter></Delimiter><IsTruncated>false</IsTruncated></ListBucketResult>`;

let server: http.Server;
let port = 0;
const captured: Captured[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '/';
      captured.push({ method: req.method ?? 'GET', url, headers: req.headers });
      const { key } = route(url);
      const xml = url.includes('?acl') ? ACL_XML : req.method === 'GET' && key === undefined ? LIST_XML : undefined;
      const body = req.method === 'DELETE' ? '' : (xml ?? (req.method === 'GET' ? 'hello' : ''));
      res.writeHead(req.method === 'DELETE' ? 204 : 200, {
        'content-type': xml ? 'application/xml' : 'text/plain',
        'content-length': Buffer.byteLength(body),
        etag: '"0123456789ABCDEF0123456789ABCDEF"',
        'x-oss-request-id': 'req-1',
      });
      res.end(req.method === 'HEAD' || req.method === 'DELETE' ? undefined : body);
    });
  });
  // ali-oss resolves "localhost"; listen on the loopback address it reaches first
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What the router resolves from a path-style target: /bucket/key (the key percent-decoded). */
function route(url: string): { bucket?: string; key?: string } {
  const path = url.split('?')[0] ?? '/';
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!m?.[1]) return {};
  const key = m[2] ? decodeURIComponent(m[2]) : undefined;
  return { bucket: m[1], ...(key !== undefined && { key }) };
}

function inputOf(c: Captured, now = new Date()): AuthInput {
  return { method: c.method, url: c.url, headers: c.headers, now, ...route(c.url) };
}

function makeClient(v4: boolean, secret = SK): OSS {
  const options = {
    accessKeyId: AK,
    accessKeySecret: secret,
    bucket: BUCKET,
    endpoint: `http://localhost:${port}`,
    sldEnable: true,
    authorizationV4: v4,
    region: 'oss-cn-hangzhou',
    secure: false,
  };
  return new OSS(options);
}

async function capture(call: () => Promise<unknown>): Promise<Captured> {
  const from = captured.length;
  await call();
  assert.equal(captured.length, from + 1, 'expected exactly one request');
  return captured[from]!;
}

function isS3(code: string, message?: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof S3Error, `expected S3Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  };
}

function expectOwner(c: Captured): void {
  const r = verifyRequest(inputOf(c), keys);
  assert.deepEqual(r.principal, { kind: 'owner', accessKeyId: AK });
  assert.equal(r.dialect, 'oss');
}

for (const v4 of [false, true]) {
  describe(`auth with ali-oss: signature ${v4 ? 'V4 (OSS4-HMAC-SHA256)' : 'V1 (OSS AK:sig)'} in the Authorization header`, () => {
    const calls: { name: string; call: (c: OSS) => Promise<unknown> }[] = [
      {
        name: 'put with content-type and x-oss-meta-*',
        call: (c) =>
          c.put(KEY, Buffer.from('hello'), {
            headers: { 'Content-Type': 'text/plain' },
            meta: { owner: 'ops', uid: 1 } as unknown as OSS.UserMeta,
          }),
      },
      { name: 'get (Content-Type guessed from the extension and signed)', call: (c) => c.get(KEY) },
      { name: 'head', call: (c) => c.head(KEY) },
      { name: 'delete', call: (c) => c.delete(KEY) },
      { name: 'list with prefix and max-keys', call: (c) => c.list({ prefix: 'dir/', 'max-keys': 10 }, {}) },
      { name: 'getACL (?acl sub-resource)', call: (c) => c.getACL(KEY) },
      { name: 'putBucketWebsite (?website= sent, signed as ?website)', call: (c) => c.putBucketWebsite(BUCKET, { index: 'index.html' }) },
    ];
    for (const t of calls) {
      it(`${t.name}: verifies; wrong secret -> SignatureDoesNotMatch`, async () => {
        const c = await capture(() => t.call(makeClient(v4)));
        assert.match(
          String(c.headers.authorization),
          v4 ? /^OSS4-HMAC-SHA256 Credential=LTAIOSPREYTEST\/\d{8}\/cn-hangzhou\/oss\/aliyun_v4_request/ : /^OSS LTAIOSPREYTEST:/,
        );
        expectOwner(c);
        assert.throws(() => verifyRequest(inputOf(c), wrongKeys), isS3('SignatureDoesNotMatch'));
      });
    }

    it('the client with a wrong secret is refused', async () => {
      const c = await capture(() => makeClient(v4, 'not-the-secret').get(KEY));
      assert.throws(() => verifyRequest(inputOf(c), keys), isS3('SignatureDoesNotMatch'));
    });

    it('another key, another bucket, another method, a changed x-oss-meta -> SignatureDoesNotMatch', async () => {
      const c = await capture(() => makeClient(v4).put(KEY, Buffer.from('x'), { meta: { owner: 'ops' } as unknown as OSS.UserMeta }));
      const input = inputOf(c);
      assert.throws(() => verifyRequest({ ...input, key: `${KEY}2` }, keys), isS3('SignatureDoesNotMatch'));
      assert.throws(() => verifyRequest({ ...input, bucket: 'other' }, keys), isS3('SignatureDoesNotMatch'));
      assert.throws(() => verifyRequest({ ...input, method: 'DELETE' }, keys), isS3('SignatureDoesNotMatch'));
      assert.throws(
        () => verifyRequest({ ...input, headers: { ...input.headers, 'x-oss-meta-owner': 'eve' } }, keys),
        isS3('SignatureDoesNotMatch'),
      );
    });

    it('unknown access key -> InvalidAccessKeyId; 16 minutes of skew -> RequestTimeTooSkewed', async () => {
      const c = await capture(() => makeClient(v4).head(KEY));
      assert.throws(() => verifyRequest(inputOf(c), { secretFor: () => undefined }), isS3('InvalidAccessKeyId'));
      assert.throws(() => verifyRequest(inputOf(c, new Date(Date.now() + 16 * 60_000)), keys), isS3('RequestTimeTooSkewed'));
      assert.throws(() => verifyRequest(inputOf(c, new Date(Date.now() - 16 * 60_000)), keys), isS3('RequestTimeTooSkewed'));
    });
  });
}

describe('auth with ali-oss: V1 details', () => {
  it('ali-oss sends x-oss-date and no Date; an added (unsigned) Date header does not break it', async () => {
    const c = await capture(() => makeClient(false).get(KEY));
    assert.equal(c.headers.date, undefined);
    assert.ok(c.headers['x-oss-date']);
    expectOwner({ ...c, headers: { ...c.headers, date: new Date().toUTCString() } });
  });

  it('an added unsigned query parameter (not a sub-resource) is not signed by V1; an added sub-resource is', async () => {
    const c = await capture(() => makeClient(false).get(KEY));
    expectOwner({ ...c, url: `${c.url}${c.url.includes('?') ? '&' : '?'}foo=bar` });
    assert.throws(() => verifyRequest({ ...inputOf(c), url: `${c.url}?acl` }, keys), isS3('SignatureDoesNotMatch'));
  });
});

describe('auth with ali-oss: V1 signed URL (signatureUrl)', () => {
  async function fetchSigned(url: string, init?: RequestInit): Promise<Captured> {
    return capture(async () => (await fetch(url, init)).arrayBuffer());
  }

  it('GET with a response-content-type override verifies; expired -> AccessDenied; tampered -> SignatureDoesNotMatch', async () => {
    const url = makeClient(false).signatureUrl(KEY, { expires: 600, response: { 'content-type': 'text/plain' } });
    const c = await fetchSigned(url);
    assert.match(c.url, /OSSAccessKeyId=LTAIOSPREYTEST&Expires=\d+&Signature=/);
    expectOwner(c);
    assert.throws(() => verifyRequest(inputOf(c, new Date(Date.now() + 601_000)), keys), isS3('AccessDenied', 'Request has expired'));
    const expires = /Expires=(\d+)/.exec(c.url)?.[1] ?? '';
    assert.throws(
      () => verifyRequest({ ...inputOf(c), url: c.url.replace(`Expires=${expires}`, `Expires=${Number(expires) + 1}`) }, keys),
      isS3('SignatureDoesNotMatch'),
    );
    assert.throws(
      () => verifyRequest({ ...inputOf(c), url: c.url.replace('text%2Fplain', 'text%2Fhtml') }, keys),
      isS3('SignatureDoesNotMatch'),
    );
    assert.throws(() => verifyRequest(inputOf(c), wrongKeys), isS3('SignatureDoesNotMatch'));
  });

  it('PUT URL signed with a Content-Type: verifies when sent with it, not with another', async () => {
    const url = makeClient(false).signatureUrl(KEY, { method: 'PUT', expires: 600, 'Content-Type': 'text/plain' });
    const c = await fetchSigned(url, { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expectOwner(c);
    assert.throws(
      () => verifyRequest({ ...inputOf(c), headers: { ...c.headers, 'content-type': 'text/html' } }, keys),
      isS3('SignatureDoesNotMatch'),
    );
  });
});

describe('auth with ali-oss: V4 signed URL (signatureUrlV4)', () => {
  async function signedV4(queries: Record<string, string> = {}, expires = 600): Promise<Captured> {
    const url = await makeClient(true).signatureUrlV4('GET', expires, { queries }, KEY);
    return capture(async () => (await fetch(url)).arrayBuffer());
  }

  it('verifies, with and without extra signed queries; payload unsigned', async () => {
    const cases: Record<string, string>[] = [{}, { 'response-content-type': 'text/plain; charset=utf-8' }];
    for (const q of cases) {
      const c = await signedV4(q);
      assert.match(c.url, /x-oss-signature-version=OSS4-HMAC-SHA256/);
      expectOwner(c);
      assert.deepEqual(verifyRequest(inputOf(c), keys).payload, { kind: 'unsigned' });
    }
  });

  it('after x-oss-expires -> AccessDenied "Request has expired"; tampered -> SignatureDoesNotMatch', async () => {
    const c = await signedV4({}, 60);
    assert.throws(() => verifyRequest(inputOf(c, new Date(Date.now() + 61_000)), keys), isS3('AccessDenied', 'Request has expired'));
    assert.throws(
      () => verifyRequest({ ...inputOf(c), url: c.url.replace('x-oss-expires=60', 'x-oss-expires=600') }, keys),
      isS3('SignatureDoesNotMatch'),
    );
    assert.throws(() => verifyRequest({ ...inputOf(c), key: 'other' }, keys), isS3('SignatureDoesNotMatch'));
    assert.throws(() => verifyRequest(inputOf(c), wrongKeys), isS3('SignatureDoesNotMatch'));
  });

  it('x-oss-expires over 604800 or missing parts -> AuthorizationQueryParametersError', async () => {
    const c = await signedV4({}, 60);
    const bad = (url: string) => verifyRequest({ ...inputOf(c), url }, keys);
    assert.throws(() => bad(c.url.replace('x-oss-expires=60', 'x-oss-expires=604801')), isS3('AuthorizationQueryParametersError'));
    assert.throws(() => bad(c.url.replace(/x-oss-credential=[^&]*/, 'x-oss-credential=')), isS3('AuthorizationQueryParametersError'));
    assert.throws(() => bad(c.url.replace(/x-oss-date=[^&]*/, 'x-oss-date=yesterday')), isS3('AuthorizationQueryParametersError'));
    assert.throws(() => bad(c.url.replace(/x-oss-signature=[^&]*/, 'x-oss-signature=')), isS3('AuthorizationQueryParametersError'));
    assert.throws(() => bad(c.url.replace('OSS4-HMAC-SHA256', 'OSS5')), isS3('AuthorizationQueryParametersError'));
  });
});
