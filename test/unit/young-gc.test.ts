/**
 * src/young-gc: short-lived read buffers reported with `passed` are freed as they go, not piled up
 * until V8 next collects on its own (which, for buffers, comes tens of MiB later).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passed, youngGcAvailable } from '../../src/young-gc.ts';

/** Peak growth of process.memoryUsage().arrayBuffers while 200 MiB of 64 KiB buffers are made and dropped. */
function churn(report: boolean): number {
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  for (let i = 0; i < 3200; i++) {
    const b = Buffer.allocUnsafeSlow(64 * 1024);
    b[0] = i & 0xff;
    if (report) passed(b.length);
    if (i % 16 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
  return peak;
}

describe('young-gc', () => {
  it('has a collector to call', () => {
    assert.equal(youngGcAvailable, true);
  });

  it('keeps dropped 64 KiB buffers from piling up: at most ~2 x 4 MiB alive while 200 MiB go through, fewer than without it', () => {
    // without reporting, V8 left 30-40 MiB of them alive on the bench machine
    const unreported = churn(false);
    const reported = churn(true);
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    assert.ok(reported < 10 * 1024 * 1024, `peak ${mib(reported)} of buffers`);
    assert.ok(reported < unreported, `reported ${mib(reported)}, unreported ${mib(unreported)}`);
  });
});
