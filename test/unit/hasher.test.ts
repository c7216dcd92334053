import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Md5OffThread } from '../../src/mirror/hasher.ts';

describe('MD5 on the hashing thread (origin/hasher)', () => {
  it('a hashing thread started ahead of any fill (prestartHashing) does not keep the process alive', () => {
    const hasher = fileURLToPath(new URL('../../src/mirror/hasher.ts', import.meta.url));
    const dir = mkdtempSync(path.join(tmpdir(), 'osprey-hasher-'));
    const script = path.join(dir, 'prestart.ts');
    writeFileSync(script, `import { prestartHashing } from ${JSON.stringify(hasher)};\nprestartHashing();\n`);
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { timeout: 60_000, encoding: 'utf8' });
      assert.equal(r.error, undefined, 'the process did not exit within 60 s');
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MIR-29 gives the same MD5 as hashing inline, for chunks of every size, and for several hashes at once', async () => {
    const bodies = [0, 1, 65_536, 1024 * 1024, 1024 * 1024 + 7, 20 * 1024 * 1024 + 3].map((n) => randomBytes(n));
    const results = await Promise.all(
      bodies.map(async (body, i) => {
        const h = new Md5OffThread();
        let at = 0;
        let step = 1 + i * 997;
        while (at < body.length) {
          const n = Math.min(step, body.length - at);
          const wait = h.update(body.subarray(at, at + n));
          if (wait) await wait;
          at += n;
          step = ((step * 7 + 13) % 700_000) + 1;
        }
        return h.digest();
      }),
    );
    for (const [i, body] of bodies.entries())
      assert.deepEqual(results[i], createHash('md5').update(body).digest(), `body ${i} of ${body.length} bytes`);
  });

  it('holds the writer back when more than a few MiB wait for the thread (update returns a promise)', async () => {
    const h = new Md5OffThread();
    const chunk = Buffer.alloc(1024 * 1024, 1);
    let waited = 0;
    for (let i = 0; i < 64; i++) {
      const wait = h.update(chunk);
      if (wait) {
        waited++;
        await wait;
      }
    }
    const expected = createHash('md5');
    for (let i = 0; i < 64; i++) expected.update(chunk);
    assert.deepEqual(await h.digest(), expected.digest());
    assert.ok(waited > 0, 'never asked the writer to wait');
  });

  it('a dropped hash (the fill failed) does not disturb the others', async () => {
    const dropped = new Md5OffThread();
    void dropped.update(Buffer.alloc(3 * 1024 * 1024, 2));
    const kept = new Md5OffThread();
    void kept.update(Buffer.from('abc'));
    dropped.drop();
    assert.equal((await kept.digest()).toString('hex'), createHash('md5').update('abc').digest('hex'));
  });
});
