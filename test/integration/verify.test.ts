/**
 * `osprey verify` against an HTTP origin and a key list: parity after an import, then a missing, a
 * truncated and a changed object. Without --deep the origin gives no MD5 and no validator, so a
 * same-size change in the bucket is only caught where the origin sends Content-MD5; --deep hashes
 * both sides and catches it. Then (issue 15) every key off parity named, and a same-size change at
 * the origin caught from the validators recorded at import.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentFor, getHits, md5, runCli, startOrigin } from '../helpers/migrate.ts';
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
  const base = () => [
    'verify',
    '--endpoint',
    server.url,
    '--bucket',
    'site',
    '--origin',
    origin.url,
    '--keys',
    list,
    '--log-interval',
    '0',
  ];

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
    assert.match(
      r.stdout,
      /41 checked, 41 at parity \(100%\), 0 missing, 0 size mismatch, 0 content mismatch, 0 changed at the origin, 0 errors/,
    );
    assert.match(
      r.stdout,
      /content compared for 9 by MD5\/ETag; unchanged at the origin by ETag\/Last-Modified for 0; size only for 32\n {2}size only: 32 without a validator from the origin; --deep hashes/,
    );
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
    await client.send(
      new PutObjectCommand({ Bucket: 'site', Key: 'f/chunked.txt', Body: origin.files.get('f/chunked.txt')?.body.subarray(1) }),
    ); // origin sends no length
    const report = path.join(dir, 'r.json');
    const quick = await runCli([...base(), '--report', report], { cwd: dir });
    assert.equal(quick.code, 1, quick.stdout + quick.stderr);
    assert.match(quick.stdout, /1 missing, 2 size mismatch, 1 content mismatch, 0 changed at the origin, 0 errors/);
    assert.match(quick.stdout, /^ {2}size-mismatch: f\/chunked.txt: the bucket has 2999 bytes, the source 3000$/m);
    assert.match(quick.stdout, /^ {2}missing: f\/1.txt: not in the bucket$/m);
    assert.match(quick.stdout, /^ {2}size-mismatch: f\/2.txt: the bucket has 500 bytes, the source 1002$/m);
    assert.match(quick.stdout, /^ {2}content-mismatch: f\/5.txt: MD5: bucket /m);
    const rep = JSON.parse(await readFile(report, 'utf8')) as {
      parity: boolean;
      summary: { sizeOnly: number };
      problems: { key: string; problem: string }[];
    };
    assert.equal(rep.parity, false);
    assert.equal(rep.problems.length, 4);

    const deep = await runCli([...base(), '--deep'], { cwd: dir });
    assert.equal(deep.code, 1, deep.stdout + deep.stderr);
    assert.match(deep.stdout, /1 missing, 2 size mismatch, 2 content mismatch, 0 changed at the origin, 0 errors/);
    assert.match(deep.stdout, /content-mismatch: f\/7.txt: MD5 of the bytes/);
    assert.match(deep.stdout, /parity: NO/);
  });
});

/**
 * Issue 15 defect 5: every key off parity is named (all in the report, which is written to the
 * state directory when --report is not given; the first --list on the terminal and how many
 * more), and a file changed at the origin at the same size is caught from the validators recorded
 * at import (ETag, Last-Modified) with a HEAD of the origin: no GET.
 */
describe('osprey verify: every key off parity named; origin changes caught from validators', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  let dir: string;
  let state: string;
  let list: string;
  const keys: string[] = [];
  const base = () => [
    'verify',
    '--endpoint',
    server.url,
    '--bucket',
    'site',
    '--origin',
    origin.url,
    '--keys',
    list,
    '--log-interval',
    '0',
  ];
  const env = () => ({ XDG_STATE_HOME: state });

  before(async () => {
    origin = await startOrigin();
    for (let i = 0; i < 30; i++) {
      const key = `v/${String(i).padStart(2, '0')}.txt`;
      keys.push(key);
      // an ETag and a Last-Modified, as a web server sends: no MD5 anywhere
      origin.files.set(key, {
        body: contentFor(key, 500 + i),
        headers: { etag: `"${i}-v1"`, 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT' },
      });
    }
    // an origin that gives only a Last-Modified, and one that gives no validator at all
    keys.push('v/lm-only.txt', 'v/none.txt');
    origin.files.set('v/lm-only.txt', {
      body: contentFor('v/lm-only.txt', 700),
      headers: { 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT' },
    });
    origin.files.set('v/none.txt', { body: contentFor('v/none.txt', 800) });
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'site' }));
    dir = await tmpDir('osprey-verify-names-');
    state = path.join(dir, 'state');
    list = path.join(dir, 'keys.txt');
    await writeFile(list, `${keys.join('\n')}\n`);
    const r = await runCli(
      ['import', '--endpoint', server.url, '--bucket', 'site', '--origin', origin.url, '--keys', list, '--log-interval', '0'],
      { cwd: dir, env: env() },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    client.destroy();
    await server.close();
    await origin.close();
  });

  it('at parity by the validators recorded at import, without a GET; says which keys had no validator', async () => {
    origin.hits.clear();
    const r = await runCli(base(), { cwd: dir, env: env() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /32 checked, 32 at parity/);
    assert.match(r.stdout, /unchanged at the origin by ETag\/Last-Modified for 31/);
    assert.match(r.stdout, /size only: 1 without a validator from the origin;/);
    assert.equal(getHits(origin), 0, 'no GET of the origin');
    // the report says it too
    const rep = JSON.parse(await readFile(/^report: (.+)$/m.exec(r.stdout)?.[1] ?? '', 'utf8')) as {
      notes: string[];
      summary: { validated: number; noOriginValidator: number };
    };
    assert.equal(rep.summary.validated, 31);
    assert.equal(rep.summary.noOriginValidator, 1);
    assert.match(rep.notes.join('\n'), /size only: 1 without a validator from the origin/);
  });

  it('names all 25 keys off parity: 20 on the terminal and how many more, every one in the report (in the state dir by default)', async () => {
    const gone = keys.slice(0, 25);
    for (const key of gone) await client.send(new DeleteObjectCommand({ Bucket: 'site', Key: key }));
    const r = await runCli(base(), { cwd: dir, env: env() });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/^ {2}missing: /gm)?.length, 20, r.stdout);
    assert.match(r.stdout, /^ {2}… and 5 more \(all in the report\)$/m);
    const m = /^report: (.+)$/m.exec(r.stdout);
    assert.ok(m?.[1], r.stdout);
    assert.ok(m[1].startsWith(path.join(state, 'osprey') + path.sep), m[1]);
    const rep = JSON.parse(await readFile(m[1], 'utf8')) as {
      failures: { key: string; problem: string }[];
      problems: { key: string }[];
      summary: { failed: number };
    };
    assert.deepEqual(rep.failures.map((f) => f.key).sort(), gone);
    assert.ok(rep.failures.every((f) => f.problem === 'missing'));
    assert.deepEqual(rep.problems, rep.failures, 'the old name stays in the JSON');
    assert.equal(rep.summary.failed, 25);
    // --list chooses how many the terminal shows
    const few = await runCli([...base(), '--list', '3'], { cwd: dir, env: env() });
    assert.equal(few.stdout.match(/^ {2}missing: /gm)?.length, 3, few.stdout);
    assert.match(few.stdout, /^ {2}… and 22 more \(all in the report\)$/m);
    // put them back
    const again = await runCli(
      [
        'import',
        '--endpoint',
        server.url,
        '--bucket',
        'site',
        '--origin',
        origin.url,
        '--keys',
        list,
        '--log-interval',
        '0',
        '--state',
        path.join(dir, 'again.jsonl'),
      ],
      { cwd: dir, env: env() },
    );
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });

  it('a file changed at the origin at the same size is off parity, found by a HEAD (no GET)', async () => {
    const key = 'v/07.txt';
    const lmKey = 'v/lm-only.txt';
    const f = origin.files.get(key);
    const g = origin.files.get(lmKey);
    assert.ok(f && g);
    const changed = Buffer.from(f.body);
    changed[0] = (changed[0] ?? 0) ^ 1;
    origin.files.set(key, { body: changed, headers: { etag: '"7-v2"', 'last-modified': 'Tue, 03 Nov 2026 10:00:00 GMT' } });
    origin.files.set(lmKey, { body: Buffer.from(g.body).reverse(), headers: { 'last-modified': 'Tue, 03 Nov 2026 11:00:00 GMT' } });
    origin.hits.clear();
    const requests = origin.requests;
    const report = path.join(dir, 'changed.json');
    const r = await runCli([...base(), '--report', report], { cwd: dir, env: env() });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(getHits(origin), 0, 'no GET of the origin');
    assert.equal(origin.requests - requests, keys.length + 1, 'the start-up check (a HEAD) and one HEAD per key, nothing else');
    assert.match(r.stdout, /2 changed at the origin/);
    assert.match(r.stdout, /^ {2}origin-changed: v\/07.txt: the origin's ETag is now "7-v2"; it was "7-v1" when copied$/m);
    assert.match(
      r.stdout,
      /^ {2}origin-changed: v\/lm-only.txt: the origin's Last-Modified is now Tue, 03 Nov 2026 11:00:00 GMT; it was Mon, 02 Nov 2026 10:00:00 GMT when copied$/m,
    );
    const rep = JSON.parse(await readFile(report, 'utf8')) as { failures: { key: string; problem: string }[] };
    assert.deepEqual(rep.failures.map((p) => `${p.problem} ${p.key}`).sort(), ['origin-changed v/07.txt', 'origin-changed v/lm-only.txt']);
  });
});

describe('osprey verify --help', () => {
  it("lists verify's options, not import's --save-meta (import keeps it)", async () => {
    const dir = await tmpDir('osprey-verify-help-');
    const v = await runCli(['verify', '--help'], { cwd: dir });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /--deep/);
    assert.match(v.stdout, /--list <n>/);
    assert.doesNotMatch(v.stdout, /--save-meta/);
    const i = await runCli(['import', '--help'], { cwd: dir });
    assert.match(i.stdout, /--save-meta/);
    assert.match(i.stdout, /--update/);
  });
});
