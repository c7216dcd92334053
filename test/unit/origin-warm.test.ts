import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('the origin client warmed at start-up (origin/warm, issue 19)', () => {
  it('runs a request through undici, then leaves nothing open: a process that only warms up exits', () => {
    const warm = fileURLToPath(new URL('../../src/origin/warm.ts', import.meta.url));
    const dir = mkdtempSync(path.join(tmpdir(), 'osprey-warm-'));
    const script = path.join(dir, 'warm.ts');
    writeFileSync(script, `import { warmOriginClient } from ${JSON.stringify(warm)};\nawait warmOriginClient();\nconsole.log('warmed');\n`);
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { timeout: 60_000, encoding: 'utf8' });
      assert.equal(r.error, undefined, 'the process did not exit within 60 s');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /warmed/, 'the warm-up request completed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
