/**
 * @module migrate/setup
 * The options `osprey import` and `osprey verify` share (the Osprey endpoint and credentials, the
 * source, concurrency, retries, timeouts, report), checked before anything is written, and the
 * source they describe. Every problem is a FatalError naming the setting.
 */
import type { CommonFlags } from './options.js';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { request } from 'undici';
import { signRequestV4 } from '../auth/sigv4.js';
import { S3Error } from '../errors.js';
import { errorBody } from '../codec/xml.js';
import { MIRROR_USER_AGENT } from '../rules/mirror-plan.js';
import { originAuthOf } from '../rules/mirror-auth.js';
import type { RoutingRule } from '../rules/rules.js';
import { encodeKeyPath } from '../codec/uri.js';
import { describe, FatalError } from './errors.js';
import { readKeyList } from './keys.js';
import type { Source } from './source.js';
import { HttpOriginSource, normalizeOriginUrl, plainOriginPlanner, rulePlanner } from './source-http.js';
import { checkBucket, TargetClient } from './target.js';
import type { S3Client } from '@aws-sdk/client-s3';

export type { CommonFlags } from './options.js';

export interface Common {
  endpoint: string;
  bucket: string;
  /** the bucket check, listings, HEADs and single PUTs (undici, SigV4 signed here) */
  target: TargetClient;
  /**
   * An AWS SDK client for the endpoint, made (and the SDK loaded, ~0.3 s of CPU) on the first call:
   * multipart uploads and verify's reads need it, most imports never do.
   */
  sdk(): Promise<S3Client>;
  source: Source;
  concurrency: number;
  retries: number;
  timeoutMs: number;
  objectTimeoutMs: number;
  report?: string;
  logIntervalMs: number;
  tty: boolean;
  /** warnings to print before starting */
  notes: string[];
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new FatalError(`invalid setting '${name}': '${v}' is not a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  return n;
}

function url(name: string, v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new FatalError(`invalid setting '${name}': '${v}' is not an http(s) URL`);
  }
  return v.replace(/\/+$/, '');
}

/** Validates the shared flags, builds the client and the source, and checks both answer. */
export async function setUp(f: CommonFlags): Promise<Common> {
  const endpoint = url('endpoint', f.endpoint);
  const accessKeyId = f.accessKeyId ?? process.env.OSPREY_ACCESS_KEY_ID;
  const secretAccessKey = f.secretAccessKey ?? process.env.OSPREY_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new FatalError(
      "invalid setting 'access-key-id': give --access-key-id/--secret-access-key or OSPREY_ACCESS_KEY_ID/OSPREY_SECRET_ACCESS_KEY",
    );
  const concurrency = int('concurrency', f.concurrency, 1);
  const retries = int('retries', f.retries, 0);
  const timeoutMs = int('timeout', f.timeout, 1);
  const objectTimeoutMs = int('object-timeout', f.objectTimeout, 0);
  const logIntervalMs = int('log-interval', f.logInterval, 0) * 1000;
  const given = [
    f.origin !== undefined && '--origin',
    f.fromRule !== undefined && '--from-rule',
    f.fromS3 !== undefined && '--from-s3',
  ].filter(Boolean);
  if (given.length !== 1)
    throw new FatalError(
      `give exactly one source: --origin URL, --from-rule N or --from-s3 s3://bucket/prefix${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`,
    );
  if (f.fromS3 !== undefined && f.keys !== undefined)
    throw new FatalError("invalid setting 'keys': --from-s3 lists the source bucket; --keys goes with --origin or --from-rule");
  if (f.fromS3 === undefined && f.keys === undefined)
    throw new FatalError("invalid setting 'keys': --origin and --from-rule need --keys FILE (one key per line, '-' for stdin)");

  // bad input first (the key list), then: is the bucket there and are we let in, then the source
  const keys = f.fromS3 === undefined ? await readKeyList(f.keys ?? '-') : [];
  const target = new TargetClient(endpoint, f.region, { accessKeyId, secretAccessKey }, { timeoutMs, connections: concurrency * 2 + 4 });
  let client: Promise<S3Client> | undefined;
  const sdk = () =>
    (client ??= import('./target-sdk.js').then(({ makeClient }) =>
      makeClient({ endpoint, region: f.region, accessKeyId, secretAccessKey, timeoutMs, maxSockets: concurrency * 2 + 4 }),
    ));
  await checkBucket(target, f.bucket, endpoint);
  const notes: string[] = [];
  const signal = AbortSignal.timeout(Math.max(timeoutMs, 5000));
  let source: Source;
  if (f.fromS3 !== undefined) {
    // the S3 source is the SDK's (loaded only for it)
    const [{ parseS3Url, S3Source }, { makeClient }] = await Promise.all([import('./source-s3.js'), import('./target-sdk.js')]);
    const { bucket, prefix } = parseS3Url(f.fromS3);
    const sEndpoint = f.sourceEndpoint ?? process.env.OSPREY_SOURCE_ENDPOINT;
    const sKey = f.sourceAccessKeyId ?? process.env.OSPREY_SOURCE_ACCESS_KEY_ID;
    const sSecret = f.sourceSecretAccessKey ?? process.env.OSPREY_SOURCE_SECRET_ACCESS_KEY;
    if (!sKey || !sSecret)
      throw new FatalError(
        "invalid setting 'source-access-key-id': --from-s3 needs --source-access-key-id/--source-secret-access-key or OSPREY_SOURCE_ACCESS_KEY_ID/OSPREY_SOURCE_SECRET_ACCESS_KEY",
      );
    const base = sEndpoint !== undefined ? url('source-endpoint', sEndpoint) : undefined;
    const sClient = makeClient({
      ...(base !== undefined && { endpoint: base }),
      region: f.sourceRegion,
      accessKeyId: sKey,
      secretAccessKey: sSecret,
      timeoutMs,
      maxSockets: concurrency * 2 + 4,
    });
    const urlBase = base !== undefined ? `${base}/${encodeKeyPath(bucket)}/` : `https://${bucket}.s3.${f.sourceRegion}.amazonaws.com/`;
    source = new S3Source({ client: sClient, bucket, prefix, urlBase, saveMeta: f.saveMeta === true, retries });
  } else {
    const keysName = f.keys === '-' ? 'stdin' : path.resolve(f.keys ?? '');
    if (f.origin !== undefined) {
      const base = normalizeOriginUrl(f.origin);
      source = new HttpOriginSource(
        `origin ${base} keys ${keysName}`,
        keys,
        plainOriginPlanner(base, MIRROR_USER_AGENT, f.saveMeta === true),
        timeoutMs,
      );
    } else {
      const n = int('from-rule', f.fromRule ?? '', 1);
      const rule = await mirrorRule(
        endpoint,
        { accessKeyId, secretAccessKey },
        f.region,
        f.bucket,
        n,
        f.originSecretAccessKey ?? process.env.OSPREY_ORIGIN_SECRET_ACCESS_KEY,
        notes,
      );
      checkKeysMatch(rule, keys);
      source = new HttpOriginSource(
        `rule ${n} of ${f.bucket} (${rule.Redirect.MirrorURL ?? ''}) keys ${keysName}`,
        keys,
        rulePlanner(rule, MIRROR_USER_AGENT, originAuthOf(rule)),
        timeoutMs,
      );
    }
  }
  await source.preflight(signal);
  return {
    endpoint,
    bucket: f.bucket,
    target,
    sdk,
    source,
    concurrency,
    retries,
    timeoutMs,
    objectTimeoutMs,
    logIntervalMs,
    tty: process.stderr.isTTY === true,
    notes,
    ...(f.report !== undefined && { report: f.report }),
  };
}

/** The bucket's Mirror rule number `n`, read with GET ?website (the raw XML: the SDK drops Mirror fields). */
async function mirrorRule(
  endpoint: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  region: string,
  bucket: string,
  n: number,
  secret: string | undefined,
  notes: string[],
): Promise<RoutingRule> {
  const target = new URL(`${endpoint}/${encodeURIComponent(bucket)}?website`);
  const headers = signRequestV4(
    { method: 'GET', url: target.pathname + target.search, headers: { host: target.host } },
    creds,
    createHash('sha256').update('').digest('hex'),
    new Date(),
    region,
  );
  let text: string;
  let status: number;
  try {
    const res = await request(target, { method: 'GET', headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    throw new FatalError(`cannot reach ${endpoint}: ${describe(err)}`);
  }
  if (status !== 200) {
    const body = errorBody(text);
    const code = body.code ?? String(status);
    if (code === 'NoSuchWebsiteConfiguration') throw new FatalError(`--from-rule ${n}: the bucket '${bucket}' has no rules`);
    if (code === 'NoSuchBucket') throw new FatalError(`the bucket '${bucket}' does not exist at ${endpoint}`);
    throw new FatalError(`--from-rule ${n}: reading the rules of '${bucket}' failed: ${code}: ${body.message ?? ''}`);
  }
  // the rules' parser and validators load only for --from-rule
  const { MASKED_SECRET, parseWebsiteXml } = await import('../rules/rules.js');
  let rules: RoutingRule[];
  try {
    rules = parseWebsiteXml(text, { maxRules: 50 }).RoutingRules;
  } catch (err) {
    throw new FatalError(
      `--from-rule ${n}: the rules of '${bucket}' cannot be read: ${err instanceof S3Error ? err.message : String(err)}`,
    );
  }
  const rule = rules.find((r) => r.RuleNumber === n);
  if (!rule)
    throw new FatalError(
      `--from-rule ${n}: the bucket '${bucket}' has no rule ${n} (it has ${rules.map((r) => r.RuleNumber).join(', ') || 'none'})`,
    );
  const r = rule.Redirect;
  if (r.RedirectType !== 'Mirror' || !r.MirrorURL)
    throw new FatalError(`--from-rule ${n}: rule ${n} is not a Mirror rule (RedirectType ${r.RedirectType})`);
  if (r.MirrorProxyPass === true)
    throw new FatalError(`--from-rule ${n}: rule ${n} has MirrorProxyPass (a mirror serves without storing): nothing to import`);
  if (r.MirrorAuth?.AccessKeySecret === MASKED_SECRET) {
    if (!secret)
      throw new FatalError(
        `--from-rule ${n}: rule ${n} signs origin requests (MirrorAuth) and the server never shows the secret: give --origin-secret-access-key or OSPREY_ORIGIN_SECRET_ACCESS_KEY`,
      );
    r.MirrorAuth = { ...r.MirrorAuth, AccessKeySecret: secret };
  }
  if ((r.MirrorTaggings?.Taggings?.length ?? 0) > 0 || (r.MirrorReturnHeaders?.ReturnHeader?.length ?? 0) > 0) {
    notes.push(`rule ${n} has MirrorTaggings or MirrorReturnHeaders: imported objects do not get them (a mirror fill would)`);
  }
  return rule;
}

/** Keys the rule's key conditions would never send to the origin: refused up front. */
function checkKeysMatch(rule: RoutingRule, keys: readonly string[]): void {
  const prefix = rule.Condition?.KeyPrefixEquals;
  const suffix = rule.Condition?.KeySuffixEquals;
  const off = keys.filter((k) => (prefix !== undefined && !k.startsWith(prefix)) || (suffix !== undefined && !k.endsWith(suffix)));
  if (off.length > 0) {
    const cond = [prefix !== undefined && `KeyPrefixEquals '${prefix}'`, suffix !== undefined && `KeySuffixEquals '${suffix}'`]
      .filter(Boolean)
      .join(' and ');
    throw new FatalError(
      `${off.length} key(s) do not match rule ${rule.RuleNumber}'s ${cond}, so a mirror would never fetch them by it: ${off
        .slice(0, 5)
        .map((k) => `'${k}'`)
        .join(', ')}${off.length > 5 ? ', …' : ''}`,
    );
  }
}
