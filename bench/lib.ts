/**
 * Shared bits of the benchmarks: start an Osprey child process and an nginx on loopback, run wrk,
 * read a process's peak RSS. Every process started here is stopped by its PID.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');

export function sh(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'NaN') / 1024;
}

export async function currentRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN') / 1024;
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system, seconds) a process and every process under it (nginx's workers, a
 * cluster's children) have used so far, from /proc/PID/stat (utime, stime; in `getconf CLK_TCK`
 * ticks). A process that is gone counts as 0. Take it before and after a load: the difference per
 * request is the figure the shared machine's load does not move much (issue 19).
 */
export async function cpuSeconds(pid: number): Promise<number> {
  clockTicks ??= Number((await sh('getconf', ['CLK_TCK'])).trim()) || 100;
  let ticks = 0;
  const seen = new Set<number>();
  const walk = async (p: number): Promise<void> => {
    if (seen.has(p)) return;
    seen.add(p);
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    // fields after the ")" that ends the command name: state is field 3, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
    const tasks = await readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const t of tasks) {
      const kids = await readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => '');
      for (const k of kids.split(' ').filter(Boolean)) await walk(Number(k));
    }
  };
  await walk(pid);
  return ticks / clockTicks;
}

/** Run `load` and return its result with the CPU µs that `pid` (and its children) spent per operation, `ops(result)` operations. */
export async function withCpu<T>(pid: number, load: () => Promise<T>, ops: (r: T) => number): Promise<T & { cpuUsPerOp: number }> {
  const before = await cpuSeconds(pid);
  const r = await load();
  const used = (await cpuSeconds(pid)) - before;
  return { ...r, cpuUsPerOp: (used * 1e6) / ops(r) };
}

/** median and range of a list, as "median (min–max)" */
export function spread(values: number[], digits = 0): string {
  const mid = fmt(median(values), digits);
  return values.length > 1 ? `${mid} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})` : mid;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export interface Proc {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
  /** ms from the process's spawn to its "listening" line (Osprey and the floors) */
  startMs?: number;
}

/** Benchmarks measure what `npm start` runs: the compiled server (built here if needed). */
export async function startOsprey(dataDir: string, port: number, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  // OSPREY_BENCH_BUILD: run the compiled server of another checkout as it is (its dist/, not rebuilt),
  // to compare two builds with the same benchmark code
  const root = process.env.OSPREY_BENCH_BUILD ?? ROOT;
  if (!process.env.OSPREY_BENCH_BUILD) await sh('npx', ['tsc', '-p', path.join(ROOT, 'tsconfig.build.json')]);
  // the same V8 settings as `npm start` (a smaller young generation: ~20 MiB less peak RSS, same req/s;
  // a slower-growing old generation: a node on Ceph peaked at 123 instead of 194 MiB, same req/s)
  // OSPREY_BENCH_NODE_ARGS: extra node flags for profiling a run, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  const nodeArgs = (process.env.OSPREY_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const spawned = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=4',
      '--heap-growing-percent=25',
      ...nodeArgs,
      path.join(root, 'dist/main.js'),
      'serve',
      '--address',
      `127.0.0.1:${port}`,
      '--data',
      dataDir,
      '--log-level',
      'warn',
      ...extra,
    ],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await listening(child, 'osprey');
  return { child, url, stop: () => stopChild(child), startMs: performance.now() - spawned };
}

/** a floor server (bench/floor-server.ts): the least a Node.js process does in Osprey's place */
export async function startFloor(
  mode: 'tcp' | 'http' | 'pull' | 'naive' | 'static',
  upstream: string,
  dir?: string,
  workers = 1,
): Promise<Proc> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/floor-server.ts'), mode, '0', upstream, ...(dir ? [dir] : [])],
    {
      cwd: ROOT,
      env: { ...process.env, FLOOR_WORKERS: String(workers) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return { child, url: await listening(child, 'floor server'), stop: () => stopChild(child) };
}

/** the URL a child prints as "listening on URL"; rejects if it exits first */
function listening(child: ChildProcess, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`${what} exited ${c}`)));
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** nginx serving `root` on `port`; extra `http {}` directives may be given; two worker processes unless told. */
export async function startNginx(workDir: string, port: number, serverBlock: string, httpExtra = '', workers = 2): Promise<Proc> {
  await mkdir(path.join(workDir, 'logs'), { recursive: true });
  const conf = path.join(workDir, 'nginx.conf');
  await writeFile(
    conf,
    `
worker_processes ${workers};
daemon off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${workDir}/client_body;
  proxy_temp_path ${workDir}/proxy_temp;
  fastcgi_temp_path ${workDir}/fastcgi_temp;
  uwsgi_temp_path ${workDir}/uwsgi_temp;
  scgi_temp_path ${workDir}/scgi_temp;
  ${httpExtra}
  server {
    listen 127.0.0.1:${port};
    ${serverBlock}
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', workDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

export interface WrkResult {
  reqPerSec: number;
  non2xx: number;
  requests: number;
}

export async function wrk(
  url: string,
  opts: { connections: number; seconds: number; threads?: number; script?: string },
): Promise<WrkResult> {
  const args = ['-t', String(opts.threads ?? 2), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--latency'];
  if (opts.script) args.push('-s', opts.script);
  const out = await sh('wrk', [...args, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 'NaN');
  return { reqPerSec: rps, non2xx, requests };
}

/** Download `url` with curl into /dev/null; returns MB/s (10^6 bytes). */
export async function curlSpeed(url: string): Promise<{ mbps: number; ttfbMs: number }> {
  const out = await sh('curl', ['-s', '-o', '/dev/null', '-w', '%{speed_download} %{time_starttransfer} %{http_code}', url]);
  const [speed, ttfb, code] = out.trim().split(' ');
  if (code !== '200') throw new Error(`curl ${url}: HTTP ${code}`);
  return { mbps: Number(speed) / 1e6, ttfbMs: Number(ttfb) * 1000 };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
