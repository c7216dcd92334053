/**
 * The floor: the least a Node.js process can do in Osprey's place, for context in the benchmarks.
 * None of it is Osprey; each mode is the smallest program that moves the same bytes with the same
 * runtime, so a benchmark can tell the cost of being a Node.js process in the path from the cost of
 * Osprey's own work (auth, rules, metadata, atomic commits).
 *
 *   node --import tsx bench/floor-server.ts tcp  PORT UPSTREAM_HOST:PORT   (a byte relay, no HTTP;
 *       no allocation per read)
 *   node --import tsx bench/floor-server.ts http PORT UPSTREAM_BASE_URL    (an HTTP proxy over undici)
 *   node --import tsx bench/floor-server.ts pull PORT ORIGIN_BASE_URL DIR  (a pull-through store:
 *       serve DIR/path if present, else fetch ORIGIN_BASE_URL/path, stream it to the client and to a
 *       temporary file renamed into place at the end: nginx proxy_store's job, without fsync; tuned:
 *       undici, a small body answered whole and written with blocking calls)
 *   node --import tsx bench/floor-server.ts naive PORT ORIGIN_BASE_URL DIR (the naive pull-through
 *       mirror of issue 19, as anyone would write it in ~40 lines of plain Node.js: node:http to the
 *       origin (keep-alive), the origin's body piped to the client and to a temporary file renamed
 *       into place when written; a hit streams the file. No fsync, no MD5, no metadata, no tuning)
 *   node --import tsx bench/floor-server.ts static PORT - DIR            (node:http answering GETs of
 *       DIR's files from memory, read once: the most a Node.js HTTP server does per 4 KiB hit, with
 *       no lookup, no auth and no headers beyond Content-Length, Content-Type and ETag)
 *
 * FLOOR_WORKERS=N runs N processes on the port (node:cluster). PORT 0 takes a free port. Prints
 * "listening on http://127.0.0.1:PORT" when ready; listens on 127.0.0.1 only.
 */
import cluster from 'node:cluster';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

const [mode, portArg, upstream, dir] = process.argv.slice(2);
const port = Number(portArg);
const agent = new Agent({ connections: 128 });
let tmpN = 0;
const dirs = new Set<string>();

function fail(res: http.ServerResponse, status: number): void {
  if (!res.headersSent) res.writeHead(status, { 'content-length': '0' });
  res.end();
}

async function proxy(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const up = await request(`${upstream}${req.url ?? '/'}`, { dispatcher: agent });
  const headers: Record<string, string> = {};
  for (const h of ['content-length', 'content-type', 'etag', 'last-modified']) {
    const v = up.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  res.writeHead(up.statusCode, headers);
  await pipeline(up.body, res);
}

async function pull(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = path.join(dir ?? '', rel);
  const st = await stat(file).catch(() => undefined);
  if (st?.isFile()) {
    res.writeHead(200, { 'content-length': String(st.size) });
    return pipeline(createReadStream(file), res);
  }
  const up = await request(`${upstream}${rel}`, { dispatcher: agent });
  if (up.statusCode !== 200) {
    await up.body.dump();
    return fail(res, up.statusCode === 404 ? 404 : 502);
  }
  const len = up.headers['content-length'];
  res.writeHead(200, typeof len === 'string' ? { 'content-length': len } : {});
  if (!dirs.has(path.dirname(file))) {
    await mkdir(path.dirname(file), { recursive: true });
    dirs.add(path.dirname(file));
  }
  const tmp = path.join(dir ?? '', `.tmp-${process.pid}-${tmpN++}`);
  if (typeof len === 'string' && Number(len) <= 64 * 1024) {
    // a small body: whole, answered first, then written with blocking calls (no thread-pool trips)
    const body = Buffer.from(await up.body.arrayBuffer());
    res.end(body);
    writeFileSync(tmp, body);
    renameSync(tmp, file);
    return;
  }
  const out = createWriteStream(tmp);
  for await (const chunk of up.body) {
    // both ways with backpressure: the file and the client each hold at most their buffer
    const fileFull = !out.write(chunk);
    const clientFull = !res.write(chunk);
    if (fileFull) await once(out, 'drain');
    if (clientFull && res.writableNeedDrain) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await rename(tmp, file);
  res.end();
}

// ---- the naive mirror (mode naive): deliberately plain, the reference of issue 19's fill targets ----
const naiveAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function naive(req: http.IncomingMessage, res: http.ServerResponse): void {
  const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = path.join(dir ?? '', rel);
  stat(file).then(
    (st) => {
      res.writeHead(200, { 'content-length': st.size });
      createReadStream(file).pipe(res);
    },
    () => {
      http
        .get(`${upstream}${rel}`, { agent: naiveAgent }, (up) => {
          if (up.statusCode !== 200) {
            up.resume();
            fail(res, up.statusCode === 404 ? 404 : 502);
            return;
          }
          res.writeHead(200, { 'content-length': up.headers['content-length'] ?? '' });
          const tmp = path.join(dir ?? '', `.tmp-${process.pid}-${tmpN++}`);
          const out = createWriteStream(tmp).on('error', () => res.destroy());
          up.pipe(res);
          up.pipe(out);
          out.on('finish', () => {
            // the directories made once per process (a mkdir per fill would only make the reference dearer)
            const d = path.dirname(file);
            (dirs.has(d) ? Promise.resolve(undefined) : mkdir(d, { recursive: true }).then(() => dirs.add(d)))
              .then(() => rename(tmp, file))
              .catch(() => {});
          });
        })
        .on('error', () => fail(res, 502));
    },
  );
}

function ready(this: net.Server): void {
  if (cluster.isPrimary) console.log(`listening on http://127.0.0.1:${(this.address() as net.AddressInfo).port}`);
}

function serve(): void {
  if (mode === 'tcp') {
    const [host, upPort] = (upstream ?? '').split(':');
    net
      .createServer((client) => {
        // upstream to client, the heavy direction: read into one reused buffer and write from it, so no
        // bytes are allocated per read (nothing for the collector); reading stops while a write is
        // still queued (the buffer is still in use) and goes on when the client has taken it
        const buffer = Buffer.allocUnsafe(256 * 1024);
        const up: net.Socket = net.connect({
          port: Number(upPort),
          host: host ?? '127.0.0.1',
          onread: {
            buffer,
            callback: (n: number, buf: Uint8Array): boolean => {
              client.write(buf.subarray(0, n));
              if (client.writableLength === 0) return true;
              client.once('drain', () => up.resume());
              return false;
            },
          },
        });
        up.on('end', () => client.end());
        client.pipe(up);
        const close = () => {
          client.destroy();
          up.destroy();
        };
        client.on('error', close).on('close', close);
        up.on('error', close).on('close', close);
      })
      .listen(port, '127.0.0.1', ready);
  } else if (mode === 'static') {
    const files = new Map<string, Buffer>();
    http
      .createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
        const p = path.join(dir ?? '', path.normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')));
        let body = files.get(p);
        if (!body) {
          try {
            body = readFileSync(p);
          } catch {
            return fail(res, 404);
          }
          files.set(p, body);
        }
        res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream', etag: '"floor"' });
        res.end(body);
      })
      .listen(port, '127.0.0.1', ready);
  } else if (mode === 'naive') {
    mkdirSync(dir ?? '', { recursive: true });
    http.createServer({ keepAliveTimeout: 60_000 }, naive).listen(port, '127.0.0.1', ready);
  } else if (mode === 'http' || mode === 'pull') {
    const handle = mode === 'http' ? proxy : pull;
    http
      .createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
        handle(req, res).catch(() => fail(res, 502));
      })
      .listen(port, '127.0.0.1', ready);
  } else {
    console.error('usage: floor-server.ts tcp|http|pull|naive|static PORT UPSTREAM [DIR]');
    process.exit(2);
  }
}

// FLOOR_WORKERS=N: N processes sharing the port (node:cluster), as nginx runs N workers
const workers = Number(process.env.FLOOR_WORKERS ?? 1);
if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (_w, address) => {
    if (++listening === workers) console.log(`listening on http://127.0.0.1:${address.port}`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  serve();
}
