/**
 * Import benchmark (issue 19): a bulk copy of 2,000 × 4 KiB + 100 × 1 MiB objects from a real origin
 * (nginx serving a directory) into one Osprey server, at concurrency 16, by `osprey import` as a user
 * runs it (`bin/osprey.js import --origin … --keys …`, the compiled build) and by
 * `rclone copy --files-from LIST --transfers 16 --checkers 16 :http: :s3:`, each into a fresh bucket
 * that has a Mirror rule to the origin (as migrated sites have), interleaved, for --reps repetitions.
 *
 *   node --import tsx bench/import.ts [--reps 3] [--small 2000] [--large 100] [--only osprey]
 *
 * Per run: wall time of the copying command (start to exit), the Osprey server's CPU (user + system,
 * /proc) per object over the run, and the copying process's own CPU per object (its rusage, from
 * /usr/bin/time). Medians (ranges). Every process listens on 127.0.0.1 and is stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { signRequestV4 } from '../src/auth/sigv4.ts';
import { cpuSeconds, fmt, median, ROOT, spread, startNginx, startOsprey } from './lib.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const reps = Number(arg('--reps') ?? 3) || 3;
const SMALL = Number(arg('--small') ?? 2000) || 2000;
const LARGE = Number(arg('--large') ?? 100);
const only = arg('--only');
const CONCURRENCY = 16;
const KEY = 'BENCHKEY';
const SECRET = 'bench-secret-0123456789';
const agent = new Agent({ connections: 4 });
// OSPREY_IMPORT_NODE_ARGS: extra node flags for the `osprey import` process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
const importNodeArgs = (process.env.OSPREY_IMPORT_NODE_ARGS ?? '').split(' ').filter(Boolean);
// OSPREY_IMPORT_BUILD=DIR: also run the `osprey import` of another checkout (its bin/osprey.js and dist/, as built there), interleaved
const otherBuild = process.env.OSPREY_IMPORT_BUILD;

async function signed(
  base: string,
  method: string,
  p: string,
  body = '',
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  const h = signRequestV4(
    { method, url: p, headers: { host: u.host, ...headers } },
    { accessKeyId: KEY, secretAccessKey: SECRET },
    createHash('sha256').update(body).digest('hex'),
  );
  const res = await request(base + p, { method: method as 'PUT', headers: h, body: body || undefined, dispatcher: agent });
  return { status: res.statusCode, text: await res.body.text() };
}

/** a public-read bucket with one Mirror rule (404 -> origin), as a migrated site has */
async function bucketWithMirror(base: string, bucket: string, originUrl: string): Promise<void> {
  const made = await signed(base, 'PUT', `/${bucket}`, '', { 'x-amz-acl': 'public-read' });
  if (made.status !== 200) throw new Error(`create bucket ${bucket}: ${made.status} ${made.text}`);
  const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
  const put = await signed(base, 'PUT', `/${bucket}?website`, rules);
  if (put.status !== 200) throw new Error(`put rules ${bucket}: ${put.status} ${put.text}`);
}

/** how many objects the bucket holds (ListObjectsV2 pages) */
async function countObjects(base: string, bucket: string): Promise<number> {
  let n = 0;
  let token = '';
  for (;;) {
    const q = `?list-type=2&max-keys=1000${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
    const r = await signed(base, 'GET', `/${bucket}${q}`);
    if (r.status !== 200) throw new Error(`list ${bucket}: ${r.status} ${r.text}`);
    n += (r.text.match(/<Key>/g) ?? []).length;
    const next = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(r.text)?.[1];
    if (!next) return n;
    token = next.replace(/&amp;/g, '&');
  }
}

interface Timed {
  wallS: number;
  cpuS: number;
  out: string;
}

/** runs a command to its end under /usr/bin/time: wall time and its own CPU (user + system, its children too) */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, work: string): Promise<Timed> {
  const timeFile = path.join(work, `time-${process.hrtime.bigint()}.txt`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallS = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${cmd} exited ${code}:\n${out.slice(-4000)}`);
  const [u, s] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
  return { wallS, cpuS: (u ?? NaN) + (s ?? NaN), out };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'osprey-ibench-'));
  const www = path.join(work, 'www');
  await mkdir(path.join(www, 's'), { recursive: true });
  await mkdir(path.join(www, 'l'), { recursive: true });
  const keys: string[] = [];
  for (let i = 0; i < SMALL; i++) {
    const buf = Buffer.alloc(4096, i & 0xff);
    buf.writeUInt32BE(i, 0);
    await writeFile(path.join(www, 's', `f${i}.bin`), buf);
    keys.push(`s/f${i}.bin`);
  }
  for (let i = 0; i < LARGE; i++) {
    const buf = Buffer.alloc(1024 * 1024, i & 0xff);
    buf.writeUInt32BE(i, 0);
    await writeFile(path.join(www, 'l', `g${i}.bin`), buf);
    keys.push(`l/g${i}.bin`);
  }
  const N = keys.length;
  const list = path.join(work, 'keys.txt');
  await writeFile(list, `${keys.join('\n')}\n`);
  for (const d of [work, www, path.join(www, 's'), path.join(www, 'l')]) await chmod(d, 0o755);
  const port = 30000 + Math.floor(Math.random() * 5000);
  const origin = await startNginx(path.join(work, 'origin'), port, `root ${www}; autoindex on;`); // rclone's http backend lists the directories of --files-from
  const osprey = await startOsprey(path.join(work, 'data'), 0, ['--origin-allow', '127.0.0.0/8'], {
    OSPREY_ACCESS_KEY_ID: KEY,
    OSPREY_SECRET_ACCESS_KEY: SECRET,
  });
  const serverPid = osprey.child.pid ?? 0;
  // the environment of the copying commands: no CA bundle (rclone refuses the one this environment sets)
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: work, XDG_STATE_HOME: path.join(work, 'state') };
  delete env.AWS_CA_BUNDLE;
  const rcloneConf = path.join(work, 'rclone.conf');
  await writeFile(rcloneConf, '');
  const ospreyImport = (root: string) => (bucket: string) =>
    timed(
      process.execPath,
      [
        ...importNodeArgs,
        path.join(root, 'bin/osprey.js'),
        'import',
        '--bucket',
        bucket,
        '--origin',
        `${origin.url}/`,
        '--keys',
        list,
        '--concurrency',
        String(CONCURRENCY),
      ],
      { ...env, OSPREY_ENDPOINT: osprey.url, OSPREY_ACCESS_KEY_ID: KEY, OSPREY_SECRET_ACCESS_KEY: SECRET },
      work,
    );
  const runners: Record<string, (bucket: string, rep: number) => Promise<Timed>> = {
    'osprey import': ospreyImport(ROOT),
    ...(otherBuild && { [`osprey import of ${path.basename(otherBuild)}`]: ospreyImport(otherBuild) }),
    'rclone copy': (bucket) =>
      timed(
        'rclone',
        [
          '--config',
          rcloneConf,
          'copy',
          '--files-from',
          list,
          '--transfers',
          String(CONCURRENCY),
          '--checkers',
          String(CONCURRENCY),
          '--http-url',
          `${origin.url}/`,
          '--s3-provider',
          'Other',
          '--s3-endpoint',
          osprey.url,
          '--s3-force-path-style=true',
          '--s3-region',
          'us-east-1',
          '--s3-access-key-id',
          KEY,
          '--s3-secret-access-key',
          SECRET,
          ':http:',
          `:s3:${bucket}`,
        ],
        env,
        work,
      ),
  };
  const names = Object.keys(runners).filter((n) => !only || n.startsWith(only));
  const wall = new Map<string, number[]>(names.map((n) => [n, []]));
  const serverCpu = new Map<string, number[]>(names.map((n) => [n, []]));
  const clientCpu = new Map<string, number[]>(names.map((n) => [n, []]));
  try {
    for (let r = 0; r < reps; r++) {
      // interleaved, the order alternating per repetition
      const order = r % 2 ? [...names].reverse() : names;
      for (const name of order) {
        const bucket = `imp-${r}-${names.indexOf(name)}`;
        await bucketWithMirror(osprey.url, bucket, origin.url);
        const c0 = await cpuSeconds(serverPid);
        const t = await runners[name]!(bucket, r);
        const used = (await cpuSeconds(serverPid)) - c0;
        const have = await countObjects(osprey.url, bucket);
        if (have !== N) throw new Error(`${name}: ${have} of ${N} objects in ${bucket}\n${t.out.slice(-2000)}`);
        wall.get(name)!.push(t.wallS);
        serverCpu.get(name)!.push((used * 1e6) / N);
        clientCpu.get(name)!.push((t.cpuS * 1e6) / N);
        process.stderr.write(
          `rep ${r + 1} ${name}: ${fmt(t.wallS, 2)} s, server ${fmt((used * 1e6) / N)} µs/object, copier ${fmt((t.cpuS * 1e6) / N)} µs/object\n`,
        );
      }
    }
    const lines = names.map((n) => `| ${n} | ${spread(wall.get(n)!, 2)} | ${spread(serverCpu.get(n)!)} | ${spread(clientCpu.get(n)!)} |`);
    const ow = wall.get('osprey import');
    const rw = wall.get('rclone copy');
    const ratio = ow && rw ? `\nrclone time / osprey import time (medians): ${fmt(median(rw) / median(ow), 2)} (target >= 1.0)\n` : '\n';
    process.stdout.write(
      `\nOsprey import benchmark: ${SMALL} × 4 KiB + ${LARGE} × 1 MiB from nginx, concurrency ${CONCURRENCY}, ${reps} interleaved repetitions, medians (ranges); ${os.cpus().length} cores, node ${process.version}\n\n| copier | wall time (s) | Osprey server CPU (µs/object) | copier CPU (µs/object) |\n| --- | --- | --- | --- |\n${lines.join('\n')}\n${ratio}`,
    );
  } finally {
    await osprey.stop();
    await origin.stop();
    await agent.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
