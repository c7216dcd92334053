/**
 * @module cli/verify
 * `osprey verify`: compare a source (an origin and a key list, or a source S3 bucket) with an
 * Osprey bucket, key by key: missing, size mismatch, content mismatch (MD5/ETag where both sides
 * give one; the bytes themselves with --deep). Exit 0 only at parity; 1 when something differs;
 * 2 for bad input or setup.
 */
import { Command } from 'commander';
import { FatalError } from '../migrate/errors.js';
import { formatBytes, formatDuration } from '../migrate/progress.js';
import type { CommonFlags } from '../migrate/options.js';
import { commonOptions, fatal, writeReport } from '../migrate/options.js';
import type { VerifyResult } from '../migrate/verify.js';

function summary(r: VerifyResult, deep: boolean): string {
  const parity = r.problems.length === 0 && !r.stoppedBy;
  const pct = r.checked > 0 ? ((100 * r.ok) / r.checked).toFixed(r.ok === r.checked ? 0 : 2) : '0';
  const lines = [
    `verify finished in ${formatDuration(r.elapsedMs)}: ${r.checked} checked, ${r.ok} at parity (${pct}%), ${r.missing} missing, ${r.sizeMismatch} size mismatch, ${r.contentMismatch} content mismatch, ${r.errors} errors`,
    `  content compared for ${r.contentCompared}${deep ? ` (bytes hashed: ${formatBytes(r.bytes)})` : ' by MD5/ETag'}; size only for ${r.sizeOnly}${r.sizeOnly > 0 && !deep ? ' (no MD5 on one side: use --deep to hash the bytes)' : ''}`,
  ];
  for (const p of r.problems.slice(0, 20)) lines.push(`  ${p.problem}: ${p.key}: ${p.detail}`);
  if (r.problems.length > 20) lines.push(`  … and ${r.problems.length - 20} more (see --report)`);
  if (r.stoppedBy) lines.push(`stopped: ${r.stoppedBy}`);
  lines.push(parity ? 'parity: yes' : 'parity: NO');
  return `${lines.join('\n')}\n`;
}

export function verifyCommand(): Command {
  const cmd = new Command('verify').description('compare a source with an Osprey bucket: missing, size and content mismatches');
  commonOptions(cmd)
    .option('--deep', 'hash the bytes of both sides instead of trusting MD5/ETag (reads every object twice)')
    .action(async (flags: CommonFlags & { deep?: boolean }) => {
      const started = new Date();
      try {
        // the engines and the AWS SDK load only when the command runs
        const { setUp } = await import('../migrate/setup.js');
        const c = await setUp(flags);
        for (const note of c.notes) process.stderr.write(`osprey: note: ${note}\n`);
        const { runVerify } = await import('../migrate/verify.js');
        const r = await runVerify({ client: c.client, bucket: c.bucket, source: c.source, concurrency: c.concurrency, retries: c.retries, objectTimeoutMs: c.objectTimeoutMs, deep: flags.deep === true, tty: c.tty, logIntervalMs: c.logIntervalMs });
        await c.source.close();
        process.stdout.write(summary(r, flags.deep === true));
        const parity = r.problems.length === 0 && !r.stoppedBy;
        if (c.report !== undefined) {
          writeReport(c.report, {
            command: 'verify', bucket: c.bucket, endpoint: c.endpoint, source: c.source.description, deep: flags.deep === true, parity,
            started: started.toISOString(), finished: new Date().toISOString(), elapsedMs: r.elapsedMs,
            summary: { checked: r.checked, ok: r.ok, contentCompared: r.contentCompared, sizeOnly: r.sizeOnly, missing: r.missing, sizeMismatch: r.sizeMismatch, contentMismatch: r.contentMismatch, errors: r.errors },
            ...(r.stoppedBy && { stoppedBy: r.stoppedBy }), problems: r.problems,
          });
          process.stdout.write(`report: ${c.report}\n`);
        }
        process.exit(r.stoppedBy ? 2 : parity ? 0 : 1);
      } catch (err) {
        if (!(err instanceof FatalError)) throw err;
        if (flags.report !== undefined) writeReport(flags.report, { command: 'verify', bucket: flags.bucket, started: started.toISOString(), fatal: err.message, parity: false, problems: [] });
        fatal(err.message);
      }
    });
  return cmd;
}
