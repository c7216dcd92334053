/**
 * Hit benchmark (issue 19): a 4 KiB GET of an object that is in the bucket, as migrated sites meet
 * it: a public-read bucket WITH a Mirror rule (404 -> origin), and beside it, in the same run and
 * interleaved, the same object in a public-read bucket without rules; for reference nginx serving the
 * file from disk and the floor's pull-through (bench/floor-server.ts, a naive Node.js pull-through
 * mirror) serving it from its directory. Each rate has the server's CPU (user + system, from /proc,
 * the process and its children) per request beside it.
 *
 *   node --import tsx bench/hit.ts [--seconds 5] [--reps 3] [--only osprey]
 *
 * --only osprey runs the Osprey buckets alone (for before/after comparisons of Osprey's code; with
 * OSPREY_BENCH_BUILD=DIR, the compiled server of another checkout). A third Osprey bucket has a
 * pre-routing rule that does not match the key beside the Mirror rule: its hits go through the rules.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../src/auth/sigv4.ts';
import type { Proc } from './lib.ts';
import { fmt, median, spread, startFloor, startNginx, startOsprey, withCpu, wrk } from './lib.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const seconds = Number(arg('--seconds') ?? 5) || 5;
const reps = Number(arg('--reps') ?? 3) || 3;
const only = arg('--only');
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const agent = new Agent({ connections: 4 });

async function signed(base: string, method: string, p: string, body = '', headers: Record<string, string> = {}): Promise<void> {
  const u = new URL(base);
  const h = signRequestV4(
    { method, url: p, headers: { host: u.host, ...headers } },
    { accessKeyId: KEY, secretAccessKey: SECRET },
    createHash('sha256').update(body).digest('hex'),
  );
  const res = await request(base + p, { method: method as 'PUT', headers: h, body: body || undefined, dispatcher: agent });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${method} ${p}: ${res.statusCode} ${text}`);
}

interface Target {
  name: string;
  url: string;
  proc: Proc;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-hbench-'));
  const www = path.join(work, 'www');
  await mkdir(path.join(www, 'files'), { recursive: true });
  const small = Buffer.alloc(4096, 'h');
  await writeFile(path.join(www, 'files', 'small.bin'), small);
  const floorDir = path.join(work, 'floor');
  await mkdir(path.join(floorDir, 'files'), { recursive: true });
  await writeFile(path.join(floorDir, 'files', 'small.bin'), small);
  for (const d of [work, www, path.join(www, 'files')]) await chmod(d, 0o755);
  const port = 25000 + Math.floor(Math.random() * 5000);
  const nginx = await startNginx(path.join(work, 'nginx'), port, `root ${www};`);
  // nginx with one worker process: the same number of processes as Osprey and the floors
  const nginx1 = only === 'osprey' ? undefined : await startNginx(path.join(work, 'nginx1'), port + 1, `root ${www};`, '', 1);
  const floor = only === 'osprey' ? undefined : await startFloor('pull', nginx.url, floorDir);
  // the ceiling of any single Node.js process: node:http answering the file from memory
  const ceiling = only === 'osprey' ? undefined : await startFloor('static', '-', floorDir);
  const osprey = await startOsprey(path.join(work, 'data'), 0, ['--origin-allow', '127.0.0.0/8'], {
    OSPREY_ACCESS_KEY_ID: KEY,
    OSPREY_SECRET_ACCESS_KEY: SECRET,
  });
  try {
    const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${nginx.url}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
    for (const b of ['rules', 'plain', 'pre']) {
      await signed(osprey.url, 'PUT', `/${b}`, '', { 'x-amz-acl': 'public-read' });
      await signed(osprey.url, 'PUT', `/${b}/files/small.bin`, small.toString());
    }
    await signed(osprey.url, 'PUT', '/rules?website', rules);
    // a pre-routing rule (no HttpErrorCodeReturnedEquals) applies before the lookup, so here the rules are evaluated on every hit
    const hide =
      '<RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>private/</KeyPrefixEquals></Condition><Redirect><RedirectType>External</RedirectType><HostName>login.example.com</HostName><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>';
    await signed(osprey.url, 'PUT', '/pre?website', rules.replace('<RoutingRules>', `<RoutingRules>${hide}`));
    const targets: Target[] = [
      { name: 'osprey, bucket with a Mirror rule', url: `${osprey.url}/rules/files/small.bin`, proc: osprey },
      { name: 'osprey, bucket without rules', url: `${osprey.url}/plain/files/small.bin`, proc: osprey },
      {
        name: 'osprey, bucket with a pre-routing rule (not matching) and a Mirror rule',
        url: `${osprey.url}/pre/files/small.bin`,
        proc: osprey,
      },
      ...(floor ? [{ name: 'naive Node.js pull-through (floor pull), hit', url: `${floor.url}/files/small.bin`, proc: floor }] : []),
      ...(ceiling
        ? [{ name: 'node:http answering from memory (floor static)', url: `${ceiling.url}/files/small.bin`, proc: ceiling }]
        : []),
      ...(only === 'osprey' ? [] : [{ name: 'nginx static', url: `${nginx.url}/files/small.bin`, proc: nginx }]),
      ...(nginx1 ? [{ name: 'nginx static, one worker process', url: `${nginx1.url}/files/small.bin`, proc: nginx1 }] : []),
    ];
    const rate = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const ratio: number[] = [];
    // a short untimed load first: the JIT has seen the path before the first timed run
    await wrk(targets[0]!.url, { connections: 16, seconds: 1 });
    await wrk(targets[1]!.url, { connections: 16, seconds: 1 });
    for (let r = 0; r < reps; r++) {
      // interleaved: every target once per repetition; the two Osprey buckets in alternating order
      const order = r % 2 ? [targets[1]!, targets[0]!, ...targets.slice(2)] : targets;
      const got = new Map<string, number>();
      for (const t of order) {
        const w = await withCpu(
          t.proc.child.pid ?? 0,
          () => wrk(t.url, { connections: 64, seconds }),
          (x) => x.requests,
        );
        if (w.non2xx) throw new Error(`${t.name}: ${w.non2xx} non-2xx answers`);
        rate.get(t.name)!.push(w.reqPerSec);
        cpu.get(t.name)!.push(w.cpuUsPerOp);
        got.set(t.name, w.reqPerSec);
      }
      ratio.push(got.get(targets[0]!.name)! / got.get(targets[1]!.name)!);
    }
    const lines = targets.map((t) => `${t.name}: ${spread(rate.get(t.name)!)} req/s, server CPU ${spread(cpu.get(t.name)!)} µs/request`);
    lines.push(`with rules / without, per repetition: ${spread(ratio, 2)} (target >= 0.95)`);
    const ng = rate.get('nginx static');
    if (ng)
      lines.push(
        `osprey with rules / nginx static: ${fmt(median(rate.get(targets[0]!.name)!) / median(ng), 2)} (target >= 0.30); without rules / nginx: ${fmt(median(rate.get(targets[1]!.name)!) / median(ng), 2)}`,
      );
    const ng1 = rate.get('nginx static, one worker process');
    if (ng1)
      lines.push(
        `osprey with rules / nginx static with one worker process (one process each): ${fmt(median(rate.get(targets[0]!.name)!) / median(ng1), 2)}; by CPU per request, nginx's / osprey's: ${fmt(median(cpu.get('nginx static')!) / median(cpu.get(targets[0]!.name)!), 2)}`,
      );
    const top = rate.get('node:http answering from memory (floor static)');
    if (ng && top)
      lines.push(`node:http from memory / nginx static: ${fmt(median(top) / median(ng), 2)} (the most one Node.js process gets here)`);
    process.stdout.write(
      `\nOsprey 4 KiB hit benchmark (wrk 64 connections, ${seconds}s x ${reps} interleaved, medians (ranges); ${os.cpus().length} cores, node ${process.version})\n${lines.map((l) => `- ${l}`).join('\n')}\n`,
    );
  } finally {
    await osprey.stop();
    await Promise.all([nginx.stop(), nginx1?.stop(), floor?.stop(), ceiling?.stop()]);
    await agent.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
