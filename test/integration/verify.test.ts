/**
 * `osprey verify` against an HTTP origin and a key list: parity after an import, then a missing, a
 * truncated and a changed object. Without --deep the origin gives no MD5, so the same-size change
 * is only caught where the origin sends Content-MD5; --deep hashes both sides and catches it.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentFor, md5, runCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

describe('osprey verify (HTTP origin)', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  let dir: string;
  let list: string;
  const keys: string[] = [];
  const base = () => ['verify', '--endpoint', server.url, '--bucket', 'site', '--origin', origin.url, '--keys', list, '--log-interval', '0'];

  before(async () => {
    origin = await startOrigin();
    for (let i = 0; i < 40; i++) {
      const key = `f/${i}.txt`;
      keys.push(key);
      const body = contentFor(key, 1000 + i);
      // every fifth file's origin vouches for its content with Content-MD5
      origin.files.set(key, { body, headers: i % 5 === 0 ? { 'content-md5': Buffer.from(md5(body), 'hex').toString('base64') } : {} });
    }
    // no Content-Length at all (chunked): verify reads it to learn its size
    keys.push('f/chunked.txt');
    origin.files.set('f/chunked.txt', { body: contentFor('f/chunked.txt', 3000), chunked: true });
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site' }));
    dir = await tmpDir('osprey-verify-');
    list = path.join(dir, 'keys.txt');
    await writeFile(list, `${keys.join('\n')}\n`);
    const r = await runCli(['import', '--endpoint', server.url, '--bucket', 'site', '--origin', origin.url, '--keys', list], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it('parity right after the import', async () => {
    const r = await runCli(base(), { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /41 checked, 41 at parity \(100%\), 0 missing, 0 size mismatch, 0 content mismatch, 0 errors/);
    assert.match(r.stdout, /content compared for 9 by MD5\/ETag; size only for 32 \(no MD5 on one side: use --deep/);
  });

  it('catches a missing, a truncated and a changed object; --deep catches a change the sizes hide', async () => {
    const flip = (key: string) => {
      const b = Buffer.from(origin.files.get(key)?.body ?? Buffer.alloc(0));
      b[0] = (b[0] ?? 0) ^ 1;
      return b;
    };
    await client.send(new DeleteObjectCommand({ Bucket: 'site', Key: 'f/1.txt' }));
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'f/2.txt', Body: origin.files.get('f/2.txt')?.body.subarray(0, 500) }));
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'f/5.txt', Body: flip('f/5.txt') })); // origin sends Content-MD5
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'f/7.txt', Body: flip('f/7.txt') })); // origin sends no MD5
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'f/chunked.txt', Body: origin.files.get('f/chunked.txt')?.body.subarray(1) })); // origin sends no length
    const report = path.join(dir, 'r.json');
    const quick = await runCli([...base(), '--report', report], { cwd: dir });
    assert.equal(quick.code, 1, quick.stdout + quick.stderr);
    assert.match(quick.stdout, /1 missing, 2 size mismatch, 1 content mismatch, 0 errors/);
    assert.match(quick.stdout, /^ {2}size-mismatch: f\/chunked.txt: the bucket has 2999 bytes, the source 3000$/m);
    assert.match(quick.stdout, /^ {2}missing: f\/1.txt: not in the bucket$/m);
    assert.match(quick.stdout, /^ {2}size-mismatch: f\/2.txt: the bucket has 500 bytes, the source 1002$/m);
    assert.match(quick.stdout, /^ {2}content-mismatch: f\/5.txt: MD5: bucket /m);
    const rep = JSON.parse(await readFile(report, 'utf8')) as { parity: boolean; summary: { sizeOnly: number }; problems: { key: string; problem: string }[] };
    assert.equal(rep.parity, false);
    assert.equal(rep.problems.length, 4);

    const deep = await runCli([...base(), '--deep'], { cwd: dir });
    assert.equal(deep.code, 1, deep.stdout + deep.stderr);
    assert.match(deep.stdout, /1 missing, 2 size mismatch, 2 content mismatch, 0 errors/);
    assert.match(deep.stdout, /content-mismatch: f\/7.txt: MD5 of the bytes/);
    assert.match(deep.stdout, /parity: NO/);
  });
});
