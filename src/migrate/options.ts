/**
 * @module migrate/options
 * The command-line options `osprey import` and `osprey verify` share, as commander declares them.
 * Light on purpose: the CLI registers them at start-up; the engines (and the AWS SDK) load only
 * when one of the two commands runs.
 */
import { Command, Option } from 'commander';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What commander hands over (strings, as typed). */
export interface CommonFlags {
  endpoint: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region: string;
  bucket: string;
  keys?: string;
  origin?: string;
  fromRule?: string;
  originSecretAccessKey?: string;
  fromS3?: string;
  sourceEndpoint?: string;
  sourceAccessKeyId?: string;
  sourceSecretAccessKey?: string;
  sourceRegion: string;
  saveMeta?: boolean;
  concurrency: string;
  retries: string;
  timeout: string;
  objectTimeout: string;
  report?: string;
  logInterval: string;
}

/** Adds the shared options to a command. */
export function commonOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--bucket <bucket>', 'the Osprey bucket')
    .option('--endpoint <url>', 'the Osprey server (env OSPREY_ENDPOINT)', process.env.OSPREY_ENDPOINT ?? 'http://127.0.0.1:9000')
    .option('--access-key-id <id>', 'owner access key id (default: $OSPREY_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'owner secret (default: $OSPREY_SECRET_ACCESS_KEY)')
    .option('--region <region>', 'signing region of the Osprey server', 'us-east-1')
    .option('--keys <file>', "the keys to take from the origin, one per line ('-': stdin); with --origin or --from-rule")
    .option('--origin <url>', 'the origin: each key is fetched from this URL + the key, as a MirrorURL')
    .option('--from-rule <n>', "the origin of the bucket's own Mirror rule with this RuleNumber (its key mapping, headers and signing)")
    .option(
      '--origin-secret-access-key <secret>',
      "with --from-rule: the rule's MirrorAuth secret, which the server never shows (env OSPREY_ORIGIN_SECRET_ACCESS_KEY)",
    )
    .option(
      '--from-s3 <s3url>',
      'a source bucket on an S3-compatible store: s3://bucket[/prefix], listed (the key in Osprey is the key without the prefix)',
    )
    .option('--source-endpoint <url>', 'with --from-s3: the source store (env OSPREY_SOURCE_ENDPOINT; default: AWS)')
    .option('--source-access-key-id <id>', 'with --from-s3 (env OSPREY_SOURCE_ACCESS_KEY_ID)')
    .option('--source-secret-access-key <secret>', 'with --from-s3 (env OSPREY_SOURCE_SECRET_ACCESS_KEY)')
    .option('--source-region <region>', 'with --from-s3: the source region', 'us-east-1')
    .option('--concurrency <n>', 'objects at once', '8')
    .option('--retries <n>', 'extra attempts per object after a transient error (network, 5xx, throttling, timeout), with backoff', '3')
    .option('--timeout <ms>', 'connect, first byte and idle time between body chunks, for the source and Osprey', '30000')
    .option('--object-timeout <ms>', 'longest one attempt at one object may take (0: no limit)', '0')
    .option('--report <file>', 'the JSON report: summary and every failure with its reason')
    .addOption(new Option('--log-interval <s>', 'seconds between progress lines when stderr is not a terminal (0: none)').default('10'));
}

/** `import`'s own option (verify compares bytes, not metadata). */
export const SAVE_META_OPTION = [
  '--save-meta',
  "keep the source's x-amz-meta-*/x-oss-meta-* user metadata (MirrorSaveOssMeta; with --from-rule the rule decides)",
] as const;

/**
 * Where the tools keep their state (XDG Base Directory): `$XDG_STATE_HOME/osprey`, or
 * `~/.local/state/osprey` when XDG_STATE_HOME is unset, empty or not an absolute path.
 */
export function stateDir(): string {
  const x = process.env.XDG_STATE_HOME;
  return path.join(x && path.isAbsolute(x) ? x : path.join(os.homedir(), '.local', 'state'), 'osprey');
}

function argsHash(endpoint: string, bucket: string, source: string): string {
  return createHash('sha256').update(`${endpoint}\n${bucket}\n${source}`).digest('hex').slice(0, 12);
}

function safeName(bucket: string): string {
  return bucket.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * `<state dir>/import-<bucket>-<hash of endpoint, bucket, source>.jsonl`: the same arguments find the
 * same journal, other ones another.
 */
export function defaultStatePath(endpoint: string, bucket: string, source: string): string {
  return path.join(stateDir(), `import-${safeName(bucket)}-${argsHash(endpoint, bucket, source)}.jsonl`);
}

/** Where earlier versions kept the journal: the current directory (still used when it is there). */
export function legacyStatePath(endpoint: string, bucket: string, source: string): string {
  return path.resolve(`osprey-import-${bucket}-${argsHash(endpoint, bucket, source)}.state.jsonl`);
}

/** `<state dir>/verify-<bucket>-<hash>.json`: verify's report when --report is not given (the latest run's). */
export function defaultReportPath(endpoint: string, bucket: string, source: string): string {
  return path.join(stateDir(), `verify-${safeName(bucket)}-${argsHash(endpoint, bucket, source)}.json`);
}

/** Writes the report; false (and a line on stderr) when it cannot. */
export function writeReport(file: string, report: object): boolean {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    return true;
  } catch (err) {
    process.stderr.write(`osprey: cannot write the report '${file}': ${(err as Error).message}\n`);
    return false;
  }
}

/** FatalError: one line on stderr and exit code 2. */
export function fatal(message: string): never {
  process.stderr.write(`osprey: ${message}\n`);
  process.exit(2);
}
