/**
 * @module cli/verify
 * `osprey verify`: compare a source (an origin and a key list, or a source S3 bucket) with an
 * Osprey bucket, key by key: missing, size mismatch, content mismatch (MD5/ETag where both sides
 * give one; the bytes themselves with --deep), changed at the origin since it was copied (the
 * origin's ETag/Last-Modified recorded with the copy against its HEAD now). Every key off parity
 * is in the report (the state directory's, unless --report names one); the terminal shows the
 * first --list of them and how many more. Exit 0 only at parity; 1 when something differs; 2 for
 * bad input or setup.
 */
import { Command } from 'commander';
import { FatalError } from '../migrate/errors.js';
import { formatBytes, formatDuration } from '../migrate/progress.js';
import type { CommonFlags } from '../migrate/options.js';
import { commonOptions, defaultReportPath, fatal, writeReport } from '../migrate/options.js';
import type { VerifyResult } from '../migrate/verify.js';

interface VerifyFlags extends CommonFlags {
  deep?: boolean;
  list: string;
}

/** Why some keys were compared by size alone (terminal and report). */
function sizeOnlyNote(r: VerifyResult): string | undefined {
  if (r.sizeOnly === 0) return undefined;
  const why = [
    r.noOriginValidator > 0 && `${r.noOriginValidator} without a validator from the origin`,
    r.noneRecorded > 0 && `${r.noneRecorded} with no validator recorded in the bucket (copied by an older Osprey, or written by a client)`,
  ].filter(Boolean);
  return `size only: ${why.join(', ')}; --deep hashes the bytes of both sides`;
}

function summary(r: VerifyResult, deep: boolean, list: number, report: string | undefined): string {
  const parity = r.problems.length === 0 && !r.stoppedBy;
  const pct = r.checked > 0 ? ((100 * r.ok) / r.checked).toFixed(r.ok === r.checked ? 0 : 2) : '0';
  const lines = [
    `verify finished in ${formatDuration(r.elapsedMs)}: ${r.checked} checked, ${r.ok} at parity (${pct}%), ${r.missing} missing, ${r.sizeMismatch} size mismatch, ${r.contentMismatch} content mismatch, ${r.originChanged} changed at the origin, ${r.errors} errors`,
    `  content compared for ${r.contentCompared}${deep ? ` (bytes hashed: ${formatBytes(r.bytes)})` : ' by MD5/ETag'}; unchanged at the origin by ETag/Last-Modified for ${r.validated}; size only for ${r.sizeOnly}`,
  ];
  const note = sizeOnlyNote(r);
  if (note !== undefined) lines.push(`  ${note}`);
  for (const p of r.problems.slice(0, list)) lines.push(`  ${p.problem}: ${p.key}: ${p.detail}`);
  if (r.problems.length > list)
    lines.push(
      `  … and ${r.problems.length - list} more (${report !== undefined ? 'all in the report' : 'the report could not be written'})`,
    );
  if (r.stoppedBy) lines.push(`stopped: ${r.stoppedBy}`);
  lines.push(parity ? 'parity: yes' : 'parity: NO');
  return `${lines.join('\n')}\n`;
}

export function verifyCommand(): Command {
  const cmd = new Command('verify').description(
    'compare a source with an Osprey bucket: missing, size and content mismatches, files changed at the origin since they were copied',
  );
  commonOptions(cmd)
    .option('--deep', 'hash the bytes of both sides instead of trusting MD5/ETag and validators (reads every object twice)')
    .option('--list <n>', 'keys off parity shown on the terminal (all of them are in the report)', '20')
    .action(async (flags: VerifyFlags) => {
      const started = new Date();
      try {
        const list = Number(flags.list);
        if (!Number.isSafeInteger(list) || list < 0)
          throw new FatalError(`invalid setting 'list': '${flags.list}' is not a whole number of at least 0`);
        // the engines and the AWS SDK load only when the command runs
        const { setUp } = await import('../migrate/setup.js');
        const c = await setUp(flags);
        for (const note of c.notes) process.stderr.write(`osprey: note: ${note}\n`);
        const { runVerify } = await import('../migrate/verify.js');
        const r = await runVerify({
          client: await c.sdk(),
          bucket: c.bucket,
          source: c.source,
          concurrency: c.concurrency,
          retries: c.retries,
          objectTimeoutMs: c.objectTimeoutMs,
          deep: flags.deep === true,
          tty: c.tty,
          logIntervalMs: c.logIntervalMs,
        });
        await c.target.close();
        await c.source.close();
        const parity = r.problems.length === 0 && !r.stoppedBy;
        // every key off parity is named somewhere: in the report, by default the state directory's
        const reportPath = c.report ?? defaultReportPath(c.endpoint, c.bucket, c.source.description);
        const written = writeReport(reportPath, {
          command: 'verify',
          bucket: c.bucket,
          endpoint: c.endpoint,
          source: c.source.description,
          deep: flags.deep === true,
          parity,
          started: started.toISOString(),
          finished: new Date().toISOString(),
          elapsedMs: r.elapsedMs,
          summary: {
            checked: r.checked,
            ok: r.ok,
            failed: r.problems.length,
            contentCompared: r.contentCompared,
            validated: r.validated,
            sizeOnly: r.sizeOnly,
            noOriginValidator: r.noOriginValidator,
            noneRecorded: r.noneRecorded,
            missing: r.missing,
            sizeMismatch: r.sizeMismatch,
            contentMismatch: r.contentMismatch,
            originChanged: r.originChanged,
            errors: r.errors,
          },
          ...(r.stoppedBy && { stoppedBy: r.stoppedBy }),
          notes: [sizeOnlyNote(r)].filter((n) => n !== undefined),
          failures: r.problems,
          // the list's earlier name, kept for readers of older reports
          problems: r.problems,
        });
        process.stdout.write(summary(r, flags.deep === true, list, written ? reportPath : undefined));
        if (written) process.stdout.write(`report: ${reportPath}\n`);
        process.exit(r.stoppedBy ? 2 : parity ? 0 : 1);
      } catch (err) {
        if (!(err instanceof FatalError)) throw err;
        if (flags.report !== undefined)
          writeReport(flags.report, {
            command: 'verify',
            bucket: flags.bucket,
            started: started.toISOString(),
            fatal: err.message,
            parity: false,
            failures: [],
            problems: [],
          });
        fatal(err.message);
      }
    });
  return cmd;
}
