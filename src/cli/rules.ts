/**
 * @module cli/rules
 * `osprey rules explain`: asks a running Osprey which back-to-origin rule a request would fire
 * and what would happen, without contacting any origin or changing anything.
 */
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Explanation } from '../rules/explain.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface ConnectOptions {
  endpoint: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

interface ExplainOptions extends ConnectOptions {
  bucket: string;
  key: string;
  method: string;
  header?: string[];
  status?: string;
  query?: string;
  website?: boolean;
  json?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`osprey: ${message}\n`);
  process.exit(2);
}

/** One SigV4-signed request to the server with the owner's key pair; exits 2 with the S3 error on failure. */
async function signedCall(
  opts: ConnectOptions,
  method: string,
  pathAndQuery: string,
  body = '',
  contentType = 'application/xml',
): Promise<string> {
  const accessKeyId = opts.accessKeyId ?? process.env.OSPREY_ACCESS_KEY_ID;
  const secretAccessKey = opts.secretAccessKey ?? process.env.OSPREY_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    fail("invalid setting 'accessKeyId': give --access-key-id/--secret-access-key or OSPREY_ACCESS_KEY_ID/OSPREY_SECRET_ACCESS_KEY");
  let url: URL;
  try {
    url = new URL(pathAndQuery, opts.endpoint);
  } catch {
    fail(`invalid setting 'endpoint': '${opts.endpoint}' is not a URL`);
  }
  // loaded when a rules command runs, not when any command starts (issue 19)
  const [{ request }, { signRequestV4 }, { errorBody }] = await Promise.all([
    import('undici'),
    import('../auth/sigv4.js'),
    import('../codec/xml.js'),
  ]);
  const signed = signRequestV4(
    { method, url: url.pathname + url.search, headers: { host: url.host, ...(body && { 'content-type': contentType }) } },
    { accessKeyId, secretAccessKey },
    createHash('sha256').update(body).digest('hex'),
  );
  let res;
  try {
    res = await request(url, { method: method as 'GET', headers: signed, ...(body && { body }) });
  } catch (err) {
    fail(`cannot reach ${opts.endpoint}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 300) {
    const { code, message } = errorBody(text);
    fail(`${code ?? String(res.statusCode)}: ${message ?? text}`);
  }
  return text;
}

function connectOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'the Osprey server', process.env.OSPREY_ENDPOINT ?? 'http://127.0.0.1:9000')
    .option('--access-key-id <id>', 'owner access key id (default: $OSPREY_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'owner secret (default: $OSPREY_SECRET_ACCESS_KEY)');
}

export function rulesCommand(): Command {
  const rules = new Command('rules').description('manage and inspect back-to-origin rules');
  connectOptions(rules.command('put').description("set a bucket's website configuration (rules) from an XML file, either dialect"))
    .requiredOption('--bucket <bucket>', 'bucket name')
    .requiredOption('--file <file>', "WebsiteConfiguration XML ('-' for stdin)")
    .action(async (opts: ConnectOptions & { bucket: string; file: string }) => {
      let xml: string;
      try {
        xml = opts.file === '-' ? readFileSync(0, 'utf8') : readFileSync(opts.file, 'utf8');
      } catch (err) {
        fail(`invalid setting 'file': ${(err as Error).message}`);
      }
      await signedCall(opts, 'PUT', `/${encodeURIComponent(opts.bucket)}?website`, xml);
      process.stdout.write(`rules of ${opts.bucket} updated\n`);
    });
  connectOptions(rules.command('get').description("print a bucket's website configuration"))
    .requiredOption('--bucket <bucket>', 'bucket name')
    .action(async (opts: ConnectOptions & { bucket: string }) => {
      process.stdout.write(`${await signedCall(opts, 'GET', `/${encodeURIComponent(opts.bucket)}?website`)}\n`);
    });
  connectOptions(rules.command('delete').description("remove a bucket's website configuration and rules"))
    .requiredOption('--bucket <bucket>', 'bucket name')
    .action(async (opts: ConnectOptions & { bucket: string }) => {
      await signedCall(opts, 'DELETE', `/${encodeURIComponent(opts.bucket)}?website`);
      process.stdout.write(`rules of ${opts.bucket} removed\n`);
    });
  connectOptions(rules.command('explain').description('show which rule a request would fire, and why the earlier ones did not'))
    .requiredOption('--bucket <bucket>', 'bucket name')
    .requiredOption('--key <key>', 'object key (as stored, without a leading /)')
    .option('--method <method>', 'GET or HEAD', 'GET')
    .option('--header <header>', "a request header, 'Name: value' (repeatable)", collect)
    .option('--status <code>', 'evaluate as if the request ended with this status (404: as if the object were missing)')
    .option('--query <query>', 'the raw query string of the request')
    .option('--website', 'as an anonymous/website request (index and error documents apply)')
    .option('--json', 'print the JSON answer')
    .action(async (opts: ExplainOptions) => {
      const headers: Record<string, string> = {};
      for (const h of opts.header ?? []) {
        const i = h.indexOf(':');
        if (i <= 0) fail(`invalid setting 'header': '${h}' is not 'Name: value'`);
        headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
      }
      let status: number | undefined;
      if (opts.status !== undefined) {
        status = Number(opts.status);
        if (!Number.isInteger(status) || status < 100 || status > 599)
          fail(`invalid setting 'status': '${opts.status}' is not an HTTP status`);
      }
      const body = JSON.stringify({
        bucket: opts.bucket,
        key: opts.key.replace(/^\/+/, ''),
        method: opts.method,
        headers,
        status,
        query: opts.query ?? '',
        website: opts.website === true,
      });
      const text = await signedCall(opts, 'POST', '/-/rules/explain', body, 'application/json');
      const { formatExplanation } = await import('../rules/explain.js');
      process.stdout.write(opts.json ? `${text}\n` : `${formatExplanation(JSON.parse(text) as Explanation)}\n`);
    });
  return rules;
}
