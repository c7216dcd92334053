/**
 * The storage driver conformance suite: every driver runs exactly this (one suite, many drivers),
 * through the StorageDriver interface only, so a remote driver can run it unchanged.
 * `make()` must give a fresh, empty store whose minimum multipart part size is 1 KiB.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import type { ObjectMeta, StorageDriver } from '../../src/storage/driver.ts';
import { emptyMeta } from '../../src/storage/driver.ts';

export type MakeDriver = () => Promise<{ driver: StorageDriver; cleanup: () => Promise<void> }>;

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function body(...parts: (string | Buffer)[]): Readable {
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

async function read(r: Readable | undefined): Promise<Buffer> {
  assert.ok(r, 'a body');
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks);
}

function isCode(code: string) {
  return (e: unknown) => e instanceof S3Error && e.code === code;
}

/** A body that sends some bytes, then fails like a client that went away. */
function failing(err: Error): Readable {
  let n = 0;
  return new Readable({
    read() {
      if (n++ < 3) this.push(Buffer.alloc(1000, 1));
      else this.destroy(err);
    },
  });
}

/** A body that never ends: only a driver that stops at maxSize settles. */
function endless(): Readable {
  return new Readable({
    read() {
      this.push(Buffer.alloc(4096, 7));
    },
  });
}

export function describeDriver(name: string, make: MakeDriver): void {
  describe(`storage driver conformance: ${name}`, () => {
    let d: StorageDriver;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ driver: d, cleanup } = await make());
      await d.createBucket('conf', 'private');
    });
    after(async () => {
      await d.close();
      await cleanup();
    });

    it('ping answers', async () => {
      await d.ping();
    });

    it('buckets: create, get, list in name order, ACL, errors', async () => {
      const made = await d.createBucket('conf-b', 'public-read');
      assert.equal(made.name, 'conf-b');
      assert.ok(made.created instanceof Date);
      assert.equal((await d.getBucket('conf-b'))?.acl, 'public-read');
      assert.equal(await d.getBucket('conf-none'), undefined);
      await assert.rejects(d.createBucket('conf-b', 'private'), isCode('BucketAlreadyOwnedByYou'));
      await d.setBucketAcl('conf-b', 'public-read-write');
      assert.equal((await d.getBucket('conf-b'))?.acl, 'public-read-write');
      await assert.rejects(d.setBucketAcl('conf-none', 'private'), isCode('NoSuchBucket'));
      await d.createBucket('conf-a', 'private');
      const names = (await d.listBuckets()).map((b) => b.name);
      assert.deepEqual(names, [...names].sort(byUtf8));
      assert.ok(['conf', 'conf-a', 'conf-b'].every((n) => names.includes(n)));
    });

    it('every object operation on a missing bucket is NoSuchBucket', async () => {
      const nsb = isCode('NoSuchBucket');
      await assert.rejects(d.headObject('conf-none', 'k'), nsb);
      await assert.rejects(d.getObject('conf-none', 'k'), nsb);
      await assert.rejects(d.putObject('conf-none', 'k', body('x'), { meta: emptyMeta() }), nsb);
      await assert.rejects(d.deleteObject('conf-none', 'k'), nsb);
      await assert.rejects(d.listObjects('conf-none', { prefix: '', maxKeys: 10 }), nsb);
      await assert.rejects(d.createMultipartUpload('conf-none', 'k', emptyMeta()), nsb);
      await assert.rejects(d.listMultipartUploads('conf-none', { prefix: '', maxUploads: 10 }), nsb);
      await assert.rejects(d.getBucketConfig('conf-none', 'website'), nsb);
      await assert.rejects(d.putBucketConfig('conf-none', 'website', 'x'), nsb);
    });

    it('bucket configs are stored, replaced, deleted, and go with the bucket', async () => {
      await d.createBucket('conf-cfg', 'private');
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), undefined);
      await d.putBucketConfig('conf-cfg', 'website', '{"a":1}');
      await d.putBucketConfig('conf-cfg', 'website', '{"a":2}');
      await d.putBucketConfig('conf-cfg', 'cors', '<x/>');
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), '{"a":2}');
      await d.putBucketConfig('conf-cfg', 'website', undefined);
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), undefined);
      assert.equal(await d.getBucketConfig('conf-cfg', 'cors'), '<x/>');
      await d.deleteBucket('conf-cfg');
      await d.createBucket('conf-cfg', 'private');
      assert.equal(await d.getBucketConfig('conf-cfg', 'cors'), undefined);
    });

    it('deleteBucket: NoSuchBucket, BucketNotEmpty, aborts uploads in progress', async () => {
      await assert.rejects(d.deleteBucket('conf-none'), isCode('NoSuchBucket'));
      await d.createBucket('conf-del', 'private');
      await d.putObject('conf-del', 'k', body('x'), { meta: emptyMeta() });
      await assert.rejects(d.deleteBucket('conf-del'), isCode('BucketNotEmpty'));
      await d.deleteObject('conf-del', 'k');
      const up = await d.createMultipartUpload('conf-del', 'in-progress', emptyMeta());
      await d.uploadPart('conf-del', 'in-progress', up.uploadId, 1, body('part'), {});
      await d.deleteBucket('conf-del');
      assert.equal(await d.getBucket('conf-del'), undefined);
      await d.createBucket('conf-del', 'private');
      assert.deepEqual((await d.listMultipartUploads('conf-del', { prefix: '', maxUploads: 10 })).uploads, []);
      await assert.rejects(d.getMultipartUpload('conf-del', 'in-progress', up.uploadId), isCode('NoSuchUpload'));
    });

    it('put/get/head round trip with metadata; etag is the MD5', async () => {
      const meta: ObjectMeta = {
        headers: { 'content-type': 'text/plain' },
        userMeta: { color: 'blue' },
        system: { 'x-oss-tag': 'MIRROR http://o/k' },
      };
      const info = await d.putObject('conf', 'a/b c', body('hello ', 'world'), { meta, size: 11 });
      assert.deepEqual([info.bucket, info.key, info.size, info.etag], ['conf', 'a/b c', 11, md5('hello world')]);
      assert.ok(info.lastModified instanceof Date);
      const head = await d.headObject('conf', 'a/b c');
      assert.deepEqual(head?.meta, meta);
      assert.equal(head?.etag, info.etag);
      const got = await d.getObject('conf', 'a/b c');
      assert.equal((await read(got?.body)).toString(), 'hello world');
      assert.deepEqual(got?.info.meta, meta);
      if (got?.bytes) assert.equal(got.bytes.toString(), 'hello world');
      const big = randomBytes(300_000);
      await d.putObject('conf', 'big', body(big.subarray(0, 1000), big.subarray(1000)), {
        meta: emptyMeta(),
        size: big.length,
        contentMd5: createHash('md5').update(big).digest(),
      });
      assert.ok((await read((await d.getObject('conf', 'big'))?.body)).equals(big));
      assert.equal(await d.headObject('conf', 'nope'), undefined);
      assert.equal(await d.getObject('conf', 'nope'), undefined);
      const empty = await d.putObject('conf', 'empty', body(), { meta: emptyMeta(), size: 0 });
      assert.equal(empty.etag, md5(''));
      assert.equal((await read((await d.getObject('conf', 'empty'))?.body)).length, 0);
    });

    it('systemAtEnd entries are merged into meta.system', async () => {
      const meta = { ...emptyMeta(), system: { keep: '1' } };
      await d.putObject('conf', 'late', body('x'), { meta, systemAtEnd: () => ({ 'x-amz-checksum-crc32': 'abc=' }) });
      assert.deepEqual((await d.headObject('conf', 'late'))?.meta.system, { keep: '1', 'x-amz-checksum-crc32': 'abc=' });
    });

    it('ranges, small and large', async () => {
      const big = randomBytes(200_000);
      for (const [key, bytes] of [
        ['digits', Buffer.from('0123456789')],
        ['big-range', big],
      ] as const) {
        await d.putObject('conf', key, body(bytes), { meta: emptyMeta() });
        const n = bytes.length;
        const cases: [number, number][] = [
          [0, 0],
          [2, 5],
          [n - 1, n - 1],
          [0, n - 1],
          [1, n - 2],
        ];
        for (const [s, e] of cases) {
          const got = await d.getObject('conf', key, { start: s, end: e });
          assert.ok((await read(got?.body)).equals(bytes.subarray(s, e + 1)), `${key} ${s}-${e}`);
          assert.equal(got?.info.size, n, 'info.size is the whole object');
        }
      }
    });

    it('size, MD5 and size-cap checks reject and store nothing', async () => {
      await assert.rejects(d.putObject('conf', 'bad-size', body('abc'), { meta: emptyMeta(), size: 4 }), isCode('IncompleteBody'));
      await assert.rejects(d.putObject('conf', 'bad-size', body('abcde'), { meta: emptyMeta(), size: 4 }), isCode('IncompleteBody'));
      await assert.rejects(
        d.putObject('conf', 'bad-md5', body('abc'), { meta: emptyMeta(), contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      await assert.rejects(d.putObject('conf', 'too-big', body('abcdef'), { meta: emptyMeta(), maxSize: 5 }), isCode('EntityTooLarge'));
      // the same checks on a small body of declared size (kept in memory by the embedded store)
      await assert.rejects(
        d.putObject('conf', 'bad-md5', body('ab', 'c'), { meta: emptyMeta(), size: 3, contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      await assert.rejects(
        d.putObject('conf', 'too-big', body('abc', 'def'), { meta: emptyMeta(), size: 6, maxSize: 5 }),
        isCode('EntityTooLarge'),
      );
      // the cap is enforced while the body streams, not after it ends
      await assert.rejects(d.putObject('conf', 'too-big', endless(), { meta: emptyMeta(), maxSize: 100_000 }), isCode('EntityTooLarge'));
      const ok = await d.putObject('conf', 'good-md5', body('abc'), {
        meta: emptyMeta(),
        contentMd5: Buffer.from(md5('abc'), 'hex'),
        maxSize: 3,
        size: 3,
      });
      assert.equal(ok.etag, md5('abc'));
      for (const k of ['bad-size', 'bad-md5', 'too-big']) assert.equal(await d.headObject('conf', k), undefined, k);
    });

    it('a body that fails midway rejects with that same error and leaves nothing', async () => {
      const boom = new Error('client went away');
      await assert.rejects(d.putObject('conf', 'failed', failing(boom), { meta: emptyMeta() }), (e) => e === boom);
      const custom = new S3Error('XAmzContentChecksumMismatch');
      await assert.rejects(d.putObject('conf', 'failed', failing(custom), { meta: emptyMeta(), size: 10_000 }), (e) => e === custom);
      assert.equal(await d.headObject('conf', 'failed'), undefined);
      assert.deepEqual((await d.listObjects('conf', { prefix: 'failed', maxKeys: 10 })).objects, []);
    });

    it('a failed overwrite keeps the old object', async () => {
      await d.putObject('conf', 'keep', body('old'), { meta: emptyMeta() });
      await assert.rejects(d.putObject('conf', 'keep', failing(new Error('x')), { meta: emptyMeta() }));
      await assert.rejects(
        d.putObject('conf', 'keep', body('new!'), { meta: emptyMeta(), contentMd5: Buffer.alloc(16) }),
        isCode('BadDigest'),
      );
      assert.equal((await read((await d.getObject('conf', 'keep'))?.body)).toString(), 'old');
    });

    it('ifNoneMatch creates only, also when racing', async () => {
      await d.putObject('conf', 'once', body('1'), { meta: emptyMeta(), ifNoneMatch: true });
      await assert.rejects(d.putObject('conf', 'once', body('2'), { meta: emptyMeta(), ifNoneMatch: true }), isCode('PreconditionFailed'));
      // a small body of known size (the embedded store checks only in the commit then)
      await assert.rejects(
        d.putObject('conf', 'once', body('3'), { meta: emptyMeta(), size: 1, ifNoneMatch: true }),
        isCode('PreconditionFailed'),
      );
      assert.equal((await read((await d.getObject('conf', 'once'))?.body)).toString(), '1');
      const bodies = Array.from({ length: 5 }, (_, i) => Buffer.alloc(50_000 + i, 97 + i));
      const outcomes = await Promise.allSettled(
        bodies.map((b) =>
          d.putObject('conf', 'race-once', body(b.subarray(0, 10), b.subarray(10)), { meta: emptyMeta(), ifNoneMatch: true }),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(isCode('PreconditionFailed')(o.reason));
      const winner = bodies[outcomes.findIndex((o) => o.status === 'fulfilled')];
      assert.ok(winner && (await read((await d.getObject('conf', 'race-once'))?.body)).equals(winner));
    });

    it('a reader mid-stream keeps the version it opened through an overwrite and a delete', async () => {
      const v1 = randomBytes(3 * 1024 * 1024);
      await d.putObject('conf', 'swap', body(v1), { meta: emptyMeta() });
      const got = await d.getObject('conf', 'swap');
      assert.ok(got);
      const it1 = got.body[Symbol.asyncIterator]();
      const first = await it1.next();
      await d.putObject('conf', 'swap', body('v2'), { meta: emptyMeta() });
      await d.deleteObject('conf', 'swap');
      const rest: Buffer[] = [first.value as Buffer];
      for (let r = await it1.next(); !r.done; r = await it1.next()) rest.push(r.value as Buffer);
      assert.ok(Buffer.concat(rest).equals(v1));
      assert.equal(await d.headObject('conf', 'swap'), undefined);
      // a reader that gave up early does not keep anything alive or in the way
      await d.putObject('conf', 'swap', body(v1), { meta: emptyMeta() });
      (await d.getObject('conf', 'swap'))?.body.destroy();
      await d.putObject('conf', 'swap', body('v3'), { meta: emptyMeta() });
      assert.equal((await read((await d.getObject('conf', 'swap'))?.body)).toString(), 'v3');
    });

    it('concurrent puts of one key: the result is exactly one of the bodies', async () => {
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(200_000 + i, 65 + i));
      await Promise.all(
        bodies.map((b) => d.putObject('conf', 'race', body(b.subarray(0, 50_000), b.subarray(50_000)), { meta: emptyMeta() })),
      );
      const final = await read((await d.getObject('conf', 'race'))?.body);
      assert.ok(bodies.some((b) => b.equals(final)));
      const head = await d.headObject('conf', 'race');
      assert.deepEqual([head?.etag, head?.size], [md5(final), final.length]);
    });

    it('listing: UTF-8 byte order, prefix, delimiter, startAfter, maxKeys, truncation', async () => {
      await d.createBucket('conf-list', 'private');
      // '\uFF01' sorts after '\u{1F600}' in UTF-16 but before it in UTF-8
      const keys = [
        'a',
        'b',
        'é',
        '\u{1F600}',
        '\uFF01',
        '\uFF05',
        'Z',
        '~',
        'dir/',
        'dir/1',
        'dir/2',
        'dir/sub/3',
        'dis',
        'x/y/z',
        'p--q',
        'p--r',
        'p-s',
      ];
      for (const k of keys) await d.putObject('conf-list', k, body(k), { meta: emptyMeta() });
      const order = [...keys].sort(byUtf8);
      const list = (o: Partial<Parameters<StorageDriver['listObjects']>[1]>) =>
        d.listObjects('conf-list', { prefix: '', maxKeys: 1000, ...o });
      const all = await list({});
      assert.deepEqual(
        all.objects.map((o) => o.key),
        order,
      );
      assert.equal(all.isTruncated, false);
      assert.equal(all.objects.find((o) => o.key === 'dis')?.etag, md5('dis'));
      const delim = await list({ delimiter: '/' });
      assert.deepEqual(delim.commonPrefixes, ['dir/', 'x/']);
      assert.deepEqual(
        delim.objects.map((o) => o.key),
        order.filter((k) => !k.includes('/')),
      );
      const sub = await list({ prefix: 'dir/', delimiter: '/' });
      assert.deepEqual([sub.objects.map((o) => o.key), sub.commonPrefixes], [['dir/', 'dir/1', 'dir/2'], ['dir/sub/']]);
      const multi = await list({ prefix: 'p', delimiter: '--' });
      assert.deepEqual([multi.objects.map((o) => o.key), multi.commonPrefixes], [['p-s'], ['p--']]);
      assert.deepEqual(
        (await list({ prefix: 'di' })).objects.map((o) => o.key),
        ['dir/', 'dir/1', 'dir/2', 'dir/sub/3', 'dis'],
      );
      assert.deepEqual((await list({ prefix: 'nothing' })).objects, []);
      assert.deepEqual(
        (await list({ startAfter: 'dis' })).objects.map((o) => o.key),
        order.slice(order.indexOf('dis') + 1),
      );
      assert.deepEqual(
        (await list({ startAfter: '\uFF01' })).objects.map((o) => o.key),
        order.slice(order.indexOf('\uFF01') + 1),
      );
      assert.deepEqual(
        (await list({ prefix: '\u{1F600}', startAfter: '\uFF01' })).objects.map((o) => o.key),
        ['\u{1F600}'],
      );
      assert.deepEqual((await list({ prefix: 'dir/', startAfter: 'a' })).objects.length, 4);
      // startAfter inside a common prefix: that group is behind the marker
      assert.deepEqual((await list({ prefix: '', delimiter: '/', startAfter: 'dir/1' })).commonPrefixes, ['x/']);
      // paginate with a delimiter, two entries per page, continuing after nextMarker
      const seen: string[] = [];
      let marker: string | undefined;
      for (let i = 0; i < 30; i++) {
        const page = await list({ delimiter: '/', maxKeys: 2, ...(marker !== undefined && { startAfter: marker }) });
        const entries = [...page.commonPrefixes, ...page.objects.map((o) => o.key)].sort(byUtf8);
        assert.ok(entries.length <= 2);
        assert.equal(page.nextMarker, entries.at(-1));
        seen.push(...entries);
        if (!page.isTruncated) break;
        marker = page.nextMarker;
      }
      assert.deepEqual(seen, [...delim.commonPrefixes, ...delim.objects.map((o) => o.key)].sort(byUtf8));
      // max-keys 0: an empty page, not truncated (what AWS answers)
      assert.deepEqual(await list({ maxKeys: 0 }), { objects: [], commonPrefixes: [], isTruncated: false });
      const trunc = await list({ maxKeys: 3 });
      assert.deepEqual([trunc.isTruncated, trunc.nextMarker, trunc.objects.length], [true, order[2], 3]);
      const exact = await list({ maxKeys: keys.length });
      assert.equal(exact.isTruncated, false, 'not truncated when the page ends exactly at the last key');
    });

    it('listing skips a large common prefix', async () => {
      await d.createBucket('conf-many', 'private');
      await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          d.putObject('conf-many', `many/${String(i).padStart(3, '0')}`, body('x'), { meta: emptyMeta() }),
        ),
      );
      await d.putObject('conf-many', 'n', body('x'), { meta: emptyMeta() });
      const page = await d.listObjects('conf-many', { prefix: '', delimiter: '/', maxKeys: 2 });
      assert.deepEqual([page.commonPrefixes, page.objects.map((o) => o.key), page.isTruncated], [['many/'], ['n'], false]);
      const inner = await d.listObjects('conf-many', { prefix: 'many/', maxKeys: 1000 });
      assert.equal(inner.objects.length, 300);
    });

    it('reads see every overwrite and delete of a small object at once', async () => {
      for (let i = 0; i < 3; i++) {
        await d.putObject('conf', 'hot', body(`v${i}`), { meta: emptyMeta() });
        for (let j = 0; j < 2; j++) {
          const got = await d.getObject('conf', 'hot');
          assert.equal((await read(got?.body ?? body())).toString(), `v${i}`);
        }
      }
      await d.deleteObject('conf', 'hot');
      assert.equal(await d.getObject('conf', 'hot'), undefined);
      await d.putObject('conf', 'hot', body('back'), { meta: emptyMeta() });
      assert.equal((await read((await d.getObject('conf', 'hot'))?.body ?? body())).toString(), 'back');
    });

    it('an object ACL is stored with the object, replaced alone by setObjectAcl, and goes with an overwrite', async () => {
      const meta: ObjectMeta = { headers: { 'content-type': 'text/plain' }, userMeta: { c: '1' }, system: {}, acl: 'AllUsers=READ' };
      const put = await d.putObject('conf', 'acl', body('acl body'), { meta, size: 8 });
      assert.deepEqual((await d.headObject('conf', 'acl'))?.meta, meta);
      await d.setObjectAcl('conf', 'acl', '');
      const head = await d.headObject('conf', 'acl');
      assert.deepEqual(head?.meta, { ...meta, acl: '' });
      assert.equal(head?.etag, put.etag);
      assert.equal(head?.size, 8);
      assert.equal(head?.lastModified.getTime(), (await d.headObject('conf', 'acl'))?.lastModified.getTime());
      assert.equal((await read((await d.getObject('conf', 'acl'))?.body)).toString(), 'acl body');
      await d.setObjectAcl('conf', 'acl', undefined);
      assert.equal((await d.headObject('conf', 'acl'))?.meta.acl, undefined);
      await d.setObjectAcl('conf', 'acl', 'AllUsers=READ,AllUsers=WRITE');
      await d.putObject('conf', 'acl', body('new'), { meta: emptyMeta(), size: 3 });
      assert.equal((await d.headObject('conf', 'acl'))?.meta.acl, undefined, 'an overwrite without an ACL has none');
      await assert.rejects(d.setObjectAcl('conf', 'no-such-key', ''), isCode('NoSuchKey'));
      await assert.rejects(d.setObjectAcl('no-such-bucket', 'k', ''), isCode('NoSuchBucket'));
      const up = await d.createMultipartUpload('conf', 'acl-mp', { ...emptyMeta(), acl: 'AuthenticatedUsers=READ' });
      const part = await d.uploadPart('conf', 'acl-mp', up.uploadId, 1, body('p'), {});
      await d.completeMultipartUpload('conf', 'acl-mp', up.uploadId, [{ partNumber: 1, etag: part.etag }]);
      assert.equal(
        (await d.headObject('conf', 'acl-mp'))?.meta.acl,
        'AuthenticatedUsers=READ',
        'multipart keeps the ACL given at creation',
      );
    });

    it('delete is idempotent', async () => {
      await d.deleteObject('conf', 'never-existed');
      await d.putObject('conf', 'del', body('x'), { meta: emptyMeta() });
      await d.deleteObject('conf', 'del');
      await d.deleteObject('conf', 'del');
      assert.equal(await d.headObject('conf', 'del'), undefined);
    });

    it('multipart: parts, replace a part, list, complete with MD5-of-MD5s, reads across parts', async () => {
      const meta: ObjectMeta = { headers: { 'content-type': 'x/y' }, userMeta: { a: '1' }, system: {} };
      const up = await d.createMultipartUpload('conf', 'mp', meta);
      assert.deepEqual([up.bucket, up.key, up.meta], ['conf', 'mp', meta]);
      assert.match(up.uploadId, /^[\w.~-]{16,}$/);
      assert.deepEqual((await d.getMultipartUpload('conf', 'mp', up.uploadId)).meta, meta);
      const [p1, p2, p3] = [randomBytes(2048), randomBytes(1500), Buffer.from('tail')] as const;
      await d.uploadPart('conf', 'mp', up.uploadId, 2, body('to be replaced'), {});
      const r2 = await d.uploadPart('conf', 'mp', up.uploadId, 2, body(p2), { size: p2.length });
      const r1 = await d.uploadPart('conf', 'mp', up.uploadId, 1, body(p1), { contentMd5: createHash('md5').update(p1).digest() });
      const r3 = await d.uploadPart('conf', 'mp', up.uploadId, 3, body(p3), {});
      await d.uploadPart('conf', 'mp', up.uploadId, 4, body('never listed'), {});
      assert.deepEqual([r2.partNumber, r2.etag, r2.size], [2, md5(p2), p2.length]);
      const page1 = await d.listParts('conf', 'mp', up.uploadId, { partNumberMarker: 0, maxParts: 2 });
      assert.deepEqual([page1.parts.map((p) => p.partNumber), page1.isTruncated], [[1, 2], true]);
      assert.equal(page1.parts[1]?.etag, md5(p2), 'the replaced part is listed with its new ETag');
      const page2 = await d.listParts('conf', 'mp', up.uploadId, { partNumberMarker: 2, maxParts: 2 });
      assert.deepEqual([page2.parts.map((p) => p.partNumber), page2.isTruncated], [[3, 4], false]);
      let target = up;
      const complete = (parts: { partNumber: number; etag: string }[]) => d.completeMultipartUpload('conf', 'mp', target.uploadId, parts);
      await assert.rejects(
        complete([
          { partNumber: 2, etag: r2.etag },
          { partNumber: 1, etag: r1.etag },
        ]),
        isCode('InvalidPartOrder'),
      );
      await assert.rejects(
        complete([
          { partNumber: 1, etag: r1.etag },
          { partNumber: 1, etag: r1.etag },
        ]),
        isCode('InvalidPartOrder'),
      );
      await assert.rejects(complete([{ partNumber: 1, etag: md5('x') }]), isCode('InvalidPart'));
      await assert.rejects(
        complete([
          { partNumber: 1, etag: r1.etag },
          { partNumber: 9, etag: r1.etag },
        ]),
        isCode('InvalidPart'),
      );
      await assert.rejects(
        complete([
          { partNumber: 3, etag: r3.etag },
          { partNumber: 4, etag: md5('never listed') },
        ]),
        isCode('EntityTooSmall'),
      );
      if (d.capabilities.completeSubset === false) {
        // a store that completes only with every uploaded part listed (Ceph RGW) refuses the subset
        // clearly; the rest of the checks then run on a fresh upload of the same three parts
        await assert.rejects(
          complete([
            { partNumber: 1, etag: r1.etag },
            { partNumber: 2, etag: r2.etag },
            { partNumber: 3, etag: r3.etag },
          ]),
          isCode('InvalidPart'),
        );
        await d.abortMultipartUpload('conf', 'mp', up.uploadId);
        target = await d.createMultipartUpload('conf', 'mp', meta);
        for (const [i, p] of [p1, p2, p3].entries()) await d.uploadPart('conf', 'mp', target.uploadId, i + 1, body(p), {});
      }
      const info = await complete([
        { partNumber: 1, etag: `"${r1.etag}"` },
        { partNumber: 2, etag: r2.etag.toUpperCase() },
        { partNumber: 3, etag: r3.etag },
      ]);
      const whole = Buffer.concat([p1, p2, p3]);
      const expected =
        createHash('md5')
          .update(Buffer.concat([p1, p2, p3].map((p) => createHash('md5').update(p).digest())))
          .digest('hex') + '-3';
      assert.deepEqual([info.etag, info.size, info.meta], [expected, whole.length, meta]);
      assert.deepEqual((await d.headObject('conf', 'mp'))?.etag, expected);
      assert.ok((await read((await d.getObject('conf', 'mp'))?.body)).equals(whole));
      // ranges inside one part, on part boundaries, and across all three parts
      for (const [s, e] of [
        [0, 10],
        [2040, 2100],
        [2047, 2048],
        [2048, 3547],
        [3547, 3548],
        [3548, 3551],
        [1, 3550],
        [100, 3551],
      ] as const) {
        const got = await d.getObject('conf', 'mp', { start: s, end: e });
        assert.ok((await read(got?.body)).equals(whole.subarray(s, e + 1)), `${s}-${e}`);
      }
      await assert.rejects(d.listParts('conf', 'mp', target.uploadId, { partNumberMarker: 0, maxParts: 10 }), isCode('NoSuchUpload'));
      await assert.rejects(d.getMultipartUpload('conf', 'mp', target.uploadId), isCode('NoSuchUpload'));
      await assert.rejects(complete([{ partNumber: 1, etag: r1.etag }]), isCode('NoSuchUpload'));
    });

    it('multipart: readers keep their version across parts, overwrites and completions', async () => {
      const parts = [randomBytes(1024 * 1024), randomBytes(1024 * 1024), randomBytes(5000)];
      const old = Buffer.concat(parts);
      const up = await d.createMultipartUpload('conf', 'mp-over', emptyMeta());
      const listed = [];
      for (const [i, p] of parts.entries())
        listed.push({ partNumber: i + 1, etag: (await d.uploadPart('conf', 'mp-over', up.uploadId, i + 1, body(p), {})).etag });
      await d.completeMultipartUpload('conf', 'mp-over', up.uploadId, listed);
      // one reader has started, one has not read a byte yet
      const started = await d.getObject('conf', 'mp-over');
      const idle = await d.getObject('conf', 'mp-over', { start: 10, end: old.length - 1 });
      assert.ok(started && idle);
      const iter = started.body[Symbol.asyncIterator]();
      const first = await iter.next();
      const up2 = await d.createMultipartUpload('conf', 'mp-over', emptyMeta());
      const p = await d.uploadPart('conf', 'mp-over', up2.uploadId, 1, body('new'), {});
      await d.completeMultipartUpload('conf', 'mp-over', up2.uploadId, [{ partNumber: 1, etag: p.etag }]);
      await d.putObject('conf', 'mp-over', body('newer'), { meta: emptyMeta() });
      await d.deleteObject('conf', 'mp-over');
      const rest: Buffer[] = [first.value as Buffer];
      for (let r = await iter.next(); !r.done; r = await iter.next()) rest.push(r.value as Buffer);
      assert.ok(Buffer.concat(rest).equals(old));
      assert.ok((await read(idle.body)).equals(old.subarray(10)));
    });

    it('multipart: failing parts, abort, unknown ids, wrong key', async () => {
      const up = await d.createMultipartUpload('conf', 'ab', emptyMeta());
      const boom = new Error('part body failed');
      await assert.rejects(d.uploadPart('conf', 'ab', up.uploadId, 1, failing(boom), {}), (e) => e === boom);
      await assert.rejects(d.uploadPart('conf', 'ab', up.uploadId, 1, body('abc'), { size: 5 }), isCode('IncompleteBody'));
      await assert.rejects(d.uploadPart('conf', 'ab', up.uploadId, 1, body('abc'), { contentMd5: Buffer.alloc(16) }), isCode('BadDigest'));
      await assert.rejects(d.uploadPart('conf', 'ab', up.uploadId, 1, endless(), { maxSize: 50_000 }), isCode('EntityTooLarge'));
      assert.deepEqual((await d.listParts('conf', 'ab', up.uploadId, { partNumberMarker: 0, maxParts: 10 })).parts, []);
      await d.uploadPart('conf', 'ab', up.uploadId, 1, body('x'), {});
      await assert.rejects(d.uploadPart('conf', 'other-key', up.uploadId, 1, body('x'), {}), isCode('NoSuchUpload'));
      await assert.rejects(d.getMultipartUpload('conf', 'other-key', up.uploadId), isCode('NoSuchUpload'));
      await d.abortMultipartUpload('conf', 'ab', up.uploadId);
      await assert.rejects(d.abortMultipartUpload('conf', 'ab', up.uploadId), isCode('NoSuchUpload'));
      await assert.rejects(d.uploadPart('conf', 'ab', up.uploadId, 2, body('x'), {}), isCode('NoSuchUpload'));
      await assert.rejects(d.listParts('conf', 'ab', up.uploadId, { partNumberMarker: 0, maxParts: 10 }), isCode('NoSuchUpload'));
      await assert.rejects(d.uploadPart('conf', 'ab', 'nope', 1, body('x'), {}), isCode('NoSuchUpload'));
      await assert.rejects(d.completeMultipartUpload('conf', 'ab', 'nope', [{ partNumber: 1, etag: md5('x') }]), isCode('NoSuchUpload'));
      assert.equal(await d.headObject('conf', 'ab'), undefined);
    });

    it('multipart: concurrent uploads of one part number leave one whole part', async () => {
      const up = await d.createMultipartUpload('conf', 'race-part', emptyMeta());
      const bodies = Array.from({ length: 5 }, (_, i) => Buffer.alloc(40_000 + i, 70 + i));
      await Promise.all(
        bodies.map((b) => d.uploadPart('conf', 'race-part', up.uploadId, 1, body(b.subarray(0, 100), b.subarray(100)), {})),
      );
      const [part] = (await d.listParts('conf', 'race-part', up.uploadId, { partNumberMarker: 0, maxParts: 10 })).parts;
      const winner = bodies.find((b) => md5(b) === part?.etag);
      assert.ok(winner && part);
      await d.completeMultipartUpload('conf', 'race-part', up.uploadId, [{ partNumber: 1, etag: part.etag }]);
      assert.ok((await read((await d.getObject('conf', 'race-part'))?.body)).equals(winner));
    });

    it('listMultipartUploads: key order, prefix, markers, maxUploads', async () => {
      await d.createBucket('conf-mpl', 'private');
      const made: { key: string; uploadId: string }[] = [];
      for (const key of ['b', 'a', 'b', 'c/1', '\u{1F600}', '\uFF01', 'b'])
        made.push(await d.createMultipartUpload('conf-mpl', key, emptyMeta()));
      // by key in byte order; one key's uploads in the order they were initiated
      const expected = made
        .map((u, i) => ({ key: u.key, uploadId: u.uploadId, i }))
        .sort((x, y) => byUtf8(x.key, y.key) || x.i - y.i)
        .map(({ key, uploadId }) => ({ key, uploadId }));
      const ids = (us: { key: string; uploadId: string }[]) => us.map(({ key, uploadId }) => ({ key, uploadId }));
      const list = (o: Partial<Parameters<StorageDriver['listMultipartUploads']>[1]>) =>
        d.listMultipartUploads('conf-mpl', { prefix: '', maxUploads: 1000, ...o });
      const all = await list({});
      assert.deepEqual([ids(all.uploads), all.isTruncated], [expected, false]);
      assert.deepEqual(
        ids((await list({ prefix: 'b' })).uploads),
        expected.filter((u) => u.key === 'b'),
      );
      assert.deepEqual(
        ids((await list({ keyMarker: 'b' })).uploads),
        expected.filter((u) => byUtf8(u.key, 'b') > 0),
      );
      const firstB = expected.find((u) => u.key === 'b');
      assert.ok(firstB);
      assert.deepEqual(
        ids((await list({ keyMarker: 'b', uploadIdMarker: firstB.uploadId })).uploads),
        expected.slice(expected.indexOf(firstB) + 1),
      );
      const pages: { key: string; uploadId: string }[] = [];
      let markers: { keyMarker?: string; uploadIdMarker?: string } = {};
      for (let i = 0; i < 20; i++) {
        const page = await list({ maxUploads: 2, ...markers });
        pages.push(...ids(page.uploads));
        const last = page.uploads.at(-1);
        if (!page.isTruncated || !last) break;
        markers = { keyMarker: last.key, uploadIdMarker: last.uploadId };
      }
      assert.deepEqual(pages, expected);
      assert.deepEqual(await list({ maxUploads: 0 }), { uploads: [], isTruncated: false });
    });
  });
}
