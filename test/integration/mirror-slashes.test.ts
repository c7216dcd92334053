/**
 * MIR-06 MirrorPassOriginalSlashes end to end: the S11 example (`///examplefolder/example.txt`
 * with prefix examplefolder/ replaced by destfolder/) reaches the origin with its slashes when the
 * flag is on and collapsed when it is off; either way the object is stored under the key without
 * leading slashes, and later GETs (slashed or not) are served locally.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, untilStored } from '../helpers/raw.ts';

function website(originUrl: string, slashes: boolean): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
    <Condition><KeyPrefixEquals>examplefolder/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
    <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL><EnableReplacePrefix>true</EnableReplacePrefix>
      <ReplaceKeyPrefixWith>destfolder/</ReplaceKeyPrefixWith><MirrorPassOriginalSlashes>${slashes}</MirrorPassOriginalSlashes></Redirect>
  </RoutingRule></RoutingRules></WebsiteConfiguration>`;
}

describe('MIR-06 MirrorPassOriginalSlashes', () => {
  let server: TestServer;
  let origin: http.Server;
  const asked: string[] = [];
  before(async () => {
    origin = http.createServer((req, res) => {
      // the request-target exactly as sent (new URL() would read '//x' as a host)
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`origin ${req.url ?? ''}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    server = await startOsprey();
    for (const [bucket, slashes] of [
      ['keep', true],
      ['collapse', false],
    ] as const) {
      assert.equal(
        (await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-acl': 'public-read' } })).status,
        200,
      );
      const r = await rawSigned(server.url, {
        method: 'PUT',
        path: `/${bucket}`,
        query: { website: '' },
        body: website(originUrl, slashes),
      });
      assert.equal(r.status, 200, r.body);
    }
  });
  after(async () => {
    await server.close();
    origin.close();
  });

  it('S11 example with the flag: the origin sees ///destfolder/example.txt; stored as examplefolder/example.txt', async () => {
    const r = await fetch(`${server.url}/keep///examplefolder/example.txt`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'origin ///destfolder/example.txt');
    assert.deepEqual(asked, ['///destfolder/example.txt']);
    await untilStored(server.url, '/keep/examplefolder/example.txt');
    assert.equal((await rawSigned(server.url, { path: '/keep/examplefolder/example.txt' })).body, 'origin ///destfolder/example.txt');
    // MIR-02: the next GETs, slashed or not, are served locally
    assert.equal(await (await fetch(`${server.url}/keep///examplefolder/example.txt`)).text(), 'origin ///destfolder/example.txt');
    assert.equal(await (await fetch(`${server.url}/keep/examplefolder/example.txt`)).text(), 'origin ///destfolder/example.txt');
    assert.equal(asked.length, 1);
    const list = await rawSigned(server.url, { path: '/keep', query: { 'list-type': '2' } });
    assert.match(list.body, /<Key>examplefolder\/example.txt<\/Key>/);
    assert.match(list.body, /<KeyCount>1<\/KeyCount>/);
  });

  it('without the flag the slashes collapse: the origin sees /destfolder/a/b.txt', async () => {
    asked.length = 0;
    const r = await fetch(`${server.url}/collapse///examplefolder/a//b.txt`);
    assert.equal(await r.text(), 'origin /destfolder/a/b.txt');
    assert.deepEqual(asked, ['/destfolder/a/b.txt']);
    await untilStored(server.url, '/collapse/examplefolder/a//b.txt');
    // the stored key is the requested one without its leading slashes (inner ones are part of it)
    assert.equal((await rawSigned(server.url, { path: '/collapse/examplefolder/a//b.txt' })).body, 'origin /destfolder/a/b.txt');
  });

  it('an object stored under a slashed key (S3 allows it) is served as it is, no mirroring', async () => {
    asked.length = 0;
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/keep//examplefolder/own.txt', body: 'uploaded with a leading slash' })).status,
      200,
    );
    const r = await fetch(`${server.url}/keep//examplefolder/own.txt`);
    assert.equal(await r.text(), 'uploaded with a leading slash');
    assert.deepEqual(asked, []);
  });
});
