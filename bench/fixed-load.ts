/**
 * Fixed-load benchmark (issue 16): the same number of 4 KiB requests against one or more builds of
 * Osprey, interleaved, each on a fresh server, with the server's CPU per request (user + system,
 * /proc) and its young-generation collections (`--trace-gc`: scavenges per 1,000 requests and
 * scavenge time per request). A fixed count, not a fixed time, so that two builds do the same work
 * and the collector's figures compare; used to find and check the read service's extra cost.
 *
 *   node --import tsx bench/fixed-load.ts [--requests 30000] [--reps 3] [--mode rules|plain|put] [DIR ...]
 *
 * DIR: a checkout with its compiled dist/ (`npx tsc -p tsconfig.build.json` run there); none: this
 * tree, built first. rules: anonymous GETs of a public-read bucket with a Mirror rule (32
 * connections); plain: the same bucket without rules; put: anonymous PUTs of 2,000 keys in turn into
 * a public-read-write bucket (16 connections). Listens on 127.0.0.1 only; every server is stopped.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../src/auth/sigv4.ts';
import { cpuSeconds, fmt, median, ROOT, sh, spread, stopChild } from './lib.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const N = Number(arg('--requests') ?? 30_000) || 30_000;
const reps = Number(arg('--reps') ?? 3) || 3;
const mode = arg('--mode') ?? 'rules';
if (!['rules', 'plain', 'put'].includes(mode)) throw new Error(`--mode rules|plain|put, not ${mode}`);
const flags = new Set(['--requests', '--reps', '--mode']);
const builds = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !flags.has(all[i - 1] ?? ''));
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const BODY = Buffer.alloc(4096, 'h');

interface Run {
  cpuUs: number;
  scavengesPer1k: number;
  scavengeUs: number;
}

async function once(root: string): Promise<Run> {
  const data = await mkdtemp(path.join(os.tmpdir(), 'osprey-fixed-'));
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=4',
      '--heap-growing-percent=25',
      '--trace-gc',
      path.join(root, 'dist/main.js'),
      'serve',
      '--address',
      '127.0.0.1:0',
      '--data',
      data,
      '--log-level',
      'warn',
      '--origin-allow',
      '127.0.0.0/8',
    ],
    {
      cwd: root,
      env: { ...process.env, OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let scavenges = 0;
  let scavengeMs = 0;
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`osprey exited ${c}`)));
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      for (const m of text.matchAll(/Scavenge[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g)) {
        scavenges++;
        scavengeMs += Number(m[1]);
      }
      out += text;
      const l = /listening on (\S+)/.exec(out);
      if (l?.[1]) {
        out = '';
        resolve(l[1]);
      }
    });
  });
  const agent = new Agent({ connections: 32 });
  try {
    const signed = async (method: string, p: string, body = '', headers: Record<string, string> = {}): Promise<void> => {
      const h = signRequestV4(
        { method, url: p, headers: { host: new URL(url).host, ...headers } },
        { accessKeyId: KEY, secretAccessKey: SECRET },
        createHash('sha256').update(body).digest('hex'),
      );
      const res = await request(url + p, { method: method as 'PUT', headers: h, body: body || undefined, dispatcher: agent });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${method} ${p}: ${res.statusCode} ${text}`);
    };
    await signed('PUT', '/fixed', '', { 'x-amz-acl': mode === 'put' ? 'public-read-write' : 'public-read' });
    await signed('PUT', '/fixed/files/small.bin', BODY.toString());
    if (mode === 'rules') {
      const rule =
        '<RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://127.0.0.1:9/</MirrorURL></Redirect></RoutingRule>';
      await signed('PUT', '/fixed?website', `<WebsiteConfiguration><RoutingRules>${rule}</RoutingRules></WebsiteConfiguration>`);
    }
    const load = async (n: number): Promise<void> => {
      let i = 0;
      await Promise.all(
        Array.from({ length: mode === 'put' ? 16 : 32 }, async () => {
          while (i < n) {
            const k = i++;
            const res =
              mode === 'put'
                ? await request(`${url}/fixed/put/${k % 2000}`, { method: 'PUT', body: BODY, dispatcher: agent })
                : await request(`${url}/fixed/files/small.bin`, { dispatcher: agent });
            await res.body.dump();
            if (res.statusCode !== 200) throw new Error(`request ${k}: ${res.statusCode}`);
          }
        }),
      );
    };
    await load(N / 2); // the JIT has seen the path before the counted requests
    const s0 = scavenges;
    const m0 = scavengeMs;
    const c0 = await cpuSeconds(child.pid ?? 0);
    await load(N);
    await new Promise((r) => setTimeout(r, 200)); // the last trace lines
    const cpu = (await cpuSeconds(child.pid ?? 0)) - c0;
    return { cpuUs: (cpu * 1e6) / N, scavengesPer1k: ((scavenges - s0) * 1000) / N, scavengeUs: ((scavengeMs - m0) * 1000) / N };
  } finally {
    await agent.close();
    await stopChild(child);
    await rm(data, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const roots = builds.length > 0 ? builds.map((b) => path.resolve(b)) : [ROOT];
  if (builds.length === 0) await sh('npx', ['tsc', '-p', path.join(ROOT, 'tsconfig.build.json')]);
  const runs = new Map<string, Run[]>(roots.map((r) => [r, []]));
  for (let rep = 0; rep < reps; rep++) for (const r of roots) runs.get(r)!.push(await once(r));
  process.stdout.write(
    `\nOsprey fixed load: ${N} × 4 KiB ${mode === 'put' ? 'PUTs' : 'GETs'} (${mode}), ${reps} interleaved repetitions, medians (ranges); ${os.cpus().length} cores, node ${process.version}\n`,
  );
  for (const [r, list] of runs) {
    const cpu = list.map((x) => x.cpuUs);
    process.stdout.write(
      `- ${path.basename(r)}: server CPU ${spread(cpu)} µs/request; ${spread(
        list.map((x) => x.scavengesPer1k),
        2,
      )} scavenges per 1,000 requests, ${spread(
        list.map((x) => x.scavengeUs),
        2,
      )} µs of scavenging per request (median CPU ${fmt(median(cpu))})\n`,
    );
  }
}

await main();
