/**
 * rclone (copy/sync/check) and s3cmd (put/get/ls/del) against a real server.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/exec.ts';
import { startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

describe('rclone and s3cmd', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startOsprey();
    dir = await tmpDir('osprey-clients-');
    const r = await rawSigned(server.url, { method: 'PUT', path: '/clients' });
    assert.equal(r.status, 200);
  });
  after(async () => {
    await server.close();
  });

  const rclone = (...args: string[]) => {
    // rclone rejects the AWS_CA_BUNDLE this environment sets (see notes/dependencies.md).
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, RCLONE_CONFIG: path.join(dir, 'rclone.conf') };
    delete env.AWS_CA_BUNDLE;
    return run(
      'rclone',
      [
        '--s3-provider',
        'Other',
        '--s3-endpoint',
        server.url,
        '--s3-force-path-style=true',
        '--s3-region',
        'us-east-1',
        '--s3-access-key-id',
        server.accessKeyId,
        '--s3-secret-access-key',
        server.secretAccessKey,
        ...args,
      ],
      { env },
    );
  };

  it('rclone copy, sync and check', async () => {
    const src = path.join(dir, 'rsrc');
    await mkdir(path.join(src, 'nested'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(path.join(src, `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
    await writeFile(path.join(src, 'nested', 'deep file é.txt'), 'deep');
    await rclone('copy', src, ':s3:clients/r');
    await rclone('check', src, ':s3:clients/r');
    await writeFile(path.join(src, 'f0.txt'), 'changed');
    await rclone('sync', src, ':s3:clients/r');
    await rclone('check', src, ':s3:clients/r');
    const back = path.join(dir, 'rback');
    await rclone('copy', ':s3:clients/r', back);
    assert.equal(await readFile(path.join(back, 'f0.txt'), 'utf8'), 'changed');
    assert.equal(await readFile(path.join(back, 'nested', 'deep file é.txt'), 'utf8'), 'deep');
    // check notices a difference
    await writeFile(path.join(src, 'f1.txt'), 'local only change');
    await assert.rejects(rclone('check', src, ':s3:clients/r'), /differences found|ERROR/);
  });

  it('s3cmd put, get, ls and del', async () => {
    const host = new URL(server.url).host;
    const cfg = path.join(dir, 's3cfg');
    await writeFile(
      cfg,
      `[default]\naccess_key = ${server.accessKeyId}\nsecret_key = ${server.secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\n`,
    );
    const s3cmd = (...args: string[]) =>
      run('s3cmd', ['-c', cfg, '--no-ssl', `--host=${host}`, `--host-bucket=${host}`, ...args], { env: { ...process.env, HOME: dir } });
    const file = path.join(dir, 'cmd.txt');
    await writeFile(file, 'from s3cmd\n');
    await s3cmd('put', file, 's3://clients/cmd/cmd.txt');
    const ls = await s3cmd('ls', 's3://clients/cmd/');
    assert.match(ls.stdout, /s3:\/\/clients\/cmd\/cmd\.txt/);
    const out = path.join(dir, 'cmd-back.txt');
    await s3cmd('get', 's3://clients/cmd/cmd.txt', out);
    assert.equal(await readFile(out, 'utf8'), 'from s3cmd\n');
    await s3cmd('del', 's3://clients/cmd/cmd.txt');
    const ls2 = await s3cmd('ls', 's3://clients/cmd/');
    assert.doesNotMatch(ls2.stdout, /cmd\.txt/);
    const buckets = await s3cmd('ls');
    assert.match(buckets.stdout, /s3:\/\/clients/);
  });
});
