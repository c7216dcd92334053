/**
 * Bucket CORS end to end: Put/Get/DeleteBucketCors through the AWS SDK (S3 dialect) and ali-oss
 * (OSS dialect), validation errors, the preflight (answered before authentication), and the
 * Access-Control-* headers on every kind of answer: objects, errors, website redirects and error
 * documents, and mirrored objects (with the origin's own Access-Control-Allow-Origin, MIR-26).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import OSS from 'ali-oss';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored, xmlField } from '../helpers/raw.ts';

const APP = 'http://app.test';
const RULES = `<CORSConfiguration>
  <CORSRule><ID>app</ID><AllowedOrigin>http://*.test</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-meta-owner</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
</CORSConfiguration>`;

async function mkBucket(server: TestServer, name: string, acl = 'public-read'): Promise<void> {
  const r = await rawSigned(server.url, { method: 'PUT', path: `/${name}`, headers: { 'x-amz-acl': acl } });
  assert.equal(r.status, 200, r.body);
}

async function putCors(server: TestServer, bucket: string, xml: string): Promise<void> {
  const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { cors: '' }, body: xml });
  assert.equal(r.status, 200, r.body);
}

function anon(server: TestServer, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return rawSigned(server.url, { method, path, headers, anonymous: true, ...(body !== undefined && { body }) });
}

describe('bucket CORS', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
  });
  after(async () => {
    await server.close();
  });

  it('Put/Get/DeleteBucketCors with the AWS SDK: none, set, read back, deleted', async () => {
    const client = s3(server);
    await mkBucket(server, 'sdk-cors', 'private');
    await assert.rejects(
      client.send(new GetBucketCorsCommand({ Bucket: 'sdk-cors' })),
      (e: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        e.name === 'NoSuchCORSConfiguration' && e.$metadata?.httpStatusCode === 404,
    );
    const rules = [
      {
        ID: 'one',
        AllowedOrigins: ['https://*.example.com'],
        AllowedMethods: ['GET', 'PUT'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 3000,
      },
      { AllowedOrigins: ['*'], AllowedMethods: ['HEAD'] },
    ];
    await client.send(new PutBucketCorsCommand({ Bucket: 'sdk-cors', CORSConfiguration: { CORSRules: rules } }));
    const got = await client.send(new GetBucketCorsCommand({ Bucket: 'sdk-cors' }));
    assert.deepEqual(got.CORSRules, rules);
    await client.send(new DeleteBucketCorsCommand({ Bucket: 'sdk-cors' }));
    await assert.rejects(
      client.send(new GetBucketCorsCommand({ Bucket: 'sdk-cors' })),
      (e: { name?: string }) => e.name === 'NoSuchCORSConfiguration',
    );
    await assert.rejects(
      client.send(new PutBucketCorsCommand({ Bucket: 'no-such-cors-bucket', CORSConfiguration: { CORSRules: rules } })),
      (e: { name?: string }) => e.name === 'NoSuchBucket',
    );
  });

  it('refuses bad configurations with S3 errors and keeps the one it had', async () => {
    await mkBucket(server, 'bad-cors', 'private');
    await putCors(server, 'bad-cors', RULES);
    const rule = (inner: string) => `<CORSConfiguration><CORSRule>${inner}</CORSRule></CORSConfiguration>`;
    const cases: [string, string, number, string][] = [
      ['not XML', '<CORSConfiguration><CORSRule>', 400, 'MalformedXML'],
      ['no rule', '<CORSConfiguration/>', 400, 'MalformedXML'],
      ['no AllowedOrigin', rule('<AllowedMethod>GET</AllowedMethod>'), 400, 'MalformedXML'],
      ['an unsupported method', rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'), 400, 'InvalidRequest'],
      ['two wildcards', rule('<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'), 400, 'InvalidRequest'],
      [
        '101 rules',
        `<CORSConfiguration>${'<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>'.repeat(101)}</CORSConfiguration>`,
        400,
        'InvalidArgument',
      ],
      [
        'over 64 KB',
        rule(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>${'<ExposeHeader>x-pad</ExposeHeader>'.repeat(2000)}`),
        400,
        'MalformedXML',
      ],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await rawSigned(server.url, { method: 'PUT', path: '/bad-cors', query: { cors: '' }, body });
      assert.equal(r.status, status, `${what}: ${r.body}`);
      assert.equal(xmlField(r.body, 'Code'), code, what);
    }
    const md5 = await rawSigned(server.url, {
      method: 'PUT',
      path: '/bad-cors',
      query: { cors: '' },
      body: RULES,
      headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    assert.equal(xmlField(md5.body, 'Code'), 'InvalidDigest');
    const kept = await rawSigned(server.url, { path: '/bad-cors', query: { cors: '' } });
    assert.equal(kept.status, 200);
    assert.equal(xmlField(kept.body, 'ID'), 'app');
    const anonymous = await anon(server, 'GET', '/bad-cors?cors');
    assert.equal(anonymous.status, 403, "GetBucketCors is the owner's");
  });

  it('the OSS dialect through ali-oss (10 rules at most), and ResponseVary', async () => {
    await mkBucket(server, 'oss-cors', 'public-read');
    const client = new OSS({
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.secretAccessKey,
      region: 'oss-cn-hangzhou',
      bucket: 'oss-cors',
      endpoint: `http://localhost:${server.port}`,
      secure: false,
      ...({ sldEnable: true } as object),
    } as OSS.Options);
    const rule = {
      allowedOrigin: [APP],
      allowedMethod: ['GET', 'PUT'],
      allowedHeader: 'x-oss-meta-*',
      exposeHeader: 'x-oss-request-id',
      maxAgeSeconds: '30',
    };
    await client.putBucketCORS('oss-cors', [rule]);
    const got = await client.getBucketCORS('oss-cors');
    assert.deepEqual(got.rules, [
      {
        allowedOrigin: APP,
        allowedMethod: ['GET', 'PUT'],
        allowedHeader: 'x-oss-meta-*',
        exposeHeader: 'x-oss-request-id',
        maxAgeSeconds: '30',
      },
    ]);
    await assert.rejects(
      client.putBucketCORS(
        'oss-cors',
        Array.from({ length: 11 }, () => rule),
      ),
      (e: { status?: number; code?: string }) => e.status === 400 && e.code === 'InvalidArgument',
    );
    const raw = await rawSigned(server.url, { path: '/oss-cors', query: { cors: '' } });
    assert.match(raw.body, /<ResponseVary>false<\/ResponseVary>/);
    // no ResponseVary: no Vary at all, even for a cross-origin request
    const plain = await anon(server, 'GET', '/oss-cors', { origin: APP });
    assert.equal(plain.headers['access-control-allow-origin'], APP);
    assert.equal(plain.headers.vary, undefined);
    await putCors(
      server,
      'oss-cors',
      `<CORSConfiguration><CORSRule><AllowedOrigin>${APP}</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule><ResponseVary>true</ResponseVary></CORSConfiguration>`,
    );
    const vary = await anon(server, 'GET', '/oss-cors');
    assert.equal(vary.headers.vary, 'Origin', 'ResponseVary=true: Vary: Origin without an Origin too');
    assert.equal(vary.headers['access-control-allow-origin'], undefined);
    await client.deleteBucketCORS('oss-cors');
    await assert.rejects(
      client.getBucketCORS('oss-cors'),
      (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'NoSuchCORSConfiguration',
    );
  });

  describe('preflight (OPTIONS) and the headers of answers', () => {
    before(async () => {
      await mkBucket(server, 'site', 'public-read');
      const put = await rawSigned(server.url, {
        method: 'PUT',
        path: '/site/a.txt',
        body: 'hello',
        headers: { 'content-type': 'text/plain', 'x-amz-meta-owner': 'ops' },
      });
      assert.equal(put.status, 200);
      await mkBucket(server, 'bare', 'public-read');
    });

    it('OPTIONS without Origin is 400, before and after a configuration; without a method 400; no configuration 403', async () => {
      assert.equal((await anon(server, 'OPTIONS', '/bare/a.txt')).status, 400);
      assert.equal(xmlField((await anon(server, 'OPTIONS', '/bare')).body, 'Code'), 'BadRequest');
      const none = await anon(server, 'OPTIONS', '/bare/a.txt', { origin: APP, 'access-control-request-method': 'GET' });
      assert.equal(none.status, 403);
      assert.equal(xmlField(none.body, 'Code'), 'AccessForbidden');
      assert.equal(none.headers['access-control-allow-origin'], undefined);
      await putCors(server, 'site', RULES);
      assert.equal((await anon(server, 'OPTIONS', '/site/a.txt')).status, 400);
      assert.equal((await anon(server, 'OPTIONS', '/site/a.txt', { origin: APP })).status, 400);
      assert.equal(
        (await anon(server, 'OPTIONS', '/no-such-bucket/a.txt', { origin: APP, 'access-control-request-method': 'GET' })).status,
        404,
      );
    });

    it("an allowed preflight gets 200 with the rule's headers, without any credentials", async () => {
      const r = await anon(server, 'OPTIONS', '/site/new.txt?X-Amz-Signature=not-checked', {
        origin: APP,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'Content-Type, x-amz-meta-owner',
      });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['access-control-allow-origin'], APP);
      assert.equal(r.headers['access-control-allow-credentials'], 'true');
      assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, PUT');
      assert.equal(r.headers['access-control-allow-headers'], 'content-type, x-amz-meta-owner');
      assert.equal(r.headers['access-control-expose-headers'], 'ETag, x-amz-meta-owner');
      assert.equal(r.headers['access-control-max-age'], '600');
      assert.equal(r.headers.vary, 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
      // the second rule: any origin, GET only, no headers
      const any = await anon(server, 'OPTIONS', '/site', { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' });
      assert.equal(any.status, 200);
      assert.equal(any.headers['access-control-allow-origin'], '*');
      assert.equal(any.headers['access-control-allow-credentials'], undefined);
    });

    it('a preflight no rule allows (origin, method, or one requested header) is 403 without CORS headers', async () => {
      const refused: Record<string, string>[] = [
        { origin: 'https://elsewhere.example', 'access-control-request-method': 'PUT' },
        { origin: APP, 'access-control-request-method': 'DELETE' },
        { origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, x-custom' },
        { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-amz-meta-a' },
      ];
      for (const h of refused) {
        const r = await anon(server, 'OPTIONS', '/site/a.txt', h);
        assert.equal(r.status, 403, JSON.stringify(h));
        assert.equal(xmlField(r.body, 'Code'), 'AccessForbidden');
        assert.equal(r.headers['access-control-allow-origin'], undefined);
      }
    });

    it('GET, HEAD and signed PUT answers carry the headers of the matching rule; others only Vary', async () => {
      const get = await anon(server, 'GET', '/site/a.txt', { origin: APP });
      assert.equal(get.status, 200);
      assert.equal(get.body, 'hello');
      assert.equal(get.headers['access-control-allow-origin'], APP);
      assert.equal(get.headers['access-control-allow-methods'], 'GET, HEAD, PUT');
      assert.equal(get.headers['access-control-expose-headers'], 'ETag, x-amz-meta-owner');
      assert.equal(get.headers.vary, 'Origin');
      const head = await anon(server, 'HEAD', '/site/a.txt', { origin: 'https://x.example' });
      assert.equal(head.headers['access-control-allow-origin'], undefined, 'HEAD is allowed only for http://*.test');
      assert.equal(head.headers.vary, 'Origin');
      const put = await rawSigned(server.url, { method: 'PUT', path: '/site/b.txt', body: 'b', headers: { origin: APP } });
      assert.equal(put.status, 200);
      assert.equal(put.headers['access-control-allow-origin'], APP);
      const list = await anon(server, 'GET', '/site', { origin: 'https://x.example' });
      assert.equal(list.headers['access-control-allow-origin'], '*');
      const noOrigin = await anon(server, 'GET', '/site/a.txt');
      assert.equal(noOrigin.headers['access-control-allow-origin'], undefined);
      assert.equal(noOrigin.headers.vary, 'Origin', 'a shared cache must not hand this answer to a cross-origin fetch');
      const bare = await anon(server, 'GET', '/bare/a.txt', { origin: APP });
      assert.equal(bare.headers.vary, undefined, 'no configuration, no CORS headers');
    });

    it('errors carry them too: 404 NoSuchKey, an anonymous PUT refused with 403', async () => {
      const missing = await anon(server, 'GET', '/site/missing.txt', { origin: APP });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['access-control-allow-origin'], APP);
      const refused = await anon(server, 'PUT', '/site/c.txt', { origin: APP }, 'c');
      assert.equal(refused.status, 403);
      assert.equal(refused.headers['access-control-allow-origin'], APP);
      assert.equal(refused.headers['access-control-allow-methods'], 'GET, HEAD, PUT');
    });

    it('website redirects and error documents carry them', async () => {
      await mkBucket(server, 'web', 'public-read');
      await putCors(server, 'web', RULES);
      assert.equal(
        (
          await rawSigned(server.url, {
            method: 'PUT',
            path: '/web/404.html',
            body: '<p>not here</p>',
            headers: { 'content-type': 'text/html' },
          })
        ).status,
        200,
      );
      const website = `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><ErrorDocument><Key>404.html</Key></ErrorDocument>
        <RoutingRules><RoutingRule><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><HostName>new.example</HostName><HttpRedirectCode>301</HttpRedirectCode></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      const w = await rawSigned(server.url, { method: 'PUT', path: '/web', query: { website: '' }, body: website });
      assert.equal(w.status, 200, w.body);
      const moved = await anon(server, 'GET', '/web/old/page.html', { origin: APP });
      assert.equal(moved.status, 301);
      assert.equal(moved.headers['access-control-allow-origin'], APP);
      const doc = await anon(server, 'GET', '/web/nothing.html', { origin: APP });
      assert.equal(doc.status, 404);
      assert.equal(doc.body, '<p>not here</p>');
      assert.equal(doc.headers['access-control-allow-origin'], APP);
    });
  });

  describe("mirrored objects and the origin's own Access-Control-Allow-Origin (MIR-26)", () => {
    let origin: http.Server;
    let originUrl = '';
    before(async () => {
      origin = http.createServer((req, res) => {
        if ((req.url ?? '').endsWith('/missing')) {
          res.writeHead(404);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': 'https://from-origin.example' });
        res.end(`origin ${req.url ?? ''}`);
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/files/`;
      for (const b of ['mirror-plain', 'mirror-cors']) {
        await mkBucket(server, b, 'public-read');
        const w = await rawSigned(server.url, {
          method: 'PUT',
          path: `/${b}`,
          query: { website: '' },
          body: `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
            <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`,
        });
        assert.equal(w.status, 200, w.body);
      }
      await putCors(
        server,
        'mirror-cors',
        `<CORSConfiguration><CORSRule><AllowedOrigin>${APP}</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
      );
    });
    after(() => {
      origin.close();
    });

    it("without a bucket configuration the origin's header is passed through, on the fill and from storage", async () => {
      const fill = await anon(server, 'GET', '/mirror-plain/x.txt', { origin: APP });
      assert.equal(fill.status, 200);
      assert.equal(fill.headers['access-control-allow-origin'], 'https://from-origin.example');
      await untilStored(server.url, '/mirror-plain/x.txt');
      const stored = await anon(server, 'GET', '/mirror-plain/x.txt', { origin: APP });
      assert.equal(stored.headers['access-control-allow-origin'], 'https://from-origin.example');
    });

    it("with one the bucket's rules decide alone: the matching origin gets the rule's headers, any other none", async () => {
      const fill = await anon(server, 'GET', '/mirror-cors/y.txt', { origin: APP });
      assert.equal(fill.status, 200);
      assert.equal(fill.body, 'origin /files/y.txt');
      assert.equal(fill.headers['access-control-allow-origin'], APP);
      await untilStored(server.url, '/mirror-cors/y.txt');
      const stored = await anon(server, 'GET', '/mirror-cors/y.txt', { origin: APP });
      assert.equal(stored.headers['access-control-allow-origin'], APP);
      const other = await anon(server, 'GET', '/mirror-cors/y.txt', { origin: 'https://from-origin.example' });
      assert.equal(other.status, 200);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const notFound = await anon(server, 'GET', '/mirror-cors/missing', { origin: APP });
      assert.equal(notFound.status, 404);
      assert.equal(notFound.headers['access-control-allow-origin'], APP);
    });
  });
});
