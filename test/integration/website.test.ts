/**
 * Back-to-origin rules and the static website end to end: configuration through the AWS SDK v3
 * and the aws CLI (S3 dialect) and raw OSS-dialect XML, then serving through plain HTTP and curl.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketWebsiteCommand,
  GetBucketWebsiteCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/exec.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

/** DEAD_PORT: a loopback port nothing listens on (found in `before`), the origin that cannot be reached: no DNS needed */
const OSS_RULES_TEMPLATE = `<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir><Type>0</Type></IndexDocument>
  <ErrorDocument><Key>error.html</Key><HttpStatus>404</HttpStatus></ErrorDocument>
  <RoutingRules>
    <RoutingRule>
      <RuleNumber>1</RuleNumber>
      <Condition><KeyPrefixEquals>hidden/</KeyPrefixEquals></Condition>
      <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>www.example.com</HostName><ReplaceKeyWith>notice.html?from=\${key}</ReplaceKeyWith><HttpRedirectCode>302</HttpRedirectCode></Redirect>
    </RoutingRule>
    <RoutingRule>
      <RuleNumber>2</RuleNumber>
      <Condition><KeyPrefixEquals>old/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>External</RedirectType><Protocol>http</Protocol><HostName>legacy.example.com</HostName><ReplaceKeyPrefixWith>archive/</ReplaceKeyPrefixWith><PassQueryString>true</PassQueryString><HttpRedirectCode>301</HttpRedirectCode></Redirect>
    </RoutingRule>
    <RoutingRule>
      <RuleNumber>3</RuleNumber>
      <Condition><KeySuffixEquals>.jpg</KeySuffixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Internal</RedirectType><ReplaceKeyWith>img/placeholder.jpg</ReplaceKeyWith></Redirect>
    </RoutingRule>
    <RoutingRule>
      <RuleNumber>4</RuleNumber>
      <Condition><KeyPrefixEquals>mirror/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://127.0.0.1:DEAD_PORT/</MirrorURL></Redirect>
    </RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`;

/** a port that was free a moment ago: bound by the kernel, then released */
async function deadPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('website configuration and serving', () => {
  let server: TestServer;
  let client: S3Client;
  let OSS_RULES: string;
  before(async () => {
    OSS_RULES = OSS_RULES_TEMPLATE.replace('DEAD_PORT', String(await deadPort()));
    server = await startOsprey({ bindDomains: { 'www.site.test': 'site-bucket' } });
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site-bucket', ACL: 'public-read' }));
    const put = (Key: string, Body: string) =>
      client.send(new PutObjectCommand({ Bucket: 'site-bucket', Key, Body, ContentType: 'text/html' }));
    await put('index.html', 'root index');
    await put('docs/index.html', 'docs index');
    await put('error.html', 'custom 404 page');
    await put('img/placeholder.jpg', 'placeholder');
    await put('hidden/secret.txt', 'exists but hidden');
    await put('page.html', 'a page');
  });
  after(async () => {
    client.destroy();
    await server.close();
  });

  it('API-02 API-04 GET before PUT: NoSuchWebsiteConfiguration; missing bucket: NoSuchBucket', async () => {
    await assert.rejects(
      client.send(new GetBucketWebsiteCommand({ Bucket: 'site-bucket' })),
      (e: unknown) => e instanceof S3ServiceException && e.name === 'NoSuchWebsiteConfiguration',
    );
    await assert.rejects(
      client.send(new GetBucketWebsiteCommand({ Bucket: 'no-such-site' })),
      (e: unknown) => e instanceof S3ServiceException && e.name === 'NoSuchBucket',
    );
  });

  it('API-01 API-05 XML-05 an OSS-dialect configuration is stored and read back canonically', async () => {
    const md5 = createHash('md5').update(OSS_RULES).digest('base64');
    const bad = await rawSigned(server.url, {
      method: 'PUT',
      path: '/site-bucket',
      query: { website: '' },
      body: OSS_RULES,
      headers: { 'content-md5': Buffer.alloc(16).toString('base64') },
    });
    assert.equal(bad.status, 400);
    assert.equal(xmlField(bad.body, 'Code'), 'InvalidDigest');
    const r = await rawSigned(server.url, {
      method: 'PUT',
      path: '/site-bucket',
      query: { website: '' },
      body: OSS_RULES,
      headers: { 'content-md5': md5, 'content-type': 'application/xml' },
    });
    assert.equal(r.status, 200, r.body);
    const got = await rawSigned(server.url, { path: '/site-bucket', query: { website: '' } });
    assert.equal(got.status, 200);
    assert.match(got.body, /<RuleNumber>4<\/RuleNumber>/);
    assert.match(got.body, /<MirrorFollowRedirect>true<\/MirrorFollowRedirect>/); // GET-01 default filled in
    assert.match(got.body, /<SupportSubDir>true<\/SupportSubDir>/);
  });

  it('RED-02 RED-03 MAT-07 a pre-routing External rule redirects even though the object exists', async () => {
    const r = await fetch(`${server.url}/site-bucket/hidden/secret.txt`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), 'https://www.example.com/notice.html?from=hidden/secret.txt');
    assert.equal(await r.text(), '');
  });

  it('RED-01 RED-06 an error-routing rule sends a missing key to the old site with its query string', async () => {
    const r = await fetch(`${server.url}/site-bucket/old/a/b.html?x=1&y=2`, { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), 'http://legacy.example.com/archive/a/b.html?x=1&y=2');
  });

  it('MAT-10 an existing object is served as is; RED-08 Internal serves another key', async () => {
    const page = await fetch(`${server.url}/site-bucket/page.html`);
    assert.equal(await page.text(), 'a page');
    const r = await fetch(`${server.url}/site-bucket/photos/missing.jpg`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'placeholder');
  });

  it('WEB-01 WEB-02 WEB-03 WEB-04 index documents, directory redirect and the error document', async () => {
    const root = await fetch(`${server.url}/site-bucket/`);
    assert.equal(await root.text(), 'root index');
    const docs = await fetch(`${server.url}/site-bucket/docs/`);
    assert.equal(await docs.text(), 'docs index');
    const dir = await fetch(`${server.url}/site-bucket/docs`, { redirect: 'manual' });
    assert.equal(dir.status, 302);
    assert.equal(dir.headers.get('location'), '/site-bucket/docs/');
    const missing = await fetch(`${server.url}/site-bucket/nothing-here.html`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'custom 404 page');
  });

  it('WEB-06 signed requests still see plain NoSuchKey and the listing', async () => {
    const r = await rawSigned(server.url, { path: '/site-bucket/nothing-here.html' });
    assert.equal(r.status, 404);
    assert.equal(xmlField(r.body, 'Code'), 'NoSuchKey');
    const list = await rawSigned(server.url, { path: '/site-bucket' });
    assert.match(list.body, /<ListBucketResult/);
  });

  it('WEB-06 a bound domain serves the bucket as a website (curl -L follows the directory redirect)', async () => {
    const port = server.port;
    const { stdout } = await run('curl', [
      '-s',
      '-L',
      '--max-redirs',
      '5',
      '--resolve',
      `www.site.test:${port}:127.0.0.1`,
      `http://www.site.test:${port}/docs`,
    ]);
    assert.equal(stdout, 'docs index');
    const nf = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--resolve',
      `www.site.test:${port}:127.0.0.1`,
      `http://www.site.test:${port}/nope`,
    ]);
    assert.equal(nf.stdout, '404');
  });

  it('MIR-16 a Mirror rule whose origin cannot be reached answers 424 MirrorFailed', async () => {
    const r = await fetch(`${server.url}/site-bucket/mirror/x.bin`);
    assert.equal(r.status, 424);
    const body = await r.text();
    assert.equal(xmlField(body, 'Code'), 'MirrorFailed');
    assert.match(xmlField(body, 'Message') ?? '', /Mirroring failed, please check your mirror configuration/);
  });

  it('XML-05 the S3 dialect through the AWS SDK round-trips, RED-09 defaults apply', async () => {
    await client.send(
      new PutBucketWebsiteCommand({
        Bucket: 'site-bucket',
        WebsiteConfiguration: {
          IndexDocument: { Suffix: 'index.html' },
          ErrorDocument: { Key: 'error.html' },
          RoutingRules: [{ Condition: { KeyPrefixEquals: 'docs/old/' }, Redirect: { ReplaceKeyPrefixWith: 'docs/new/' } }],
        },
      }),
    );
    const got = await client.send(new GetBucketWebsiteCommand({ Bucket: 'site-bucket' }));
    assert.equal(got.IndexDocument?.Suffix, 'index.html');
    assert.equal(got.RoutingRules?.[0]?.Redirect?.ReplaceKeyPrefixWith, 'docs/new/');
    assert.equal(got.RoutingRules?.[0]?.Condition?.KeyPrefixEquals, 'docs/old/');
    const raw = await rawSigned(server.url, { path: '/site-bucket', query: { website: '' } });
    assert.doesNotMatch(raw.body, /RuleNumber|RedirectType/);
    const r = await fetch(`${server.url}/site-bucket/docs/old/x.html`, {
      redirect: 'manual',
      headers: { host: `127.0.0.1:${server.port}` },
    });
    assert.equal(r.status, 301);
    // path style: the bucket stays in the path (issue 18)
    assert.equal(r.headers.get('location'), `http://127.0.0.1:${server.port}/site-bucket/docs/new/x.html`);
  });

  it('the aws CLI s3api put-bucket-website / get / delete', async () => {
    const dir = await tmpDir('osprey-web-');
    const file = path.join(dir, 'website.json');
    await writeFile(
      file,
      JSON.stringify({
        IndexDocument: { Suffix: 'index.html' },
        RoutingRules: [
          { Condition: { HttpErrorCodeReturnedEquals: '404' }, Redirect: { HostName: 'fallback.example.com', HttpRedirectCode: '302' } },
        ],
      }),
    );
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const aws = (...args: string[]) => run('/usr/bin/aws', ['--endpoint-url', server.url, '--region', 'us-east-1', ...args], { env });
    await aws('s3api', 'put-bucket-website', '--bucket', 'site-bucket', '--website-configuration', `file://${file}`);
    const got = JSON.parse((await aws('s3api', 'get-bucket-website', '--bucket', 'site-bucket')).stdout) as {
      RoutingRules: { Redirect: { HostName: string } }[];
    };
    assert.equal(got.RoutingRules[0]?.Redirect.HostName, 'fallback.example.com');
    const r = await fetch(`${server.url}/site-bucket/gone.html`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), 'http://fallback.example.com/gone.html');
    await aws('s3api', 'delete-bucket-website', '--bucket', 'site-bucket');
    await aws('s3api', 'delete-bucket-website', '--bucket', 'site-bucket'); // API-03 idempotent
    await assert.rejects(aws('s3api', 'get-bucket-website', '--bucket', 'site-bucket'), /NoSuchWebsiteConfiguration/);
  });

  it('deleting the bucket deletes its rules', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    await client.send(
      new PutBucketWebsiteCommand({ Bucket: 'short-lived', WebsiteConfiguration: { IndexDocument: { Suffix: 'i.html' } } }),
    );
    await client.send(new DeleteBucketWebsiteCommand({ Bucket: 'short-lived' }));
    await client.send(
      new PutBucketWebsiteCommand({ Bucket: 'short-lived', WebsiteConfiguration: { IndexDocument: { Suffix: 'i.html' } } }),
    );
    await client.send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
    await client.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    await assert.rejects(
      client.send(new GetBucketWebsiteCommand({ Bucket: 'short-lived' })),
      (e: unknown) => e instanceof S3ServiceException && e.name === 'NoSuchWebsiteConfiguration',
    );
  });
});
