/**
 * @module cli/rules
 * `osprey rules explain`: asks a running Osprey which back-to-origin rule a request would fire
 * and what would happen, without contacting any origin or changing anything.
 */
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { signRequestV4 } from '../auth/sigv4.js';
import type { Explanation } from '../origin/explain.js';
import { formatExplanation } from '../origin/explain.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface ExplainOptions {
  endpoint: string;
  bucket: string;
  key: string;
  method: string;
  header?: string[];
  status?: string;
  query?: string;
  website?: boolean;
  json?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

function fail(message: string): never {
  process.stderr.write(`osprey: ${message}\n`);
  process.exit(2);
}

export function rulesCommand(): Command {
  const rules = new Command('rules').description('inspect back-to-origin rules');
  rules
    .command('explain')
    .description('show which rule a request would fire, and why the earlier ones did not')
    .requiredOption('--bucket <bucket>', 'bucket name')
    .requiredOption('--key <key>', 'object key (as stored, without a leading /)')
    .option('--method <method>', 'GET or HEAD', 'GET')
    .option('--header <header>', "a request header, 'Name: value' (repeatable)", collect)
    .option('--status <code>', 'evaluate as if the request ended with this status (404: as if the object were missing)')
    .option('--query <query>', 'the raw query string of the request')
    .option('--website', 'as an anonymous/website request (index and error documents apply)')
    .option('--endpoint <url>', 'the Osprey server', process.env.OSPREY_ENDPOINT ?? 'http://127.0.0.1:9000')
    .option('--access-key-id <id>', 'owner access key id (default: $OSPREY_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'owner secret (default: $OSPREY_SECRET_ACCESS_KEY)')
    .option('--json', 'print the JSON answer')
    .action(async (opts: ExplainOptions) => {
      const accessKeyId = opts.accessKeyId ?? process.env.OSPREY_ACCESS_KEY_ID;
      const secretAccessKey = opts.secretAccessKey ?? process.env.OSPREY_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) fail("invalid setting 'accessKeyId': give --access-key-id/--secret-access-key or OSPREY_ACCESS_KEY_ID/OSPREY_SECRET_ACCESS_KEY");
      const headers: Record<string, string> = {};
      for (const h of opts.header ?? []) {
        const i = h.indexOf(':');
        if (i <= 0) fail(`invalid setting 'header': '${h}' is not 'Name: value'`);
        headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
      }
      let status: number | undefined;
      if (opts.status !== undefined) {
        status = Number(opts.status);
        if (!Number.isInteger(status) || status < 100 || status > 599) fail(`invalid setting 'status': '${opts.status}' is not an HTTP status`);
      }
      let url: URL;
      try {
        url = new URL('/-/rules/explain', opts.endpoint);
      } catch {
        fail(`invalid setting 'endpoint': '${opts.endpoint}' is not a URL`);
      }
      const body = JSON.stringify({ bucket: opts.bucket, key: opts.key.replace(/^\/+/, ''), method: opts.method, headers, status, query: opts.query ?? '', website: opts.website === true });
      const signed = signRequestV4(
        { method: 'POST', url: url.pathname, headers: { host: url.host, 'content-type': 'application/json' } },
        { accessKeyId, secretAccessKey },
        createHash('sha256').update(body).digest('hex'),
      );
      let res;
      try {
        res = await request(url, { method: 'POST', headers: signed, body });
      } catch (err) {
        fail(`cannot reach ${opts.endpoint}: ${(err as Error).message}`);
      }
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.statusCode);
        const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text;
        fail(`${code}: ${message}`);
      }
      process.stdout.write(opts.json ? `${text}\n` : `${formatExplanation(JSON.parse(text) as Explanation)}\n`);
    });
  return rules;
}
