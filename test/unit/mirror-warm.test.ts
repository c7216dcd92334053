import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Runs `lines` as an ES module in a child process whose temporary directory is a fresh one, and
 * gives the child's result and what it left in that directory whose name starts with `leftPrefix`
 * (tsx keeps its cache there too).
 */
function inChild(lines: string[], leftPrefix: string, env: Record<string, string> = {}): { r: SpawnSyncReturns<string>; left: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'osprey-mwarm-'));
  const childTmp = path.join(dir, 'tmp');
  mkdirSync(childTmp);
  const script = path.join(dir, 'child.ts');
  writeFileSync(script, lines.join('\n'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      timeout: 60_000,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: childTmp, ...env },
    });
    return { r, left: readdirSync(childTmp).filter((f) => f.startsWith(leftPrefix)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the large-fill path warmed at start-up (mirror/warm, issue 19)', () => {
  it('runs a throwaway fill through an engine of its own, then leaves nothing open or on disk: a process that only warms up exits', () => {
    const warm = fileURLToPath(new URL('../../src/mirror/warm.ts', import.meta.url));
    const { r, left } = inChild(
      [
        `import { warmFills } from ${JSON.stringify(warm)};`,
        // proxy-only: the driver is never asked
        `await warmFills({ capabilities: {} } as never);`,
        `console.log('warmed');`,
      ],
      'osprey-',
    );
    assert.equal(r.error, undefined, 'the process did not exit within 60 s');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warmed/, 'the warm-up fill completed');
    assert.deepEqual(left, [], 'no spool directory or file left');
  });
});

describe('a server stopped during the warm-up (mirror/warm, issue 19)', () => {
  it('leaves no warm-up spool directory behind: close() waits for the warm-up before the process exits', () => {
    const helpers = fileURLToPath(new URL('../helpers/osprey.ts', import.meta.url));
    // as `osprey serve` does on SIGTERM: close, then exit at once
    const { r, left } = inChild(
      [
        `import { startOsprey } from ${JSON.stringify(helpers)};`,
        `const s = await startOsprey();`,
        `await s.close();`,
        `console.log('closed');`,
        `process.exit(0);`,
      ],
      'osprey-warm-',
      { OSPREY_TEST_DRIVER: 'fs' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /closed/);
    assert.deepEqual(left, [], 'the warm-up spool directory is gone');
  });
});
