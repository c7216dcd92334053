/**
 * Fuzz: the Authorization header and presigned-query parsing (src/auth/verify.ts verifyRequest,
 * which dispatches to sigv4.ts, oss-v1.ts and oss-v4.ts). Random and near-valid headers yield an
 * AuthResult or an S3Error that blames the client (4xx), nothing else. Requests signed by AWS's
 * own signer (@smithy/signature-v4) with random paths, queries and headers verify as the owner,
 * and changing any signed part of them is SignatureDoesNotMatch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import type { AuthInput, KeyStore } from '../../src/auth/types.ts';
import { verifyRequest } from '../../src/auth/verify.ts';
import { fuzz, resultOrS3Error } from './budget.ts';

const AK = 'AKIDFUZZ';
const SK = 'fuzz/Secret+Key=0';
const keys: KeyStore = { secretFor: (id) => (id === AK ? SK : undefined) };
const NOW = new Date('2024-06-15T08:30:00Z');
const AMZ_DATE = '20240615T083000Z';
const HOST = '127.0.0.1:9000';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const signer = new SignatureV4({
  credentials: { accessKeyId: AK, secretAccessKey: SK },
  region: 'us-east-1',
  service: 's3',
  sha256: Sha256,
  uriEscapePath: false,
});

/** RFC 3986 unreserved stays, everything else %XX of its UTF-8 (the encoding SigV4 signs) */
function awsEncode(s: string, keepSlash = false): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/') ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
}

// ---- near-valid header soup --------------------------------------------------------------------

const credential = fc.oneof(
  fc.constant(`${AK}/20240615/us-east-1/s3/aws4_request`),
  fc.constant(`${AK}/20240615/cn-hangzhou/oss/aliyun_v4_request`),
  fc
    .tuple(
      fc.constantFrom(AK, '', 'OTHER', 'AK/x'),
      fc.constantFrom('20240615', '2024061', '20241315', 'x'),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('s3', 'oss', 'sts', ''),
      fc.constantFrom('aws4_request', 'aliyun_v4_request', ''),
    )
    .map((p) => p.join('/')),
  fc.string({ maxLength: 40 }),
);
const signedHeaders = fc.oneof(
  fc.constantFrom('host', 'host;x-amz-date', 'host;x-amz-content-sha256;x-amz-date', 'x-amz-date', ';', 'host;missing', ''),
  fc.string({ maxLength: 20 }),
);
const signature = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ maxLength: 70 }));
const field = fc.oneof(
  credential.map((c) => `Credential=${c}`),
  signedHeaders.map((s) => `SignedHeaders=${s}`),
  signature.map((s) => `Signature=${s}`),
  fc.constantFrom('AdditionalHeaders=host', 'Credential', '=', ',', 'Signature==', ' '),
  fc.string({ maxLength: 10 }),
);
const authorization = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('AWS4-HMAC-SHA256 ', 'OSS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256', 'aws4-hmac-sha256 '),
      fc.array(field, { maxLength: 5 }),
      fc.constantFrom(',', ', ', ' ,'),
    )
    .map(([a, f, sep]) => a + f.join(sep)),
  fc
    .tuple(
      fc.constantFrom('OSS ', 'AWS ', 'OSS', 'Bearer ', ''),
      fc.string({ maxLength: 30 }),
      fc.constantFrom(':', ''),
      fc.string({ maxLength: 30 }),
    )
    .map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 120 }),
);
const dateHeaders = fc.record(
  {
    'x-amz-date': fc.oneof(
      fc.constantFrom(AMZ_DATE, '20240615T083000', '20240615T250000Z', '20240616T083000Z', ''),
      fc.string({ maxLength: 18 }),
    ),
    date: fc.oneof(fc.constant(NOW.toUTCString()), fc.string({ maxLength: 30 })),
    'x-oss-date': fc.oneof(fc.constantFrom(AMZ_DATE, NOW.toUTCString()), fc.string({ maxLength: 18 })),
    'x-amz-content-sha256': fc.oneof(
      fc.constantFrom(
        EMPTY_SHA256,
        'UNSIGNED-PAYLOAD',
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      ),
      fc.string({ maxLength: 70 }),
    ),
    'content-md5': fc.string({ maxLength: 30 }),
  },
  { requiredKeys: [] },
);
const path = fc.oneof(
  fc.constantFrom('/', '/b', '/b/k', '/b/a%2Fb', '/b/%zz', '/b/%E2%82%AC'),
  fc.string({ maxLength: 20 }).map((s) => '/b/' + s),
);
const queryParam = fc.oneof(
  fc.constantFrom(
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    `X-Amz-Credential=${awsEncode(`${AK}/20240615/us-east-1/s3/aws4_request`)}`,
    `X-Amz-Date=${AMZ_DATE}`,
    'X-Amz-Expires=900',
    'X-Amz-Expires=0',
    'X-Amz-Expires=99999999999',
    'X-Amz-SignedHeaders=host',
    'X-Amz-Signature=00',
    'x-oss-signature-version=OSS4-HMAC-SHA256',
    'x-oss-credential=x',
    'x-oss-signature=y',
    'x-oss-expires=60',
    'OSSAccessKeyId=' + AK,
    'Expires=1718440200',
    'Signature=abc',
    'AWSAccessKeyId=x',
    'acl',
    'uploads',
    '%',
    '=',
  ),
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([k, v]) => `${awsEncode(k)}=${v}`),
);

/** Credential, SignedHeaders and Signature of a SigV4 Authorization header, as written */
function sigv4Fields(auth: string): [string | undefined, string | undefined, string | undefined] {
  const fields = new Map<string, string>();
  for (const part of auth.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return [fields.get('Credential'), fields.get('SignedHeaders'), fields.get('Signature')];
}

function input(method: string, url: string, headers: Record<string, string>): AuthInput {
  return { method, url, headers: { host: HOST, ...headers }, now: NOW, bucket: 'b', key: 'k' };
}

// ---- signed requests -----------------------------------------------------------------------------

const keyText = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => s.isWellFormed());
const queryPairs = fc.uniqueArray(
  fc.tuple(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => s.isWellFormed()),
  ),
  { maxLength: 4, selector: ([k]) => k },
);
const metaHeaders = fc.uniqueArray(
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 16 })),
  { maxLength: 3, selector: ([k]) => k },
);

async function signedRequest(method: string, key: string, query: [string, string][], meta: [string, string][]): Promise<AuthInput> {
  const p = '/b/' + awsEncode(key, true);
  const headers: Record<string, string> = { host: HOST, 'x-amz-content-sha256': EMPTY_SHA256 };
  for (const [k, v] of meta) headers[`x-amz-meta-${k}`] = v;
  const req = await signer.sign(
    { method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: p, query: Object.fromEntries(query), headers },
    { signingDate: NOW },
  );
  const qs = query.map(([k, v]) => `${awsEncode(k)}=${awsEncode(v)}`).join('&');
  const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return { method, url: qs ? `${p}?${qs}` : p, headers: lower, now: NOW };
}

describe('fuzz: Authorization header and presigned query', () => {
  it('random and near-valid Authorization headers are refused with an S3Error, never another exception', async () => {
    await fuzz(
      fc.property(authorization, dateHeaders, path, fc.constantFrom('GET', 'PUT', 'HEAD'), (auth, extra, p, method) => {
        const r = resultOrS3Error(() => verifyRequest(input(method, p, { ...extra, authorization: auth }), keys));
        if (r.ok) {
          // nothing random is ever signed with the secret: the only way through is anonymity
          assert.fail(`'${auth}' verified as ${JSON.stringify(r.value.principal)}`);
        }
      }),
      { ms: 900, minRuns: 100 },
    );
  });

  it('random presigned queries yield an AuthResult or an S3Error, and are never the owner', async () => {
    await fuzz(
      fc.property(fc.array(queryParam, { maxLength: 8 }), dateHeaders, path, (params, extra, p) => {
        const url = params.length > 0 ? `${p}?${params.join('&')}` : p;
        const r = resultOrS3Error(() => verifyRequest(input('GET', url, extra), keys));
        if (r.ok) assert.equal(r.value.principal.kind, 'anonymous', url);
      }),
      { ms: 700, minRuns: 100 },
    );
  });

  it('requests signed by the AWS signer verify as the owner; a changed signature, path or header does not', async () => {
    await fuzz(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD'),
        keyText,
        queryPairs,
        metaHeaders,
        fc.nat(),
        fc.constantFrom('signature', 'path', 'header', 'method'),
        async (method, key, query, meta, at, what) => {
          const req = await signedRequest(method, key, query, meta);
          const good = resultOrS3Error(() => verifyRequest(req, keys));
          assert.ok(good.ok, good.ok ? '' : `${good.err.code}: ${good.err.message} for ${req.url}`);
          assert.deepEqual(good.value.principal, { kind: 'owner', accessKeyId: AK });

          const bad = structuredClone(req);
          if (what === 'signature') {
            const auth = bad.headers.authorization as string;
            const i = auth.length - 1 - (at % 64);
            bad.headers.authorization = auth.slice(0, i) + (auth[i] === '0' ? '1' : '0') + auth.slice(i + 1);
          } else if (what === 'path') {
            bad.url = bad.url.replace('/b/', '/b/x');
          } else if (what === 'header') {
            bad.headers['x-amz-date'] = '20240615T083001Z';
          } else {
            bad.method = method === 'GET' ? 'PUT' : 'GET';
          }
          const r = resultOrS3Error(() => verifyRequest(bad, keys));
          assert.equal(r.ok, false, `a request with a changed ${what} verified`);
          if (!r.ok) assert.equal(r.err.code, 'SignatureDoesNotMatch');
        },
      ),
      { ms: 1000, minRuns: 30 },
    );
  });

  it('a signed request with its Authorization header edited at random verifies only unchanged in meaning', async () => {
    await fuzz(
      fc.asyncProperty(
        keyText,
        fc.nat(),
        fc.oneof(fc.constantFrom(' ', ',', '=', '/', ';', 'x', '0'), fc.string({ maxLength: 3 })),
        fc.boolean(),
        async (key, at, ins, replace) => {
          const req = await signedRequest('GET', key, [], []);
          const auth = req.headers.authorization as string;
          const i = at % (auth.length + 1);
          const edited = auth.slice(0, i) + ins + auth.slice(replace ? i + 1 : i);
          const r = resultOrS3Error(() => verifyRequest({ ...req, headers: { ...req.headers, authorization: edited } }, keys));
          // whitespace around fields and stray parts without '=' are not part of the three fields,
          // so some edits keep the header's meaning: only those may verify
          if (r.ok) {
            assert.ok(edited.startsWith('AWS4-HMAC-SHA256 '), edited);
            assert.deepEqual(sigv4Fields(edited), sigv4Fields(auth), edited);
          }
        },
      ),
      { ms: 700, minRuns: 30 },
    );
  });
});
