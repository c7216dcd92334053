/**
 * The storage driver conformance suite: every driver runs exactly this (one suite, many drivers).
 * It uses only the StorageDriver interface.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import type { ObjectMeta, StorageDriver } from '../../src/storage/driver.ts';
import { emptyMeta } from '../../src/storage/driver.ts';

export interface DriverFactory {
  /** minPartSize must be 1 KiB for these tests */
  make(): Promise<{ driver: StorageDriver; cleanup: () => Promise<void> }>;
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

function body(...parts: (string | Buffer)[]): Readable {
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

async function read(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
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

export function describeDriver(name: string, factory: DriverFactory): void {
  describe(`storage driver conformance: ${name}`, () => {
    let d: StorageDriver;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ driver: d, cleanup } = await factory.make());
      await d.createBucket('conf', 'private');
    });
    after(async () => {
      await d.close();
      await cleanup();
    });

    it('buckets: create, get, list, ACL, errors', async () => {
      await d.createBucket('conf-b', 'public-read');
      assert.equal((await d.getBucket('conf-b'))?.acl, 'public-read');
      assert.equal(await d.getBucket('conf-none'), undefined);
      await assert.rejects(d.createBucket('conf-b', 'private'), isCode('BucketAlreadyOwnedByYou'));
      await d.setBucketAcl('conf-b', 'public-read-write');
      assert.equal((await d.getBucket('conf-b'))?.acl, 'public-read-write');
      await assert.rejects(d.setBucketAcl('conf-none', 'private'), isCode('NoSuchBucket'));
      const names = (await d.listBuckets()).map((b) => b.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('conf') && names.includes('conf-b'));
      await assert.rejects(d.headObject('conf-none', 'k'), isCode('NoSuchBucket'));
      await assert.rejects(d.putObject('conf-none', 'k', body('x'), { meta: emptyMeta() }), isCode('NoSuchBucket'));
    });

    it('bucket configs are stored, replaced, deleted, and go with the bucket', async () => {
      await d.createBucket('conf-cfg', 'private');
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), undefined);
      await d.putBucketConfig('conf-cfg', 'website', '{"a":1}');
      await d.putBucketConfig('conf-cfg', 'website', '{"a":2}');
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), '{"a":2}');
      await d.putBucketConfig('conf-cfg', 'website', undefined);
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), undefined);
      await d.putBucketConfig('conf-cfg', 'website', 'x');
      await d.deleteBucket('conf-cfg');
      await d.createBucket('conf-cfg', 'private');
      assert.equal(await d.getBucketConfig('conf-cfg', 'website'), undefined);
      await assert.rejects(d.getBucketConfig('conf-none', 'website'), isCode('NoSuchBucket'));
    });

    it('deleteBucket: NoSuchBucket, BucketNotEmpty, then gone', async () => {
      await assert.rejects(d.deleteBucket('conf-none'), isCode('NoSuchBucket'));
      await d.createBucket('conf-del', 'private');
      await d.putObject('conf-del', 'k', body('x'), { meta: emptyMeta() });
      await assert.rejects(d.deleteBucket('conf-del'), isCode('BucketNotEmpty'));
      await d.deleteObject('conf-del', 'k');
      await d.createMultipartUpload('conf-del', 'in-progress', emptyMeta());
      await d.deleteBucket('conf-del');
      assert.equal(await d.getBucket('conf-del'), undefined);
    });

    it('put/get/head round trip with metadata; etag is the MD5', async () => {
      const meta: ObjectMeta = { headers: { 'content-type': 'text/plain' }, userMeta: { color: 'blue' }, system: { 'x-oss-tag': 'MIRROR http://o/k' } };
      const info = await d.putObject('conf', 'a/b c', body('hello ', 'world'), { meta, size: 11 });
      assert.equal(info.etag, md5('hello world'));
      assert.equal(info.size, 11);
      const head = await d.headObject('conf', 'a/b c');
      assert.deepEqual(head?.meta, meta);
      const got = await d.getObject('conf', 'a/b c');
      assert.ok(got);
      assert.equal((await read(got.body)).toString(), 'hello world');
      assert.equal(await d.headObject('conf', 'nope'), undefined);
      assert.equal(await d.getObject('conf', 'nope'), undefined);
      const empty = await d.putObject('conf', 'empty', body(), { meta: emptyMeta(), size: 0 });
      assert.equal(empty.etag, md5(''));
      const e = await d.getObject('conf', 'empty');
      assert.equal((await read(e?.body ?? body())).length, 0);
    });

    it('systemAtEnd entries are stored with the object', async () => {
      await d.putObject('conf', 'late', body('x'), { meta: emptyMeta(), systemAtEnd: () => ({ 'x-amz-checksum-crc32': 'abc=' }) });
      assert.equal((await d.headObject('conf', 'late'))?.meta.system['x-amz-checksum-crc32'], 'abc=');
    });

    it('ranges', async () => {
      await d.putObject('conf', 'digits', body('0123456789'), { meta: emptyMeta() });
      for (const [s, e, want] of [[0, 0, '0'], [2, 5, '2345'], [9, 9, '9'], [0, 9, '0123456789']] as const) {
        const got = await d.getObject('conf', 'digits', { start: s, end: e });
        assert.equal((await read(got?.body ?? body())).toString(), want);
      }
    });

    it('size, MD5 and size-cap checks reject and store nothing', async () => {
      await assert.rejects(d.putObject('conf', 'bad-size', body('abc'), { meta: emptyMeta(), size: 4 }), isCode('IncompleteBody'));
      await assert.rejects(d.putObject('conf', 'bad-md5', body('abc'), { meta: emptyMeta(), contentMd5: Buffer.alloc(16) }), isCode('BadDigest'));
      await assert.rejects(d.putObject('conf', 'too-big', body('abcdef'), { meta: emptyMeta(), maxSize: 5 }), isCode('EntityTooLarge'));
      const ok = await d.putObject('conf', 'good-md5', body('abc'), { meta: emptyMeta(), contentMd5: Buffer.from(md5('abc'), 'hex') });
      assert.equal(ok.etag, md5('abc'));
      for (const k of ['bad-size', 'bad-md5', 'too-big']) assert.equal(await d.headObject('conf', k), undefined, k);
    });

    it('a body that fails midway rejects with that same error and leaves nothing', async () => {
      const boom = new Error('client went away');
      await assert.rejects(d.putObject('conf', 'failed', failing(boom), { meta: emptyMeta() }), (e) => e === boom);
      const custom = new S3Error('XAmzContentChecksumMismatch');
      await assert.rejects(d.putObject('conf', 'failed', failing(custom), { meta: emptyMeta() }), (e) => e === custom);
      assert.equal(await d.headObject('conf', 'failed'), undefined);
      const listed = await d.listObjects('conf', { prefix: 'failed', maxKeys: 10 });
      assert.equal(listed.objects.length, 0);
    });

    it('a failed overwrite keeps the old object', async () => {
      await d.putObject('conf', 'keep', body('old'), { meta: emptyMeta() });
      await assert.rejects(d.putObject('conf', 'keep', failing(new Error('x')), { meta: emptyMeta() }));
      const got = await d.getObject('conf', 'keep');
      assert.equal((await read(got?.body ?? body())).toString(), 'old');
    });

    it('ifNoneMatch creates only', async () => {
      await d.putObject('conf', 'once', body('1'), { meta: emptyMeta(), ifNoneMatch: true });
      await assert.rejects(d.putObject('conf', 'once', body('2'), { meta: emptyMeta(), ifNoneMatch: true }), isCode('PreconditionFailed'));
      const got = await d.getObject('conf', 'once');
      assert.equal((await read(got?.body ?? body())).toString(), '1');
    });

    it('a reader mid-stream keeps the version it opened through an overwrite and a delete', async () => {
      const v1 = Buffer.alloc(3 * 1024 * 1024, 'a');
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
    });

    it('concurrent puts of one key: the result is exactly one of the bodies', async () => {
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(200_000 + i, 65 + i));
      await Promise.all(bodies.map((b) => d.putObject('conf', 'race', Readable.from([b.subarray(0, 50_000), b.subarray(50_000)]), { meta: emptyMeta() })));
      const got = await d.getObject('conf', 'race');
      const final = await read(got?.body ?? body());
      assert.ok(bodies.some((b) => b.equals(final)));
      assert.equal((await d.headObject('conf', 'race'))?.etag, md5(final));
    });

    it('listing: UTF-8 byte order, prefix, delimiter, startAfter, maxKeys, truncation', async () => {
      await d.createBucket('conf-list', 'private');
      const keys = ['a', 'b', 'é', '\u{1F600}', 'Z', '~', 'dir/1', 'dir/2', 'dir/sub/3', 'dis', 'x/y/z'];
      for (const k of keys) await d.putObject('conf-list', k, body(k), { meta: emptyMeta() });
      const order = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const all = await d.listObjects('conf-list', { prefix: '', maxKeys: 1000 });
      assert.deepEqual(all.objects.map((o) => o.key), order);
      assert.equal(all.isTruncated, false);
      const delim = await d.listObjects('conf-list', { prefix: '', delimiter: '/', maxKeys: 1000 });
      assert.deepEqual(delim.commonPrefixes, ['dir/', 'x/']);
      assert.deepEqual(delim.objects.map((o) => o.key), order.filter((k) => !k.includes('/')));
      const sub = await d.listObjects('conf-list', { prefix: 'dir/', delimiter: '/', maxKeys: 1000 });
      assert.deepEqual(sub.objects.map((o) => o.key), ['dir/1', 'dir/2']);
      assert.deepEqual(sub.commonPrefixes, ['dir/sub/']);
      const pre = await d.listObjects('conf-list', { prefix: 'di', maxKeys: 1000 });
      assert.deepEqual(pre.objects.map((o) => o.key), ['dir/1', 'dir/2', 'dir/sub/3', 'dis']);
      // paginate with delimiter, two entries per page, continuing after nextMarker
      const seen: string[] = [];
      let after: string | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await d.listObjects('conf-list', { prefix: '', delimiter: '/', maxKeys: 2, ...(after !== undefined && { startAfter: after }) });
        seen.push(...page.commonPrefixes, ...page.objects.map((o) => o.key));
        if (!page.isTruncated) break;
        after = page.nextMarker;
      }
      assert.deepEqual(seen.sort(), [...delim.commonPrefixes, ...delim.objects.map((o) => o.key)].sort());
      const sa = await d.listObjects('conf-list', { prefix: '', startAfter: 'dis', maxKeys: 1000 });
      assert.deepEqual(sa.objects.map((o) => o.key), order.slice(order.indexOf('dis') + 1));
      const none = await d.listObjects('conf-list', { prefix: '', maxKeys: 0 });
      assert.equal(none.objects.length, 0);
      const trunc = await d.listObjects('conf-list', { prefix: '', maxKeys: 3 });
      assert.equal(trunc.isTruncated, true);
      assert.equal(trunc.nextMarker, order[2]);
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

    it('delete is idempotent', async () => {
      await d.deleteObject('conf', 'never-existed');
      await d.putObject('conf', 'del', body('x'), { meta: emptyMeta() });
      await d.deleteObject('conf', 'del');
      assert.equal(await d.headObject('conf', 'del'), undefined);
    });

    it('multipart: parts, replace a part, list, complete with MD5-of-MD5s, reads across parts', async () => {
      const up = await d.createMultipartUpload('conf', 'mp', { headers: { 'content-type': 'x/y' }, userMeta: { a: '1' }, system: {} });
      const p1 = Buffer.alloc(2048, 'a');
      const p2 = Buffer.alloc(2048, 'b');
      const p3 = Buffer.from('tail');
      await d.uploadPart('conf', 'mp', up.uploadId, 2, body('to be replaced'), {});
      const r2 = await d.uploadPart('conf', 'mp', up.uploadId, 2, body(p2), {});
      const r1 = await d.uploadPart('conf', 'mp', up.uploadId, 1, body(p1), {});
      const r3 = await d.uploadPart('conf', 'mp', up.uploadId, 3, body(p3), {});
      await d.uploadPart('conf', 'mp', up.uploadId, 4, body('never listed'), {});
      assert.equal(r2.etag, md5(p2));
      const parts = await d.listParts('conf', 'mp', up.uploadId, { partNumberMarker: 0, maxParts: 2 });
      assert.deepEqual(parts.parts.map((p) => p.partNumber), [1, 2]);
      assert.equal(parts.isTruncated, true);
      const uploads = await d.listMultipartUploads('conf', { prefix: 'm', maxUploads: 10 });
      assert.ok(uploads.uploads.some((u) => u.uploadId === up.uploadId));
      await assert.rejects(d.completeMultipartUpload('conf', 'mp', up.uploadId, [{ partNumber: 2, etag: r2.etag }, { partNumber: 1, etag: r1.etag }]), isCode('InvalidPartOrder'));
      await assert.rejects(d.completeMultipartUpload('conf', 'mp', up.uploadId, [{ partNumber: 1, etag: md5('x') }]), isCode('InvalidPart'));
      await assert.rejects(d.completeMultipartUpload('conf', 'mp', up.uploadId, [{ partNumber: 3, etag: r3.etag }, { partNumber: 4, etag: md5('never listed') }]), isCode('EntityTooSmall'));
      const info = await d.completeMultipartUpload('conf', 'mp', up.uploadId, [{ partNumber: 1, etag: `"${r1.etag}"` }, { partNumber: 2, etag: r2.etag }, { partNumber: 3, etag: r3.etag }]);
      const expected = createHash('md5').update(Buffer.concat([p1, p2, p3].map((p) => createHash('md5').update(p).digest()))).digest('hex') + '-3';
      assert.equal(info.etag, expected);
      assert.equal(info.size, p1.length + p2.length + p3.length);
      assert.deepEqual(info.meta.userMeta, { a: '1' });
      const whole = await d.getObject('conf', 'mp');
      assert.ok((await read(whole?.body ?? body())).equals(Buffer.concat([p1, p2, p3])));
      const across = await d.getObject('conf', 'mp', { start: 2040, end: 4100 });
      assert.ok((await read(across?.body ?? body())).equals(Buffer.concat([p1, p2, p3]).subarray(2040, 4101)));
      await assert.rejects(d.listParts('conf', 'mp', up.uploadId, { partNumberMarker: 0, maxParts: 10 }), isCode('NoSuchUpload'));
    });

    it('multipart: abort, unknown ids, wrong key', async () => {
      const up = await d.createMultipartUpload('conf', 'ab', emptyMeta());
      await d.uploadPart('conf', 'ab', up.uploadId, 1, body('x'), {});
      await assert.rejects(d.uploadPart('conf', 'other-key', up.uploadId, 1, body('x'), {}), isCode('NoSuchUpload'));
      await d.abortMultipartUpload('conf', 'ab', up.uploadId);
      await assert.rejects(d.abortMultipartUpload('conf', 'ab', up.uploadId), isCode('NoSuchUpload'));
      await assert.rejects(d.uploadPart('conf', 'ab', 'nope', 1, body('x'), {}), isCode('NoSuchUpload'));
      await assert.rejects(d.completeMultipartUpload('conf', 'ab', 'nope', [{ partNumber: 1, etag: md5('x') }]), isCode('NoSuchUpload'));
      assert.equal(await d.headObject('conf', 'ab'), undefined);
    });
  });
}
