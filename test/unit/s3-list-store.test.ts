/**
 * The S3 driver's object listing against a store that fails (src/storage/s3/list.ts listObjects,
 * asked through the lean reader since issue 19): each failure maps onto the error table as it did
 * when the listing went through the AWS SDK (errors.ts fromStore), a network failure or a 5xx/429 is
 * asked once more (the SDK's maxAttempts 2), and what the store asked for is signed and canonical.
 * The store is a small HTTP server on 127.0.0.1 answering what each case needs.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { Layout } from '../../src/storage/s3/layout.ts';
import { listObjects } from '../../src/storage/s3/list.ts';
import { Store } from '../../src/storage/s3/store.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PAGE =
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EncodingType>url</EncodingType>' +
  '<Name>store</Name><Prefix>p%2Fb%2Fbk%2Fo%2F</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>' +
  '<Contents><Key>p%2Fb%2Fbk%2Fo%2Fa%20b</Key><LastModified>2026-12-06T17:08:41.724Z</LastModified><ETag>&quot;D41D8CD98F00B204E9800998ECF8427E&quot;</ETag><Size>5</Size></Contents>' +
  '<KeyCount>1</KeyCount></ListBucketResult>';
const errorXml = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`;

describe('storage/s3 listObjects: store failures and the request it sends', () => {
  let server: http.Server;
  let endpoint: string;
  /** the answers still to give, in order; the last one repeats */
  let answers: { status: number; body: string }[] = [];
  let seen: { url: string; authorization: string }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: String(req.headers.authorization ?? '') });
      const a = (answers.length > 1 ? answers.shift() : answers[0]) ?? { status: 500, body: '' };
      res.writeHead(a.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const list = async (at = endpoint) => {
    const store = new Store({ bucket: 'store', endpoint: at, accessKeyId: 'AK', secretAccessKey: 'SK' });
    try {
      return await listObjects(store, new Layout('p'), 'bk', { prefix: '', maxKeys: 1000 });
    } finally {
      store.destroy();
    }
  };
  const failure = async (at?: string): Promise<S3Error> => {
    const err = await list(at).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof S3Error, `an S3Error: ${String(err)}`);
    return err;
  };

  it('asks GET /bucket with the canonical query, signed, and reads the page', async () => {
    answers = [{ status: 200, body: PAGE }];
    seen = [];
    const page = await list();
    assert.deepEqual(
      page.objects.map((o) => [o.key, o.size, o.etag]),
      [['a b', 5, 'd41d8cd98f00b204e9800998ecf8427e']],
    );
    assert.equal(page.isTruncated, false);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/store?encoding-type=url&list-type=2&max-keys=1000&prefix=p%2Fb%2Fbk%2Fo%2F');
    assert.match(
      seen[0]?.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AK\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  const cases: {
    name: string;
    answers: { status: number; body: string }[];
    code: string;
    message?: RegExp;
    requests: number;
    retryAfter: boolean;
  }[] = [
    {
      name: '503 twice: ServiceUnavailable with Retry-After, asked twice',
      answers: [{ status: 503, body: errorXml('ServiceUnavailable') }],
      code: 'ServiceUnavailable',
      requests: 2,
      retryAfter: true,
    },
    {
      name: '500 without a body twice: ServiceUnavailable',
      answers: [{ status: 500, body: '' }],
      code: 'ServiceUnavailable',
      requests: 2,
      retryAfter: true,
    },
    {
      name: '503 SlowDown twice: SlowDown with Retry-After',
      answers: [{ status: 503, body: errorXml('SlowDown') }],
      code: 'SlowDown',
      requests: 2,
      retryAfter: true,
    },
    {
      name: '403 AccessDenied (our credentials refused): ServiceUnavailable, asked once',
      answers: [{ status: 403, body: errorXml('AccessDenied') }],
      code: 'ServiceUnavailable',
      requests: 1,
      retryAfter: true,
    },
    {
      name: "404 NoSuchBucket (the store's bucket is gone): InternalError, asked once",
      answers: [{ status: 404, body: errorXml('NoSuchBucket') }],
      code: 'InternalError',
      requests: 1,
      retryAfter: false,
    },
    {
      name: '507 InsufficientCapacity: the storage-full answer (503), asked once',
      answers: [{ status: 507, body: errorXml('InsufficientCapacity') }],
      code: 'ServiceUnavailable',
      message: /storage is full/,
      requests: 1,
      retryAfter: false,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      answers = [...c.answers];
      seen = [];
      const err = await failure();
      assert.equal(err.code, c.code);
      if (c.message) assert.match(err.message, c.message);
      assert.equal(seen.length, c.requests);
      assert.equal(err.detail.headers?.['Retry-After'] !== undefined, c.retryAfter);
    });
  }

  it('a 502 then the page: the page (asked once more, as the SDK did)', async () => {
    answers = [
      { status: 502, body: '' },
      { status: 200, body: PAGE },
    ];
    seen = [];
    const page = await list();
    assert.equal(page.objects.length, 1);
    assert.equal(seen.length, 2);
  });

  it('a store that cannot be reached: ServiceUnavailable with Retry-After', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failure(`http://127.0.0.1:${port}`);
    assert.equal(err.code, 'ServiceUnavailable');
    assert.equal(err.detail.headers?.['Retry-After'], '2');
  });

  it('a 200 that is not a listing: InternalError, never an empty listing', async () => {
    answers = [{ status: 200, body: '<html>a proxy page</html>' }];
    seen = [];
    const err = await failure();
    assert.equal(err.code, 'InternalError');
  });
});
