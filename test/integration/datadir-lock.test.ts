/**
 * Issue #15, defect 3: one data dir, one server. A second `osprey serve` on the same --data dir
 * refuses at once (one line naming the first one's PID, exit code 2) before it touches anything:
 * the first one's 8 MiB upload in flight still succeeds. The lock is the operating system's, held
 * for the life of the process, so a kill -9 releases it and a new server starts at once.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { s3, spawnOsprey, tmpDir } from '../helpers/osprey.ts';

const ON_S3 = process.env.OSPREY_TEST_DRIVER === 's3';

/**
 * A body of `size` bytes whose first half streams at once and whose second half waits for
 * `rest`: the upload is surely in flight (its temp file open) while the second server starts.
 */
function heldBody(size: number, started: () => void, rest: Promise<void>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(256 * 1024, size - sent);
      const push = () => {
        sent += n;
        this.push(Buffer.alloc(n, 0x5a));
      };
      if (sent < size / 2) return push();
      started();
      void rest.then(push);
    },
  });
}

describe('data dir lock (issue #15, defect 3)', { skip: ON_S3 && 'embedded store only: the lock guards a data dir' }, () => {
  it('a second server on the same data dir refuses with the PID of the first and exit code 2; kill -9 frees the dir', async () => {
    const dataDir = await tmpDir('osprey-lock-');
    const args = ['--address', '127.0.0.1:0', '--data', dataDir];
    const first = await spawnOsprey(args);
    let third: Awaited<ReturnType<typeof spawnOsprey>> | undefined;
    const client = s3(first, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'locked' }));
      const size = 8 * 1024 * 1024;
      let streaming!: () => void;
      const isStreaming = new Promise<void>((resolve) => (streaming = resolve));
      let secondDone!: () => void;
      const afterSecond = new Promise<void>((resolve) => (secondDone = resolve));
      const upload = client.send(
        new PutObjectCommand({ Bucket: 'locked', Key: 'big', Body: heldBody(size, streaming, afterSecond), ContentLength: size }),
      );
      upload.catch(() => {}); // awaited below; a failure before that must not go unhandled
      await isStreaming;
      // the first half is on the server's disk, in its temp file
      const tmpFiles = async () => (await readdir(path.join(dataDir, 'tmp'))).length;
      const deadline = Date.now() + 10_000;
      while ((await tmpFiles()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok((await tmpFiles()) > 0, 'the upload is in flight, in a temp file');

      const t0 = Date.now();
      const refused = await spawnOsprey(args).then(
        async (srv) => {
          await srv.kill();
          return undefined;
        },
        (err: Error) => err.message,
      );
      assert.ok(refused, 'the second server must not start');
      const m = /^osprey exited with (\d+): ([\s\S]*)$/.exec(refused);
      assert.ok(m, refused);
      assert.equal(m[1], '2', `exit code: ${refused}`);
      const lines = (m[2] ?? '').trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${m[2]}`);
      assert.match(lines[0] ?? '', new RegExp(`\\bPID ${first.child.pid}\\b`));
      assert.ok(lines[0]?.includes(dataDir), lines[0]);
      // at once: no waiting for the lock (the bound is spawnOsprey's own start-up allowance)
      assert.ok(Date.now() - t0 < 20_000, 'refused at once');
      assert.ok((await tmpFiles()) > 0, "the first server's temp file is still there");

      // the first server's upload, in flight all along, still completes whole
      secondDone();
      await upload;
      const got = await client.send(new GetObjectCommand({ Bucket: 'locked', Key: 'big' }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      assert.equal(bytes.length, size);
      assert.equal(createHash('md5').update(bytes).digest('hex'), createHash('md5').update(Buffer.alloc(size, 0x5a)).digest('hex'));

      // a crash releases the lock: the next server starts on the same dir and finds the data
      await first.kill();
      third = await spawnOsprey(args);
      const again = s3(third);
      const head = await again.send(new GetObjectCommand({ Bucket: 'locked', Key: 'big' }));
      assert.equal(head.ContentLength, size);
      await head.Body?.transformToByteArray();
      again.destroy();
    } finally {
      client.destroy();
      await first.kill();
      if (third) assert.equal(await third.stop(), 0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
