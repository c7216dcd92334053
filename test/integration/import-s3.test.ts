/**
 * `osprey import --from-s3` and `osprey verify --from-s3`: the source S3 store is one nobody here
 * wrote, a throwaway Ceph RGW (test/helpers/ceph.ts otherStore: the run's shared one, or one for
 * this file). The prefix is stripped as a MirrorURL `…/bucket/prefix/` would; stored headers, user
 * metadata (--save-meta) and the origin marker; verify at parity, then catching a missing, a
 * truncated and a changed object by ETag and by hashing (--deep); bad source settings refused.
 */
import { CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { otherStore } from '../helpers/ceph.ts';
import type { StoreAccess } from '../helpers/ceph.ts';
import { bodyOf, contentFor, keysIn, md5, runCli } from '../helpers/migrate.ts';
import { s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';

const COUNT = 150;

describe('osprey import/verify from a source S3 bucket', () => {
  const store = otherStore();
  /** the store may be shared with other files and runs */
  const SRC = `old-site-${randomBytes(4).toString('hex')}`;
  let source: StoreAccess;
  let target: TestServer;
  let src: S3Client;
  let dst: S3Client;
  let dir: string;
  const expected = new Map<string, Buffer>();
  const fromS3 = () => [
    '--from-s3',
    `s3://${SRC}/www/`,
    '--source-endpoint',
    source.endpoint,
    '--source-access-key-id',
    source.accessKeyId,
    '--source-secret-access-key',
    source.secretAccessKey,
  ];

  before(async () => {
    [source, target] = await Promise.all([store.get(), startOsprey()]);
    src = new S3Client({
      endpoint: source.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: source.accessKeyId, secretAccessKey: source.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    dst = s3(target);
    await src.send(new CreateBucketCommand({ Bucket: SRC }));
    await dst.send(new CreateBucketCommand({ Bucket: 'new-site' }));
    for (let i = 0; i < COUNT; i++) {
      const key = `www/${i % 3 === 0 ? 'img' : 'css'}/${i}.dat`;
      const body = contentFor(key, 50 + i * 101);
      expected.set(key.slice(4), body);
      await src.send(
        new PutObjectCommand({
          Bucket: SRC,
          Key: key,
          Body: body,
          ContentType: 'application/x-test',
          CacheControl: 'max-age=9',
          Metadata: { origin: `n${i}` },
        }),
      );
    }
    // a multipart object (ETag "…-N"), a folder marker, and a key outside the prefix
    const big = contentFor('www/big.bin', 12 * 1024 * 1024 + 1);
    expected.set('big.bin', big);
    await new Upload({ client: src, params: { Bucket: SRC, Key: 'www/big.bin', Body: big }, partSize: 5 * 1024 * 1024 }).done();
    await src.send(new PutObjectCommand({ Bucket: SRC, Key: 'www/', Body: '' }));
    await src.send(new PutObjectCommand({ Bucket: SRC, Key: 'other/x.txt', Body: 'not under the prefix' }));
    dir = await tmpDir('osprey-s3-');
  });
  after(async () => {
    src?.destroy();
    dst?.destroy();
    await target?.close();
    await store.stop();
  });

  it('imports the prefix: keys without it, headers, user metadata with --save-meta, the origin marker', async () => {
    const r = await runCli(
      ['import', '--endpoint', target.url, '--bucket', 'new-site', ...fromS3(), '--save-meta', '--log-interval', '0'],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${COUNT + 1} copied`));
    assert.deepEqual((await keysIn(dst, 'new-site')).sort(), [...expected.keys()].sort());
    assert.equal(md5(await bodyOf(dst, 'new-site', 'big.bin')), md5(expected.get('big.bin') ?? ''));
    const h = await dst.send(new HeadObjectCommand({ Bucket: 'new-site', Key: 'img/3.dat' }));
    assert.equal(h.ContentType, 'application/x-test');
    assert.equal(h.CacheControl, 'max-age=9');
    assert.deepEqual(h.Metadata, { origin: 'n3' });
    const raw = await rawSigned(target.url, { method: 'HEAD', path: '/new-site/img/3.dat' });
    assert.equal(raw.headers['x-oss-tag'], `MIRROR ${source.endpoint}/${SRC}/www/img/3.dat`);
  });

  it('verify: parity, then a missing, a truncated and a changed object, by ETag and with --deep', async () => {
    const base = ['verify', '--endpoint', target.url, '--bucket', 'new-site', ...fromS3(), '--log-interval', '0'];
    const ok = await runCli(base, { cwd: dir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`${COUNT + 1} checked, ${COUNT + 1} at parity \\(100%\\)`));
    // the multipart source ETag cannot be compared with a single-PUT MD5, but it is the validator
    // recorded with the copy: unchanged at the source, said so
    assert.match(
      ok.stdout,
      new RegExp(`content compared for ${COUNT} by MD5/ETag; unchanged at the origin by ETag/Last-Modified for 1; size only for 0`),
    );

    await dst.send(new DeleteObjectCommand({ Bucket: 'new-site', Key: 'css/1.dat' }));
    const truncated = expected.get('css/2.dat') ?? Buffer.alloc(0);
    await dst.send(new PutObjectCommand({ Bucket: 'new-site', Key: 'css/2.dat', Body: truncated.subarray(0, truncated.length - 10) }));
    const changed = Buffer.from(expected.get('img/6.dat') ?? Buffer.alloc(0));
    changed[5] = (changed[5] ?? 0) ^ 0xff;
    await dst.send(new PutObjectCommand({ Bucket: 'new-site', Key: 'img/6.dat', Body: changed }));
    const changedBig = Buffer.from(expected.get('big.bin') ?? Buffer.alloc(0));
    changedBig[1000] = (changedBig[1000] ?? 0) ^ 0xff;
    await dst.send(new PutObjectCommand({ Bucket: 'new-site', Key: 'big.bin', Body: changedBig }));

    const report = path.join(dir, 'verify.json');
    const bad = await runCli([...base, '--report', report], { cwd: dir });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /1 missing, 1 size mismatch, 1 content mismatch, 0 changed at the origin, 0 errors/);
    assert.match(bad.stdout, /parity: NO/);
    const rep = JSON.parse(await readFile(report, 'utf8')) as { parity: boolean; problems: { key: string; problem: string }[] };
    assert.equal(rep.parity, false);
    assert.deepEqual(rep.problems.map((p) => `${p.problem} ${p.key}`).sort(), [
      'content-mismatch img/6.dat',
      'missing css/1.dat',
      'size-mismatch css/2.dat',
    ]);

    // --deep hashes the bytes: the changed multipart-sourced object is caught too
    const deep = await runCli([...base, '--deep'], { cwd: dir });
    assert.equal(deep.code, 1, deep.stdout + deep.stderr);
    assert.match(deep.stdout, /1 missing, 1 size mismatch, 2 content mismatch/);
    assert.match(deep.stdout, /content-mismatch: big.bin: MD5 of the bytes/);
  });

  it('bad source settings: one clear line, exit 2, nothing written', async () => {
    await dst.send(new CreateBucketCommand({ Bucket: 'untouched' }));
    const base = ['import', '--endpoint', target.url, '--bucket', 'untouched', '--source-endpoint', source.endpoint];
    const ak = source.accessKeyId;
    const sk = source.secretAccessKey;
    const missing = `no-such-bucket-${randomBytes(4).toString('hex')}`;
    const cases: [string[], RegExp][] = [
      [
        [...base, '--from-s3', `s3://${missing}/`, '--source-access-key-id', ak, '--source-secret-access-key', sk],
        new RegExp(`the source s3://${missing} cannot be listed: the bucket does not exist`),
      ],
      [
        [...base, '--from-s3', `s3://${SRC}/www/`, '--source-access-key-id', ak, '--source-secret-access-key', 'wrong-wrong-wrong-wrong'],
        /cannot be listed: the credentials were refused \(SignatureDoesNotMatch/,
      ],
      [
        [
          ...base.slice(0, 5),
          '--source-endpoint',
          'http://127.0.0.1:9',
          '--from-s3',
          `s3://${SRC}/`,
          '--source-access-key-id',
          ak,
          '--source-secret-access-key',
          sk,
        ],
        /cannot be listed: the connection was refused/,
      ],
      [[...base, '--from-s3', `${SRC}/www`, '--source-access-key-id', ak, '--source-secret-access-key', sk], /is not s3:\/\/bucket/],
      [[...base, '--from-s3', `s3://${SRC}/www/`], /needs --source-access-key-id/],
      [
        [...base, '--from-s3', `s3://${SRC}/www/`, '--source-access-key-id', ak, '--source-secret-access-key', sk, '--keys', '-'],
        /--keys goes with --origin or --from-rule/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { cwd: dir })));
    for (const [i, [args, re]] of cases.entries()) {
      const r = results[i];
      assert.ok(r);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(await keysIn(dst, 'untouched'), []);
  });
});
