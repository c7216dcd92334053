/**
 * Issue 15 defects 5 and 6 on the import side: the validators (ETag, Last-Modified) an import
 * records let `--check` tell a file changed at the origin at the same size, and `--update`
 * re-copy it in one atomic step (a reader never sees a partial object), never over what a client
 * wrote; the resume journal lives in the XDG state directory, not in the current directory.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyOf, contentFor, md5, runCli, spawnCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

const BIG = 6 * 1024 * 1024 + 11;

describe('osprey import --check --update, and the journal in the state directory', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  let dir: string;
  let state: string;
  let list: string;
  const common = () => ['--endpoint', server.url, '--bucket', 'site', '--origin', origin.url, '--keys', list, '--log-interval', '0'];
  const env = () => ({ XDG_STATE_HOME: state });

  before(async () => {
    origin = await startOrigin();
    origin.files.set('page.bin', {
      body: contentFor('page.bin', BIG),
      headers: { etag: '"page-v1"', 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT', 'content-type': 'application/octet-stream' },
    });
    origin.files.set('same.txt', { body: contentFor('same.txt', 900), headers: { etag: '"same-v1"' } });
    origin.files.set('user.txt', { body: contentFor('user.txt', 400), headers: { etag: '"user-v1"' } });
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site' }));
    dir = await tmpDir('osprey-import-update-');
    state = path.join(dir, 'xdg-state');
    list = path.join(dir, 'keys.txt');
    await writeFile(list, 'page.bin\nsame.txt\nuser.txt\n');
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it('the journal goes to $XDG_STATE_HOME/osprey/, named after source and target; none in the current directory', async () => {
    const r = await runCli(['import', ...common()], { cwd: dir, env: env() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /^state: (.+)$/m.exec(r.stdout);
    assert.ok(m?.[1], r.stdout);
    assert.equal(path.dirname(m[1]), path.join(state, 'osprey'));
    assert.match(path.basename(m[1]), /^import-site-[0-9a-f]{12}\.jsonl$/);
    assert.deepEqual(
      (await readdir(path.join(state, 'osprey'))).filter((f) => f.startsWith('import-')),
      [path.basename(m[1])],
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.jsonl')),
      [],
      'nothing written to the current directory',
    );
    // another source: another journal; the same arguments again: the same one
    const other = await runCli(['import', ...common().slice(0, -4), '--origin', `${origin.url}other/`, '--keys', list, '--dry-run'], {
      cwd: dir,
      env: env(),
    });
    assert.equal(other.code, 0, other.stdout + other.stderr);
    const again = await runCli(['import', ...common()], { cwd: dir, env: env() });
    assert.match(again.stderr, new RegExp(`resuming from ${m[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // without XDG_STATE_HOME: ~/.local/state/osprey
    const home = path.join(dir, 'home');
    const h = await runCli(['import', ...common()], { cwd: dir, env: { XDG_STATE_HOME: '', HOME: home } });
    assert.equal(h.code, 0, h.stdout + h.stderr);
    assert.equal(path.dirname(/^state: (.+)$/m.exec(h.stdout)?.[1] ?? ''), path.join(home, '.local', 'state', 'osprey'));
    // a journal an earlier version left in the current directory is still found
    const legacy = path.join(dir, `osprey-import-site-${/-([0-9a-f]{12})\.jsonl$/.exec(m[1])?.[1]}.state.jsonl`);
    await writeFile(legacy, await readFile(m[1]));
    const old = await runCli(['import', ...common()], { cwd: dir, env: { XDG_STATE_HOME: path.join(dir, 'fresh-state') } });
    assert.equal(old.code, 0, old.stdout + old.stderr);
    assert.match(
      old.stderr,
      /note: using the journal .*osprey-import-site-[0-9a-f]{12}\.state\.jsonl, which an earlier version wrote to the current directory/,
    );
    assert.match(old.stdout, /3 done in an earlier run/);
    // the recorded validators
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/site/page.bin' });
    assert.equal(head.headers['x-osprey-origin-etag'], '"page-v1"');
    assert.equal(head.headers['x-osprey-origin-last-modified'], 'Mon, 02 Nov 2026 10:00:00 GMT');
  });

  it('--check reports a same-size change at the origin; --update re-copies it atomically, never over a client write', async () => {
    const before = contentFor('page.bin', BIG);
    const after = Buffer.from(before).reverse();
    // slow, so the re-copy takes a while with readers on the key
    origin.files.set('page.bin', {
      body: after,
      pieceDelayMs: 40,
      headers: { etag: '"page-v2"', 'last-modified': 'Tue, 03 Nov 2026 10:00:00 GMT', 'content-type': 'application/octet-stream' },
    });
    // a client replaced user.txt in Osprey; the origin's copy changed too: the client's write stays
    await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'user.txt', Body: 'written by a client' }));
    origin.files.set('user.txt', { body: contentFor('user.txt', 401), headers: { etag: '"user-v2"' } });

    const check = await runCli(['import', ...common(), '--check'], { cwd: dir, env: env() });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /failed: page.bin: .*changed at the origin.*ETag is now "page-v2".*"page-v1".*not overwritten/);
    assert.equal(md5(await bodyOf(client, 'site', 'page.bin')), md5(before));

    const hitsBefore = origin.hits.get('page.bin') ?? 0;
    const cli = spawnCli(['import', ...common(), '--update'], { cwd: dir, env: env() });
    let ended = false;
    void cli.exited.then(() => (ended = true));
    const seen = new Map<string, number>();
    const okSums = new Set([md5(before), md5(after)]);
    while (!ended) {
      const g = await client.send(new GetObjectCommand({ Bucket: 'site', Key: 'page.bin' }));
      const body = Buffer.from(await (g.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      const sum = md5(body);
      assert.ok(okSums.has(sum), `a reader saw ${body.length} bytes that are neither the old nor the new object`);
      seen.set(sum, (seen.get(sum) ?? 0) + 1);
    }
    const r = await cli.exited;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /1 updated/);
    assert.match(r.stdout, /failed: user.txt: .*not written by an import or a mirror fill.*not overwritten/);
    assert.ok((seen.get(md5(before)) ?? 0) > 0, 'readers ran while the copy was under way');
    assert.equal(origin.hits.get('page.bin'), hitsBefore + 1, 'one GET: the re-copy');
    assert.equal(md5(await bodyOf(client, 'site', 'page.bin')), md5(after));
    assert.equal((await bodyOf(client, 'site', 'user.txt')).toString(), 'written by a client');
    const head = await rawSigned(server.url, { method: 'HEAD', path: '/site/page.bin' });
    assert.equal(head.headers['x-osprey-origin-etag'], '"page-v2"');
    assert.match(String(head.headers['x-oss-tag']), /^MIRROR /);

    // a second rescan finds nothing to do (the journal of a --check run never skips a key)
    const hits = origin.hits.get('page.bin');
    const third = await runCli(['import', ...common(), '--update'], { cwd: dir, env: env() });
    assert.match(third.stdout, /0 updated/);
    assert.equal(origin.hits.get('page.bin'), hits);
  });
});
