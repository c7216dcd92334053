/**
 * @module cli/import
 * `osprey import`: copy what is still missing from an origin (a key list) or a source S3 bucket
 * into an Osprey bucket, as mirror fills of those keys would have stored it; resumable through a
 * journal in the state directory, never overwriting (except, with --update, a copy whose source
 * changed since). Exit 0: everything copied or skipped; 1: some objects failed (listed in the
 * summary and the report); 2: bad input or setup (nothing written).
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { FatalError } from '../migrate/errors.js';
import type { ImportResult } from '../migrate/import.js';
import { Journal } from '../migrate/journal.js';
import { formatBytes, formatDuration } from '../migrate/progress.js';
import type { CommonFlags } from '../migrate/options.js';
import { commonOptions, defaultStatePath, fatal, legacyStatePath, SAVE_META_OPTION, writeReport } from '../migrate/options.js';

interface ImportFlags extends CommonFlags {
  check?: boolean;
  update?: boolean;
  dryRun?: boolean;
  state?: string;
  multipartThreshold: string;
  partSize: string;
}

function bytes(name: string, v: string, min: number): number {
  const m = /^(\d+)\s*(k|m|g|ki|mi|gi)?b?$/i.exec(v.trim());
  const unit = { '': 1, k: 1024, ki: 1024, m: 1024 ** 2, mi: 1024 ** 2, g: 1024 ** 3, gi: 1024 ** 3 }[(m?.[2] ?? '').toLowerCase()];
  const n = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new FatalError(`invalid setting '${name}': '${v}' is not a size of at least ${min} bytes (e.g. 64MiB)`);
  return n;
}

function summary(r: ImportResult, dryRun: boolean, update: boolean): string {
  const lines: string[] = [];
  if (dryRun) {
    lines.push(
      `dry run finished in ${formatDuration(r.elapsedMs)}: ${r.wouldCopy} would be copied, ${r.skipped} already in the bucket, ${r.resumed} done in an earlier run, ${r.failed} failed`,
    );
  } else {
    lines.push(
      `import finished in ${formatDuration(r.elapsedMs)}: ${r.copied} copied${update ? `, ${r.updated} updated` : ''} (${formatBytes(r.bytes)}), ${r.skipped} skipped (already in the bucket), ${r.resumed} done in an earlier run, ${r.failed} failed`,
    );
  }
  for (const f of r.failures.slice(0, 20))
    lines.push(`  failed: ${f.key}: ${f.reason}${f.attempts > 1 ? ` (${f.attempts} attempts)` : ''}`);
  if (r.failures.length > 20) lines.push(`  … and ${r.failures.length - 20} more (see --report)`);
  if (r.stoppedBy) lines.push(`stopped: ${r.stoppedBy}`);
  return `${lines.join('\n')}\n`;
}

export function importCommand(): Command {
  const cmd = new Command('import').description(
    'copy objects from an origin or a source S3 bucket into an Osprey bucket, as mirror fills would store them (resumable)',
  );
  commonOptions(cmd)
    .option(...SAVE_META_OPTION)
    .option(
      '--check',
      "objects already in the bucket are re-checked, whatever the journal says, by size, MD5/ETag and the origin's ETag/Last-Modified recorded with the copy (a difference is a failure; nothing is overwritten)",
    )
    .option(
      '--update',
      'with --check (implied): copy again an object whose source changed since it was copied, replacing it in one step (never an object a client wrote)',
    )
    .option('--dry-run', 'list what would be copied; write nothing')
    .option(
      '--state <file>',
      'the resume journal (default: $XDG_STATE_HOME/osprey/import-<bucket>-<hash of the arguments>.jsonl, XDG_STATE_HOME defaulting to ~/.local/state)',
    )
    .option('--multipart-threshold <size>', 'objects larger than this, or of unknown size, go as multipart uploads', '1GiB')
    .option('--part-size <size>', 'multipart part size (memory: 2 parts per object in flight)', '8MiB')
    .action(async (flags: ImportFlags) => {
      const started = new Date();
      let journal: Journal | undefined;
      try {
        const threshold = bytes('multipart-threshold', flags.multipartThreshold, 0);
        const partSize = bytes('part-size', flags.partSize, 5 * 1024 * 1024);
        // the engines and the AWS SDK load only when the command runs
        const { setUp } = await import('../migrate/setup.js');
        const c = await setUp(flags);
        for (const note of c.notes) process.stderr.write(`osprey: note: ${note}\n`);
        let statePath = flags.state ?? defaultStatePath(c.endpoint, c.bucket, c.source.description);
        // an import begun by an earlier version kept its journal in the current directory
        const legacy = legacyStatePath(c.endpoint, c.bucket, c.source.description);
        if (flags.state === undefined && !existsSync(statePath) && existsSync(legacy)) {
          process.stderr.write(`osprey: note: using the journal ${legacy}, which an earlier version wrote to the current directory\n`);
          statePath = legacy;
        }
        journal = Journal.open(
          statePath,
          { bucket: c.bucket, endpoint: c.endpoint, source: c.source.description },
          { readOnly: flags.dryRun === true },
        );
        if (journal.resumed) process.stderr.write(`osprey: resuming from ${statePath} (${journal.done.size} objects already done)\n`);
        const { runImport } = await import('../migrate/import.js');
        const r = await runImport({
          sdk: c.sdk,
          target: c.target,
          bucket: c.bucket,
          source: c.source,
          concurrency: c.concurrency,
          retries: c.retries,
          objectTimeoutMs: c.objectTimeoutMs,
          check: flags.check === true || flags.update === true,
          update: flags.update === true,
          dryRun: flags.dryRun === true,
          multipartThreshold: threshold,
          partSize,
          journal,
          tty: c.tty,
          logIntervalMs: c.logIntervalMs,
          print: (line) => process.stdout.write(`${line}\n`),
        });
        journal.close();
        await c.target.close();
        await c.source.close();
        process.stdout.write(summary(r, flags.dryRun === true, flags.update === true));
        if (flags.dryRun !== true) process.stdout.write(`state: ${statePath}\n`);
        if (c.report !== undefined) {
          writeReport(c.report, {
            command: 'import',
            bucket: c.bucket,
            endpoint: c.endpoint,
            source: c.source.description,
            dryRun: flags.dryRun === true,
            state: statePath,
            started: started.toISOString(),
            finished: new Date().toISOString(),
            elapsedMs: r.elapsedMs,
            summary: {
              copied: r.copied,
              updated: r.updated,
              skipped: r.skipped,
              resumed: r.resumed,
              failed: r.failed,
              wouldCopy: r.wouldCopy,
              bytes: r.bytes,
            },
            ...(r.stoppedBy && { stoppedBy: r.stoppedBy }),
            failures: r.failures,
          });
          process.stdout.write(`report: ${c.report}\n`);
        }
        process.exit(r.stoppedBy ? 2 : r.failed > 0 ? 1 : 0);
      } catch (err) {
        journal?.close();
        if (!(err instanceof FatalError)) throw err;
        if (flags.report !== undefined)
          writeReport(flags.report, {
            command: 'import',
            bucket: flags.bucket,
            started: started.toISOString(),
            fatal: err.message,
            failures: [],
          });
        fatal(`${err.message}; nothing was copied`);
      }
    });
  return cmd;
}
