/**
 * Debian's awscli v2 (/usr/bin/aws; the `aws` in PATH may be another one): s3 cp/ls/sync/rm and
 * s3api calls against a real server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/exec.ts';
import { startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

const AWS = '/usr/bin/aws';

describe('aws CLI (Debian awscli v2)', () => {
  let server: TestServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const aws = (...args: string[]) => run(AWS, ['--endpoint-url', server.url, '--region', 'us-east-1', '--no-cli-pager', ...args], { env });

  before(async () => {
    server = await startOsprey();
    dir = await tmpDir('osprey-awscli-');
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  });
  after(async () => {
    await server.close();
  });

  it('mb, cp up and down (incl. a multipart-sized file), ls, rm, rb', async () => {
    await aws('s3', 'mb', 's3://cli-bucket');
    const small = path.join(dir, 'small.txt');
    await writeFile(small, 'small file\n');
    const big = path.join(dir, 'big.bin');
    const bigData = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < bigData.length; i += 4096) bigData.writeUInt32LE(i, i);
    await writeFile(big, bigData);
    await aws('s3', 'cp', small, 's3://cli-bucket/docs/small.txt');
    await aws('s3', 'cp', big, 's3://cli-bucket/big.bin'); // > 8 MiB: the CLI uses multipart
    const ls = await aws('s3', 'ls', 's3://cli-bucket/', '--recursive');
    assert.match(ls.stdout, /docs\/small\.txt/);
    assert.match(ls.stdout, /20971520 big\.bin/);
    const down = path.join(dir, 'down.bin');
    await aws('s3', 'cp', 's3://cli-bucket/big.bin', down);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    assert.equal(md5(await readFile(down)), md5(bigData));
    await aws('s3', 'rm', 's3://cli-bucket/docs/small.txt');
    const ls2 = await aws('s3', 'ls', 's3://cli-bucket/', '--recursive');
    assert.doesNotMatch(ls2.stdout, /small\.txt/);
  });

  it('sync uploads only what changed and --delete removes the rest', async () => {
    const src = path.join(dir, 'site');
    await mkdir(path.join(src, 'img'), { recursive: true });
    await writeFile(path.join(src, 'index.html'), '<h1>hi</h1>');
    await writeFile(path.join(src, 'img', 'a.png'), 'png-bytes');
    const first = await aws('s3', 'sync', src, 's3://cli-bucket/site');
    assert.match(first.stdout, /upload: .*index\.html/);
    const again = await aws('s3', 'sync', src, 's3://cli-bucket/site');
    assert.equal(again.stdout.trim(), '');
    await writeFile(path.join(src, 'index.html'), '<h1>changed</h1>');
    const third = await aws('s3', 'sync', src, 's3://cli-bucket/site', '--delete');
    assert.match(third.stdout, /upload: .*index\.html/);
    const back = path.join(dir, 'back');
    await aws('s3', 'sync', 's3://cli-bucket/site', back);
    assert.equal(await readFile(path.join(back, 'index.html'), 'utf8'), '<h1>changed</h1>');
    assert.equal(await readFile(path.join(back, 'img', 'a.png'), 'utf8'), 'png-bytes');
  });

  it('s3api: put-object with metadata, head-object, list-objects-v2, get-bucket-acl, delete-objects', async () => {
    const file = path.join(dir, 'meta.txt');
    await writeFile(file, 'with meta');
    await aws(
      's3api',
      'put-object',
      '--bucket',
      'cli-bucket',
      '--key',
      'meta.txt',
      '--body',
      file,
      '--content-type',
      'text/plain',
      '--metadata',
      'owner=ops',
    );
    const head = JSON.parse((await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'meta.txt')).stdout) as {
      ContentType: string;
      Metadata: Record<string, string>;
      ContentLength: number;
    };
    assert.equal(head.ContentType, 'text/plain');
    assert.deepEqual(head.Metadata, { owner: 'ops' });
    assert.equal(head.ContentLength, 9);
    const list = JSON.parse(
      (await aws('s3api', 'list-objects-v2', '--bucket', 'cli-bucket', '--prefix', 'site/', '--delimiter', '/')).stdout,
    ) as { CommonPrefixes: { Prefix: string }[]; Contents: { Key: string }[] };
    assert.deepEqual(
      list.CommonPrefixes.map((p) => p.Prefix),
      ['site/img/'],
    );
    assert.deepEqual(
      list.Contents.map((c) => c.Key),
      ['site/index.html'],
    );
    await aws('s3api', 'put-bucket-acl', '--bucket', 'cli-bucket', '--acl', 'public-read');
    const acl = JSON.parse((await aws('s3api', 'get-bucket-acl', '--bucket', 'cli-bucket')).stdout) as { Grants: { Permission: string }[] };
    assert.deepEqual(acl.Grants.map((g) => g.Permission).sort(), ['FULL_CONTROL', 'READ']);
    // object ACLs (issue 17; before, put-object-acl replaced the object with 0 bytes, issue 15)
    await aws('s3api', 'put-object-acl', '--bucket', 'cli-bucket', '--key', 'meta.txt', '--acl', 'public-read');
    const objAcl = JSON.parse((await aws('s3api', 'get-object-acl', '--bucket', 'cli-bucket', '--key', 'meta.txt')).stdout) as {
      Grants: { Permission: string; Grantee: { URI?: string } }[];
    };
    assert.deepEqual(
      objAcl.Grants.map((g) => [g.Grantee.URI ?? 'owner', g.Permission]),
      [
        ['http://acs.amazonaws.com/groups/global/AllUsers', 'READ'],
        ['owner', 'FULL_CONTROL'],
      ],
    );
    assert.equal(
      (JSON.parse((await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'meta.txt')).stdout) as { ContentLength: number })
        .ContentLength,
      9,
    );
    const del = JSON.parse(
      (
        await aws(
          's3api',
          'delete-objects',
          '--bucket',
          'cli-bucket',
          '--delete',
          JSON.stringify({ Objects: [{ Key: 'meta.txt' }, { Key: 'big.bin' }] }),
        )
      ).stdout,
    ) as { Deleted: { Key: string }[] };
    assert.deepEqual(del.Deleted.map((d) => d.Key).sort(), ['big.bin', 'meta.txt']);
    await assert.rejects(aws('s3', 'rb', 's3://cli-bucket'), /BucketNotEmpty/);
    await aws('s3', 'rb', 's3://cli-bucket', '--force');
    const buckets = await aws('s3', 'ls');
    assert.doesNotMatch(buckets.stdout, /cli-bucket/);
  });
});
