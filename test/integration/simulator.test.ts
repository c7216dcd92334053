/**
 * The rule simulator: `osprey rules explain` against a running server, and its admin endpoint.
 * It names the rule that fires and why earlier ones did not, prints the redirect or the origin
 * request, and contacts no origin.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/exec.ts';
import { ROOT, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('rule simulator', () => {
  let server: TestServer;
  let origin: http.Server;
  let originHits = 0;
  let originUrl = '';
  before(async () => {
    origin = http.createServer((_req, res) => {
      originHits++;
      res.end('origin body');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/base/`;
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/sim-bucket' })).status, 200);
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/sim-bucket/exists.txt', body: 'x' })).status, 200);
    const xml = `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules>
      <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>blog/</KeyPrefixEquals><IncludeHeader><Key>X-Beta</Key><Equals>1</Equals></IncludeHeader></Condition>
        <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>beta.example.com</HostName><HttpRedirectCode>307</HttpRedirectCode></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>img/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL><MirrorPassQueryString>true</MirrorPassQueryString>
          <MirrorHeaders><Pass>x-request-id</Pass><Set><Key>x-from</Key><Value>osprey</Value></Set></MirrorHeaders></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>3</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>External</RedirectType><Protocol>http</Protocol><HostName>old.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>
    </RoutingRules></WebsiteConfiguration>`;
    const r = await rawSigned(server.url, { method: 'PUT', path: '/sim-bucket', query: { website: '' }, body: xml });
    assert.equal(r.status, 200, r.body);
  });
  after(async () => {
    await server.close();
    origin.close();
  });

  const explain = (...args: string[]) =>
    run(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'rules', 'explain', '--endpoint', server.url, '--bucket', 'sim-bucket', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, OSPREY_ACCESS_KEY_ID: server.accessKeyId, OSPREY_SECRET_ACCESS_KEY: server.secretAccessKey },
      },
    );

  it('MAT-01 MAT-05 MIR-03 MIR-07 MIR-10 MIR-12 names the mirror rule, why rule 1 did not fire, and the origin request', async () => {
    const { stdout } = await explain(
      '--key',
      'img/cat 1.png',
      '--header',
      'X-Request-Id: abc',
      '--header',
      'Cookie: secret',
      '--query',
      'w=100&X-Amz-Signature=zzz',
    );
    assert.match(stdout, /rule 1: skipped: key does not start with 'blog\/'/);
    assert.match(stdout, /rule 2: FIRES/);
    assert.ok(stdout.includes(`GET ${originUrl}img/cat%201.png?w=100`), stdout);
    assert.match(stdout, /x-request-id: abc/);
    assert.match(stdout, /x-from: osprey/);
    assert.doesNotMatch(stdout, /cookie/i);
    assert.doesNotMatch(stdout, /X-Amz-Signature/);
    assert.equal(originHits, 0, 'the simulator never contacts the origin');
    const list = await rawSigned(server.url, { path: '/sim-bucket', query: { 'list-type': '2', prefix: 'img/' } });
    assert.match(list.body, /<KeyCount>0<\/KeyCount>/, 'nothing was stored');
  });

  it('MAT-05 MAT-07 RED-02 a header condition fires a pre-routing redirect; --json for scripts', async () => {
    const { stdout } = await explain('--key', 'blog/post', '--header', 'x-beta: 1', '--json');
    const j = JSON.parse(stdout) as { outcome: { kind: string; status: number; location: string; ruleNumber: number } };
    assert.deepEqual(j.outcome.kind, 'redirect');
    assert.equal(j.outcome.status, 307);
    assert.equal(j.outcome.location, 'https://beta.example.com/blog/post');
    assert.equal(j.outcome.ruleNumber, 1);
    const other = await explain('--key', 'blog/post', '--header', 'x-beta: 2');
    assert.match(other.stdout, /rule 1: skipped: header X-Beta is '2', not '1'/);
    assert.match(other.stdout, /rule 3: FIRES/);
  });

  it('MAT-10 an existing object is served; --status 404 asks as if it were missing', async () => {
    const a = await explain('--key', 'exists.txt');
    assert.match(a.stdout, /=> serve 'exists.txt' with status 200/);
    const b = await explain('--key', 'exists.txt', '--status', '404');
    assert.match(b.stdout, /=> redirect 302 Location: http:\/\/old.example.com\/exists.txt/);
  });

  it('API-01 API-02 API-03 osprey rules put / get / delete', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(process.env.TMPDIR ?? '/tmp', 'osprey-rules-')));
    const file = path.join(dir, 'rules.xml');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(file, '<WebsiteConfiguration><IndexDocument><Suffix>home.html</Suffix></IndexDocument></WebsiteConfiguration>'),
    );
    const cli = (...args: string[]) =>
      run(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'rules', ...args, '--endpoint', server.url, '--bucket', 'cli-rules'],
        {
          cwd: ROOT,
          env: { ...process.env, OSPREY_ACCESS_KEY_ID: server.accessKeyId, OSPREY_SECRET_ACCESS_KEY: server.secretAccessKey },
        },
      );
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/cli-rules' })).status, 200);
    await cli('put', '--file', file);
    assert.match((await cli('get')).stdout, /<Suffix>home.html<\/Suffix>/);
    await cli('delete');
    await assert.rejects(cli('get'), /NoSuchWebsiteConfiguration/);
    await assert.rejects(cli('put', '--file', path.join(dir, 'missing.xml')), /invalid setting 'file'/);
  });

  it('bad input: unknown bucket, wrong credentials, bad status', async () => {
    await assert.rejects(explain('--key', 'k', '--bucket', 'no-such-bucket'), /NoSuchBucket/);
    await assert.rejects(
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'src/main.ts'),
          'rules',
          'explain',
          '--endpoint',
          server.url,
          '--bucket',
          'sim-bucket',
          '--key',
          'k',
        ],
        {
          cwd: ROOT,
          env: { ...process.env, OSPREY_ACCESS_KEY_ID: server.accessKeyId, OSPREY_SECRET_ACCESS_KEY: 'wrong-secret-value' },
        },
      ),
      /SignatureDoesNotMatch/,
    );
    await assert.rejects(explain('--key', 'k', '--status', 'abc'), /invalid setting 'status'/);
    const anon = await fetch(`${server.url}/-/rules/explain`, { method: 'POST', body: '{}' });
    assert.equal(anon.status, 403);
  });
});
