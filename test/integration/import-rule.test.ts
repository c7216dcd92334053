/**
 * `osprey import --from-rule N`: the origin, key mapping (EnableReplacePrefix), MirrorHeaders Set
 * and MirrorSaveOssMeta of the bucket's own Mirror rule, so an imported object is what a mirror
 * fill through that rule stores; rules that cannot be imported from are refused up front.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyOf, contentFor, keysIn, md5, runCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('osprey import --from-rule', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  let dir: string;
  const keys: string[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.require = ['x-origin-token', 'let-me-in'];
    for (let i = 0; i < 20; i++) {
      const key = `assets/${i}.css`;
      keys.push(key);
      origin.files.set(`v2/files/${i}.css`, {
        body: contentFor(key, 300 + i),
        headers: { 'content-type': 'text/css', 'x-oss-meta-team': `t${i}`, 'content-language': 'en' },
      });
    }
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site', ACL: 'public-read' }));
    const website = `<WebsiteConfiguration><RoutingRules>
      <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition>
        <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>example.com</HostName></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>2</RuleNumber>
        <Condition><KeyPrefixEquals>assets/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}v2/</MirrorURL>
          <EnableReplacePrefix>true</EnableReplacePrefix><ReplaceKeyPrefixWith>files/</ReplaceKeyPrefixWith>
          <MirrorSaveOssMeta>true</MirrorSaveOssMeta>
          <MirrorHeaders><Set><Key>X-Origin-Token</Key><Value>let-me-in</Value></Set></MirrorHeaders></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>3</RuleNumber>
        <Condition><KeyPrefixEquals>private/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
        <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL>
          <MirrorAuth><AccessKeyId>AKID</AccessKeyId><AccessKeySecret>shh-secret</AccessKeySecret><AuthType>s3v4</AuthType></MirrorAuth></Redirect></RoutingRule>
    </RoutingRules></WebsiteConfiguration>`;
    const r = await rawSigned(server.url, { method: 'PUT', path: '/site', query: { website: '' }, body: website });
    assert.equal(r.status, 200, r.body);
    dir = await tmpDir('osprey-rule-');
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it("fetches through the rule's mapping and headers and stores what its mirror fill stores", async () => {
    // one key the mirror fills first, for comparison; the import then skips it
    const mirrored = await fetch(`${server.url}/site/assets/0.css`);
    assert.equal(mirrored.status, 200);
    await mirrored.arrayBuffer();
    for (let i = 0; i < 50 && (await rawSigned(server.url, { method: 'HEAD', path: '/site/assets/0.css' })).status !== 200; i++)
      await new Promise((res) => setTimeout(res, 100));
    const list = path.join(dir, 'keys.txt');
    await writeFile(list, `${keys.join('\n')}\n`);
    const r = await runCli(
      ['import', '--endpoint', server.url, '--bucket', 'site', '--from-rule', '2', '--keys', list, '--log-interval', '0'],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /19 copied .*, 1 skipped/);
    assert.equal(origin.seen.get('v2/files/5.css')?.['x-origin-token'], 'let-me-in');
    assert.deepEqual((await keysIn(client, 'site')).sort(), [...keys].sort());
    assert.equal(md5(await bodyOf(client, 'site', 'assets/5.css')), md5(contentFor('assets/5.css', 305)));
    const a = await rawSigned(server.url, { method: 'HEAD', path: '/site/assets/0.css' });
    const b = await rawSigned(server.url, { method: 'HEAD', path: '/site/assets/5.css' });
    assert.equal(a.headers['x-oss-tag'], `MIRROR ${origin.url}v2/files/0.css`);
    assert.equal(b.headers['x-oss-tag'], `MIRROR ${origin.url}v2/files/5.css`);
    for (const h of ['content-type', 'content-language']) assert.equal(b.headers[h], a.headers[h], h);
    assert.equal(a.headers['x-amz-meta-team'], 't0');
    assert.equal(b.headers['x-amz-meta-team'], 't5');
  });

  it('refuses rules it cannot import from, and keys the rule would never fetch', async () => {
    const list = path.join(dir, 'mixed.txt');
    await writeFile(list, 'assets/1.css\nother/x.css\n');
    const good = path.join(dir, 'good.txt');
    await writeFile(good, 'assets/1.css\n');
    const priv = path.join(dir, 'private.txt');
    await writeFile(priv, 'private/a.txt\n');
    const base = ['import', '--endpoint', server.url, '--bucket', 'site', '--log-interval', '0'];
    const cases: [string[], RegExp][] = [
      [[...base, '--from-rule', '1', '--keys', good], /rule 1 is not a Mirror rule \(RedirectType External\)/],
      [[...base, '--from-rule', '9', '--keys', good], /has no rule 9 \(it has 1, 2, 3\)/],
      [[...base, '--from-rule', '2', '--keys', list], /1 key\(s\) do not match rule 2's KeyPrefixEquals 'assets\/'.*'other\/x.css'/],
      [[...base, '--from-rule', '3', '--keys', priv], /rule 3 signs origin requests \(MirrorAuth\).*--origin-secret-access-key/],
      [[...base, '--from-rule', 'two', '--keys', good], /invalid setting 'from-rule'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { cwd: dir })));
    for (const [i, [args, re]] of cases.entries()) {
      const r = results[i];
      assert.ok(r);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
