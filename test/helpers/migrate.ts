/**
 * Helpers for the `osprey import` / `osprey verify` tests: an origin web server on 127.0.0.1
 * serving a mutable set of files (counting GETs per key), deterministic file contents, and the
 * CLI run as a child process.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ACCESS_KEY, ROOT, SECRET_KEY } from './osprey.ts';

export interface OriginFile {
  body: Buffer;
  headers?: Record<string, string>;
  /** no Content-Length: chunked */
  chunked?: boolean;
  /** answer with this status instead (the first `times` GETs, or always) */
  fail?: { status: number; times?: number };
  /** pause between 256 KiB pieces of the body, ms (a slow origin) */
  pieceDelayMs?: number;
  /** with pieceDelayMs: this many bytes go at full speed first */
  pieceDelayAfter?: number;
  /** send this many bytes of the body, then nothing more (a stalled origin) */
  stallAfter?: number;
}

export interface Origin {
  /** base URL, ending in '/': the MirrorURL */
  url: string;
  files: Map<string, OriginFile>;
  /** GETs per key (HEADs not counted) */
  hits: Map<string, number>;
  /** the request headers of the last GET of each key */
  seen: Map<string, http.IncomingHttpHeaders>;
  /** when set, every request must carry this header (name, value) or gets 403 */
  require?: [string, string];
  /** every request's key, method and time, in order */
  requests: number;
  /** delay before answering, ms */
  delayMs: number;
  close(): Promise<void>;
}

/** Deterministic bytes for a key: `size` bytes of a SHA-256 chain seeded by the key. */
export function contentFor(key: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(key).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export function md5(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex');
}

export async function startOrigin(prefix = '/site/'): Promise<Origin> {
  const files = new Map<string, OriginFile>();
  const hits = new Map<string, number>();
  const seen = new Map<string, http.IncomingHttpHeaders>();
  const state = { requests: 0, delayMs: 0 };
  const self: { require?: [string, string] } = {};
  const server = http.createServer((req, res) => {
    state.requests++;
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    let key: string;
    try {
      key = decodeURIComponent(p.startsWith(prefix) ? p.slice(prefix.length) : '\0');
    } catch {
      key = '\0';
    }
    if (req.method === 'GET') {
      hits.set(key, (hits.get(key) ?? 0) + 1);
      seen.set(key, req.headers);
    }
    const answer = () => {
      if (self.require && req.headers[self.require[0]] !== self.require[1]) {
        res.writeHead(403);
        res.end('forbidden');
        return;
      }
      const f = files.get(key);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      if (f.fail && (f.fail.times === undefined || f.fail.times > 0)) {
        if (f.fail.times !== undefined && req.method === 'GET') f.fail.times--;
        res.writeHead(f.fail.status);
        res.end('failing on purpose');
        return;
      }
      const headers: Record<string, string> = { ...(f.headers ?? {}) };
      if (!f.chunked) headers['content-length'] = String(f.body.length);
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      // in pieces, so large bodies stream
      if (f.stallAfter !== undefined) {
        res.write(f.body.subarray(0, f.stallAfter));
        return;
      }
      let off = 0;
      const write = () => {
        while (off < f.body.length) {
          const piece = f.body.subarray(off, off + 256 * 1024);
          off += piece.length;
          const more = res.write(piece);
          if (f.pieceDelayMs && off > (f.pieceDelayAfter ?? 0)) {
            setTimeout(write, f.pieceDelayMs);
            return;
          }
          if (!more) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => {
        off = f.body.length + 1;
      });
      write();
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`,
    files,
    hits,
    seen,
    get require() {
      return self.require;
    },
    set require(v: [string, string] | undefined) {
      if (v) self.require = v;
      else delete self.require;
    },
    get requests() {
      return state.requests;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<CliResult>;
}

/**
 * `osprey <args>` as a child process, in `cwd`, with the test owner's key pair in the environment
 * and XDG_STATE_HOME under `cwd` (where an import keeps its journal), unless `env` says otherwise.
 */
export function spawnCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number }): CliChild {
  // tsx resolved from the checkout: the child runs in another directory (where its state file goes)
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'src/main.ts'), ...args], {
    cwd: opts.cwd,
    env: {
      ...process.env,
      OSPREY_ACCESS_KEY_ID: ACCESS_KEY,
      OSPREY_SECRET_ACCESS_KEY: SECRET_KEY,
      XDG_STATE_HOME: path.join(opts.cwd, '.state'),
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(opts.stdin ?? '');
  // generous: a loaded 2-core machine runs these CLI children several times slower
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 150_000);
  const exited = new Promise<CliResult>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

export function runCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number },
): Promise<CliResult> {
  return spawnCli(args, opts).exited;
}

export async function bodyOf(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (g.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export async function keysIn(client: S3Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token && { ContinuationToken: token }) }));
    for (const o of page.Contents ?? []) out.push(o.Key ?? '');
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

export function getHits(origin: Origin): number {
  let n = 0;
  for (const v of origin.hits.values()) n += v;
  return n;
}
