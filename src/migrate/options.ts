/**
 * @module migrate/options
 * The command-line options `osprey import` and `osprey verify` share, as commander declares them.
 * Light on purpose: the CLI registers them at start-up; the engines (and the AWS SDK) load only
 * when one of the two commands runs.
 */
import { Command, Option } from 'commander';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
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
    .option('--origin-secret-access-key <secret>', "with --from-rule: the rule's MirrorAuth secret, which the server never shows (env OSPREY_ORIGIN_SECRET_ACCESS_KEY)")
    .option('--from-s3 <s3url>', 'a source bucket on an S3-compatible store: s3://bucket[/prefix], listed (the key in Osprey is the key without the prefix)')
    .option('--source-endpoint <url>', 'with --from-s3: the source store (env OSPREY_SOURCE_ENDPOINT; default: AWS)')
    .option('--source-access-key-id <id>', 'with --from-s3 (env OSPREY_SOURCE_ACCESS_KEY_ID)')
    .option('--source-secret-access-key <secret>', 'with --from-s3 (env OSPREY_SOURCE_SECRET_ACCESS_KEY)')
    .option('--source-region <region>', 'with --from-s3: the source region', 'us-east-1')
    .option('--save-meta', "keep the source's x-amz-meta-*/x-oss-meta-* user metadata (MirrorSaveOssMeta; with --from-rule the rule decides)")
    .option('--concurrency <n>', 'objects at once', '8')
    .option('--retries <n>', 'extra attempts per object after a transient error (network, 5xx, throttling, timeout), with backoff', '3')
    .option('--timeout <ms>', 'connect, first byte and idle time between body chunks, for the source and Osprey', '30000')
    .option('--object-timeout <ms>', 'longest one attempt at one object may take (0: no limit)', '0')
    .option('--report <file>', 'write a JSON report (summary and every failure with its reason)')
    .addOption(new Option('--log-interval <s>', 'seconds between progress lines when stderr is not a terminal (0: none)').default('10'));
}

/** `<cwd>/osprey-import-<bucket>-<hash of endpoint, bucket, source>.state.jsonl`: the same arguments find the same journal. */
export function defaultStatePath(endpoint: string, bucket: string, source: string): string {
  const h = createHash('sha256').update(`${endpoint}\n${bucket}\n${source}`).digest('hex').slice(0, 12);
  return path.resolve(`osprey-import-${bucket}-${h}.state.jsonl`);
}

export function writeReport(file: string, report: object): void {
  try {
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`osprey: cannot write the report '${file}': ${(err as Error).message}\n`);
  }
}

/** FatalError: one line on stderr and exit code 2. */
export function fatal(message: string): never {
  process.stderr.write(`osprey: ${message}\n`);
  process.exit(2);
}
