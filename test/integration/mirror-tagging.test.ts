/**
 * MIR-30 MirrorTaggings: a mirrored object carries the rule's tags, which a real client reads with
 * GetObjectTagging (AWS SDK v3) and sees counted in x-amz-tagging-count on GET/HEAD.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { signRequestOssV1 } from '../../src/auth/oss-v1.ts';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored, xmlField } from '../helpers/raw.ts';

const TAGS = [
  { Key: 'source', Value: 'mirror' },
  { Key: 'team', Value: 'web site' },
  { Key: 'odd&key=', Value: 'a/b?c=d&e' },
];
const taggings = (tags: { Key: string; Value: string }[]) =>
  `<MirrorTaggings>${tags.map((t) => `<Taggings><Key>${t.Key.replace(/&/g, '&amp;')}</Key><Value>${t.Value.replace(/&/g, '&amp;')}</Value></Taggings>`).join('')}</MirrorTaggings>`;

function website(originUrl: string, more = ''): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL>${more}</Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

describe('MIR-30 MirrorTaggings', () => {
  let server: TestServer;
  let client: S3Client;
  let origin: http.Server;
  let originUrl = '';
  const asked: string[] = [];
  before(async () => {
    origin = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`origin ${req.url ?? ''}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    server = await startOsprey();
    client = s3(server);
    for (const [bucket, more] of [
      ['tagged', taggings(TAGS)],
      ['untagged', ''],
    ] as const) {
      assert.equal(
        (await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: website(originUrl, more) });
      assert.equal(r.status, 200, r.body);
    }
  });
  after(async () => {
    client.destroy();
    await server.close();
    origin.close();
  });

  it("the mirrored object has the rule's tags: GetObjectTagging, x-amz-tagging-count on the first and later responses", async () => {
    const first = await fetch(`${server.url}/tagged/a.txt`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'origin /a.txt');
    assert.equal(first.headers.get('x-amz-tagging-count'), '3');
    assert.equal(first.headers.get('x-osprey-tagging'), null, 'the stored tag set is never a response header');
    await untilStored(server.url, '/tagged/a.txt');
    const tagging = await client.send(new GetObjectTaggingCommand({ Bucket: 'tagged', Key: 'a.txt' }));
    assert.deepEqual(tagging.TagSet, TAGS);
    const got = await client.send(new GetObjectCommand({ Bucket: 'tagged', Key: 'a.txt' }));
    assert.equal(got.TagCount, 3);
    assert.equal(await got.Body?.transformToString(), 'origin /a.txt');
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/tagged/a.txt' });
    assert.equal(head.headers['x-amz-tagging-count'], '3');
    assert.equal(head.headers['x-osprey-tagging'], undefined);
  });

  it('an OSS-signed HEAD sees x-oss-tagging-count', async () => {
    const url = new URL(`${server.url}/tagged/a.txt`);
    const headers = signRequestOssV1(
      { method: 'HEAD', url: url.pathname, headers: { host: url.host }, bucket: 'tagged', key: 'a.txt' },
      { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    );
    const r = await fetch(url, { method: 'HEAD', headers });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-oss-tagging-count'), '3');
    assert.equal(r.headers.get('x-amz-tagging-count'), null);
  });

  it('objects from a rule without MirrorTaggings, and uploaded ones, have no tags', async () => {
    const r = await fetch(`${server.url}/untagged/b.txt`);
    assert.equal(await r.text(), 'origin /b.txt');
    assert.equal(r.headers.get('x-amz-tagging-count'), null);
    await untilStored(server.url, '/untagged/b.txt');
    assert.deepEqual((await client.send(new GetObjectTaggingCommand({ Bucket: 'untagged', Key: 'b.txt' }))).TagSet ?? [], []);
    await client.send(new PutObjectCommand({ Bucket: 'tagged', Key: 'uploaded.txt', Body: 'mine' }));
    assert.deepEqual((await client.send(new GetObjectTaggingCommand({ Bucket: 'tagged', Key: 'uploaded.txt' }))).TagSet ?? [], []);
    assert.equal((await client.send(new GetObjectCommand({ Bucket: 'tagged', Key: 'uploaded.txt' }))).TagCount, undefined);
  });

  it('[decision] CopyObject with COPY keeps the tags, with REPLACE drops them', async () => {
    await client.send(new CopyObjectCommand({ Bucket: 'tagged', Key: 'copy.txt', CopySource: 'tagged/a.txt' }));
    assert.deepEqual((await client.send(new GetObjectTaggingCommand({ Bucket: 'tagged', Key: 'copy.txt' }))).TagSet, TAGS);
    await client.send(
      new CopyObjectCommand({
        Bucket: 'tagged',
        Key: 'replaced.txt',
        CopySource: 'tagged/a.txt',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
      }),
    );
    assert.deepEqual((await client.send(new GetObjectTaggingCommand({ Bucket: 'tagged', Key: 'replaced.txt' }))).TagSet ?? [], []);
  });

  it('GetObjectTagging of a missing key is NoSuchKey (and does not mirror); PutObjectTagging is 501 and leaves the object alone', async () => {
    const missing = await rawSigned(server.url, { path: '/tagged/never.txt', query: { tagging: '' } });
    assert.equal(missing.status, 404);
    assert.equal(xmlField(missing.body, 'Code'), 'NoSuchKey');
    assert.ok(!asked.includes('/never.txt'), 'a sub-resource request never mirrors (MAT-09)');
    await assert.rejects(
      client.send(new PutObjectTaggingCommand({ Bucket: 'tagged', Key: 'a.txt', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } })),
      (e: Error) => e.name === 'NotImplemented',
    );
    const still = await client.send(new GetObjectCommand({ Bucket: 'tagged', Key: 'a.txt' }));
    assert.equal(await still.Body?.transformToString(), 'origin /a.txt');
  });

  it('PUT ?website refuses tag sets S3 could not store: 11 tags, a repeated key, a 129-character key', async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    for (const [tags, why] of [
      [many, /at most 10 tags/],
      [
        [
          { Key: 'a', Value: '1' },
          { Key: 'a', Value: '2' },
        ],
        /appears twice/,
      ],
      [[{ Key: 'x'.repeat(129), Value: '' }], /longer than 128/],
    ] as const) {
      const r = await rawSigned(server.url, {
        method: 'PUT',
        path: '/untagged',
        query: { website: '' },
        body: website(originUrl, taggings([...tags])),
      });
      assert.equal(r.status, 400);
      assert.equal(xmlField(r.body, 'Code'), 'InvalidArgument');
      assert.match(xmlField(r.body, 'Message') ?? '', why);
    }
  });
});
