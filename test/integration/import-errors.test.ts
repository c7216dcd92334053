/**
 * `osprey import` when things go wrong: failures reported with their reason (exit 1), objects in
 * the bucket never overwritten (--check finds the ones that differ), --dry-run writing nothing, bad
 * input refused with one clear line and exit 2 before anything is written, and the origin marker
 * only an owner can set.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyOf, contentFor, keysIn, md5, runCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('osprey import: failures, --check, --dry-run, bad input', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  let dir: string;
  const common = () => ['--endpoint', server.url, '--bucket', 'site', '--origin', origin.url, '--log-interval', '0'];

  before(async () => {
    origin = await startOrigin();
    const keys: string[] = [];
    for (let i = 0; i < 10; i++) {
      const key = `docs/${String(i).padStart(5, '0')}.txt`;
      keys.push(key);
      origin.files.set(key, { body: contentFor(key, 100 + i), headers: { 'content-type': 'text/plain' } });
    }
    origin.files.set('broken.txt', { body: Buffer.from('never'), fail: { status: 503 } });
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site' }));
    dir = await tmpDir('osprey-import-');
    const list = path.join(dir, 'keys.txt');
    await writeFile(list, `${keys.join('\n')}\n`);
    const r = await runCli(['import', ...common(), '--keys', list], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it('failures are reported with their reason and the exit code is 1; present objects are skipped without a fetch', async () => {
    const list = path.join(dir, 'bad-keys.txt');
    await writeFile(list, 'broken.txt\ngone.txt\ndocs/00001.txt\n');
    const report = path.join(dir, 'failures.json');
    const before = origin.hits.get('docs/00001.txt');
    const r = await runCli(['import', ...common(), '--keys', list, '--retries', '1', '--report', report], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /0 copied.*1 skipped.*2 failed/);
    const rep = JSON.parse(await readFile(report, 'utf8')) as { failures: { key: string; reason: string; attempts: number }[] };
    const byKey = new Map(rep.failures.map((f) => [f.key, f]));
    assert.match(byKey.get('broken.txt')?.reason ?? '', /503/);
    assert.equal(byKey.get('broken.txt')?.attempts, 2);
    assert.match(byKey.get('gone.txt')?.reason ?? '', /404/);
    assert.equal(byKey.get('gone.txt')?.attempts, 1, 'a 404 is not retried');
    assert.equal(origin.hits.get('docs/00001.txt'), before);
    assert.ok(!(await keysIn(client, 'site')).includes('broken.txt'));
  });

  it('an origin that stalls or crawls: the attempt times out, is retried, fails with the reason; nothing is stored', async () => {
    origin.files.set('stall.bin', { body: contentFor('stall.bin', 1024 * 1024), stallAfter: 300 * 1024 });
    origin.files.set('crawl.bin', { body: contentFor('crawl.bin', 3 * 1024 * 1024), pieceDelayMs: 300 });
    const list = path.join(dir, 'slow-keys.txt');
    await writeFile(list, 'stall.bin\ncrawl.bin\n');
    const report = path.join(dir, 'slow.json');
    const r = await runCli(
      ['import', ...common(), '--keys', list, '--retries', '1', '--timeout', '1000', '--object-timeout', '2000', '--report', report],
      { cwd: dir },
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const rep = JSON.parse(await readFile(report, 'utf8')) as { failures: { key: string; reason: string; attempts: number }[] };
    const byKey = new Map(rep.failures.map((f) => [f.key, f]));
    assert.match(byKey.get('stall.bin')?.reason ?? '', /the body stopped arriving|timed out/);
    assert.equal(byKey.get('stall.bin')?.attempts, 2);
    assert.match(byKey.get('crawl.bin')?.reason ?? '', /timed out after 2000 ms/);
    assert.equal(origin.hits.get('crawl.bin'), 2);
    const present = await keysIn(client, 'site');
    assert.ok(!present.includes('stall.bin') && !present.includes('crawl.bin'), present.join(' '));
  });

  it('--check finds an object in the bucket that differs from the source and never overwrites it', async () => {
    const key = 'docs/00002.txt';
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: key, Body: 'written by a user' }));
    origin.files.set(key, {
      body: Buffer.from('xritten by a user'),
      headers: { 'content-md5': Buffer.from(md5('xritten by a user'), 'hex').toString('base64') },
    });
    const list = path.join(dir, 'check-keys.txt');
    await writeFile(list, `${key}\ndocs/00003.txt\n`);
    const r = await runCli(['import', ...common(), '--keys', list, '--check', '--state', path.join(dir, 'check.state.jsonl')], {
      cwd: dir,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /1 skipped/);
    assert.match(r.stdout, /failed: docs\/00002.txt: .*different content.*not overwritten/);
    assert.equal((await bodyOf(client, 'site', key)).toString(), 'written by a user');
  });

  it('--dry-run lists what would be copied and writes nothing (keys from stdin, CRLF)', async () => {
    origin.files.set('new/x.txt', { body: Buffer.from('new file') });
    // the key list from stdin this time
    const r = await runCli(['import', ...common(), '--keys', '-', '--dry-run'], { cwd: dir, stdin: 'new/x.txt\r\ndocs/00004.txt\r\n' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^copy new\/x.txt$/m);
    assert.doesNotMatch(r.stdout, /^copy docs\/00004.txt$/m);
    assert.match(r.stdout, /1 would be copied, 1 already in the bucket/);
    assert.equal(origin.hits.get('new/x.txt'), undefined);
    assert.ok(!(await keysIn(client, 'site')).includes('new/x.txt'));
  });

  it('bad input: a clear message, exit code 2, nothing written', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'empty' }));
    const base = ['--endpoint', server.url, '--bucket', 'empty', '--origin', origin.url];
    const bad = path.join(dir, 'bad-list.txt');
    await writeFile(bad, 'docs/00001.txt\n\ndocs/00002.txt\na/../b\ndocs/00001.txt\n');
    const good = path.join(dir, 'good-list.txt');
    await writeFile(good, 'docs/00001.txt\n');
    const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
      [
        [...base, '--keys', bad],
        /1 blank line\(s\): line 2.*1 invalid key\(s\): line 4 'a\/\.\.\/b'.*1 duplicate key\(s\): line 5 repeats line 1/,
      ],
      [
        ['--endpoint', server.url, '--bucket', 'nosuchbucket', '--origin', origin.url, '--keys', good],
        /the bucket 'nosuchbucket' does not exist/,
      ],
      [
        [...base, '--keys', good],
        /refused the credentials: SignatureDoesNotMatch/,
        { OSPREY_SECRET_ACCESS_KEY: 'wrong-secret-wrong-secret' },
      ],
      [
        ['--endpoint', server.url, '--bucket', 'empty', '--origin', 'http://127.0.0.1:9/site/', '--keys', good],
        /the origin cannot be reached \(http:\/\/127.0.0.1:9: the connection was refused\)/,
      ],
      [
        ['--endpoint', 'http://127.0.0.1:9', '--bucket', 'empty', '--origin', origin.url, '--keys', good],
        /cannot reach http:\/\/127.0.0.1:9/,
      ],
      [[...base.slice(0, 4), '--origin', `${origin.url}x`, '--keys', good], /must end with '\/'/],
    ];
    const results = await Promise.all(cases.map(([args, , env]) => runCli(['import', ...args], { cwd: dir, ...(env && { env }) })));
    for (const [i, [args, re]] of cases.entries()) {
      const r = results[i];
      assert.ok(r);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(await keysIn(client, 'empty'), []);
  });

  it('only an owner may set the origin marker; CompleteMultipartUpload honours If-None-Match: *', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'open', ACL: 'public-read-write' }));
    const anon = await fetch(`${server.url}/open/x.txt`, {
      method: 'PUT',
      body: 'x',
      headers: { 'x-osprey-mirror-source': 'http://evil.example/x.txt' },
    });
    assert.equal(anon.status, 403);
    const plainAnon = await fetch(`${server.url}/open/y.txt`, { method: 'PUT', body: 'y' });
    assert.equal(plainAnon.status, 200);
    const owner = await rawSigned(server.url, {
      method: 'PUT',
      path: '/open/z.txt',
      body: 'z',
      headers: { 'x-osprey-mirror-source': 'http://o.example/a%20b.txt' },
    });
    assert.equal(owner.status, 200);
    assert.equal(
      (await rawSigned(server.url, { method: 'HEAD', path: '/open/z.txt' })).headers['x-oss-tag'],
      'MIRROR http://o.example/a b.txt',
    );
    assert.equal(
      (await rawSigned(server.url, { method: 'PUT', path: '/open/w.txt', body: 'w', headers: { 'x-osprey-mirror-source': 'not a url' } }))
        .status,
      400,
    );
    const up = await client.send(new CreateMultipartUploadCommand({ Bucket: 'open', Key: 'y.txt' }));
    const part = await client.send(
      new UploadPartCommand({ Bucket: 'open', Key: 'y.txt', UploadId: up.UploadId, PartNumber: 1, Body: 'replacement' }),
    );
    await assert.rejects(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'open',
          Key: 'y.txt',
          UploadId: up.UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      ),
      (err: Error) => err.name === 'PreconditionFailed',
    );
    assert.equal((await bodyOf(client, 'open', 'y.txt')).toString(), 'y');
  });
});
