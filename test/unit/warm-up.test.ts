import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnOsprey, tmpDir } from '../helpers/osprey.ts';

/**
 * Runs `lines` as an ES module in a child process whose temporary directory is a fresh one, and
 * gives the child's result and what it left in that directory whose name starts with `leftPrefix`
 * (tsx keeps its cache there too).
 */
function inChild(lines: string[], leftPrefix: string): { r: SpawnSyncReturns<string>; left: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'osprey-twarm-'));
  const childTmp = path.join(dir, 'tmp');
  mkdirSync(childTmp);
  const script = path.join(dir, 'child.ts');
  writeFileSync(script, lines.join('\n'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      timeout: 90_000,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: childTmp, OSPREY_TEST_DRIVER: 'fs' },
    });
    return { r, left: readdirSync(childTmp).filter((f) => f.startsWith(leftPrefix)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

describe('the start-up warm-up (warm-up.ts, issue 19)', () => {
  it("runs a migrated site's first requests on a throwaway server: two fills, their hits, a HEAD and a miss, then leaves nothing open or on disk", () => {
    const { r, left } = inChild(
      [
        `import { startApp } from ${src('app.ts')};`,
        `import { buildConfig } from ${src('config.ts')};`,
        `import { warmUp } from ${src('warm-up.ts')};`,
        `const config = buildConfig({ address: '127.0.0.1:0', dataDir: 'unused-data-dir' });`,
        `const statuses = await warmUp(config, (c, l) => startApp(c, l, { warmUp: false, throwaway: true }));`,
        `console.log(JSON.stringify(statuses));`,
      ],
      'osprey-',
    );
    assert.equal(r.error, undefined, 'the process did not exit within 90 s: the warm-up left something open');
    assert.equal(r.status, 0, r.stderr);
    // the large fill, its hit, the small fill, its hit, the HEAD, the key the origin does not have
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '[]'), [200, 200, 200, 200, 200, 404]);
    assert.deepEqual(left, [], 'no temporary directory left');
  });

  it('keeps within a small --max-object-size, and a request the server cuts short does not end the warm-up', () => {
    const { r } = inChild(
      [
        `import { startApp } from ${src('app.ts')};`,
        `import { buildConfig } from ${src('config.ts')};`,
        `import { warmUp } from ${src('warm-up.ts')};`,
        // 100 KiB: a 512 KiB fill would be refused (the server cuts the answer short)
        `const config = buildConfig({ address: '127.0.0.1:0', dataDir: 'unused-data-dir', maxObjectSize: 100 * 1024 });`,
        `const statuses = await warmUp(config, (c, l) => startApp(c, l, { warmUp: false, throwaway: true }));`,
        `console.log(JSON.stringify(statuses));`,
      ],
      'osprey-',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '[]'), [200, 200, 200, 200, 200, 404]);
  });

  it('touches nothing of the real server: once close() has waited for the warm-up, its store has no warm-up bucket, its data directory no warm-up file', () => {
    const { r, left } = inChild(
      [
        `import { mkdtempSync, readdirSync } from 'node:fs';`,
        `import os from 'node:os';`,
        `import path from 'node:path';`,
        `import { startOsprey } from ${JSON.stringify(fileURLToPath(new URL('../helpers/osprey.ts', import.meta.url)))};`,
        `import { openFsDriver } from ${src('storage/fs/index.ts')};`,
        `const dataDir = mkdtempSync(path.join(os.tmpdir(), 'data-'));`,
        `const s = await startOsprey({ dataDir });`,
        // close() waits for a warm-up still running: after it, the warm-up is over whenever it ran
        `await s.close();`,
        `const store = await openFsDriver({ dir: dataDir });`,
        `const buckets = await store.listBuckets();`,
        `await store.close();`,
        `const files = readdirSync(dataDir, { recursive: true });`,
        `console.log(JSON.stringify({ buckets: buckets.map((b) => b.name), warmFiles: files.filter((f) => String(f).includes('warm')) }));`,
        `process.exit(0);`,
      ],
      'osprey-warm-',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}'), { buckets: [], warmFiles: [] });
    assert.deepEqual(left, [], 'the warm-up directory is gone once close() returned');
  });
});

describe('`osprey serve` warms up before it listens (issue 19)', () => {
  it('has run the warm-up, every request answered as expected, before it says it is listening', async () => {
    const data = await tmpDir();
    const server = await spawnOsprey(['--address', '127.0.0.1:0', '--data', data, '--log-level', 'debug']);
    // pino writes its lines after the listening banner (it buffers): their times tell the order
    const seen = Date.now();
    try {
      let ran: string | undefined;
      for (let i = 0; i < 200 && !ran; i++) {
        ran = server.stdout.split('\n').find((l) => l.includes('the start-up warm-up ran'));
        if (!ran) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ran, `no warm-up line in:\n${server.stdout.slice(0, 2000)}`);
      const line = JSON.parse(ran) as { statuses: number[]; time: number };
      assert.ok(line.time <= seen, `the warm-up ended ${line.time - seen} ms after the server was seen listening`);
      assert.deepEqual(line.statuses, [200, 200, 200, 200, 200, 404]);
    } finally {
      await server.stop();
      await rm(data, { recursive: true, force: true });
    }
  });
});
