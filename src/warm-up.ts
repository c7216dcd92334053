/**
 * @module warm-up
 * The request path ready at start-up (issue 19). V8 compiles a function on its first call and
 * optimises it after many, once per process; a just-started server ran its whole GET path cold
 * inside its first users' requests: routing, the bucket view, the lookup that misses, the rules, the
 * fill's plan, the origin client, the spool, the hashing thread, the answer's stream. Measured on
 * the 2-core machine, that put 4–8 ms more before the first byte of a just-started server's first
 * fill than of its second.
 *
 * So, once the server listens, a throwaway Osprey is started beside it in the same process (its
 * own embedded store in a temporary directory, on 127.0.0.1, silent, with no metrics of the
 * process's own) with a throwaway origin, and the requests a migrated site's first users make are
 * sent to it: a public bucket with a Mirror rule; a large fill of unknown length with Content-MD5
 * (a file spool, the hashing thread) and its hit; a small fill and its hit; a HEAD; a key the origin
 * does not have. The code they run is the same the real server runs, now compiled. Nothing reaches
 * the real store, its data directory, its metrics or any real origin; the temporary directory is
 * removed. A failure only means the first users pay the cold start, as before.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import { signRequestV4 } from './auth/sigv4.js';
import type { Config } from './config.js';

/** the large body: several origin reads and reader wake-ups, spooled to a file (no Content-Length) */
const LARGE = 512 * 1024;
const PIECE = 64 * 1024;
/** the small body: an inline object, as most of a site's files are */
const SMALL = 4 * 1024;
const BUCKET = 'osprey-warm-up';

/** What the warm-up needs of a started server. */
export interface WarmTarget {
  url: string;
  close(): Promise<void>;
}

/** Starts a server for `config` that does not warm up itself, with its own store and no process metrics. */
export type StartThrowaway = (config: Config, log: Logger) => Promise<WarmTarget>;

/** Runs the warm-up; the statuses of the anonymous requests, in order (fills and hits 200, the HEAD 200, the missing key 404). */
export async function warmUp(config: Readonly<Config>, start: StartThrowaway): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'osprey-warm-'));
  // within the server's object size limit (a smaller --max-object-size would refuse the fills)
  const large = Buffer.alloc(Math.min(LARGE, config.maxObjectSize), 'w');
  const small = Buffer.alloc(Math.min(SMALL, config.maxObjectSize), 's');
  const largeMd5 = createHash('md5').update(large).digest('base64');
  const origin = http.createServer((req, res) => {
    if (req.url === '/large') {
      // no Content-Length: spooled to a file as a large fill is; Content-MD5: hashed on the thread
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-md5': largeMd5, etag: '"warm-large"' });
      for (let at = 0; at < large.length; at += PIECE) res.write(large.subarray(at, at + PIECE));
      res.end();
    } else if (req.url === '/small') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(small.length), etag: '"warm-small"' });
      res.end(small);
    } else {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
    }
  });
  let target: WarmTarget | undefined;
  const statuses: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      origin.once('error', reject);
      origin.listen(0, '127.0.0.1', resolve);
    });
    origin.unref();
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    const creds = { accessKeyId: 'OSPREYWARMUP', secretAccessKey: randomBytes(24).toString('base64url') };
    const { storage: _s, storageEndpoint: _e, storageAccessKeyId: _a, storageSecretAccessKey: _k, metricsToken: _m, ...kept } = config;
    target = await start(
      {
        ...kept,
        host: '127.0.0.1',
        port: 0,
        dataDir: dir,
        domains: [],
        bindDomains: {},
        ...creds,
        logLevel: 'silent',
        originAllow: ['127.0.0.1'],
      },
      pino({ level: 'silent' }),
    );
    const base = target.url;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (method: string, p: string, body = '', headers: Record<string, string> = {}, sign = false) =>
        exchange(agent, base, method, p, body, sign ? creds : undefined, headers);
      await send('PUT', `/${BUCKET}`, '', { 'x-amz-acl': 'public-read' }, true);
      const rules =
        '<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>' +
        `<Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`;
      await send('PUT', `/${BUCKET}?website`, rules, {}, true);
      // anonymous, as a site's visitors are: the fills, then their hits
      for (const key of ['large', 'large', 'small', 'small']) statuses.push(await send('GET', `/${BUCKET}/${key}`));
      statuses.push(await send('HEAD', `/${BUCKET}/small`));
      statuses.push(await send('GET', `/${BUCKET}/missing`));
    } finally {
      agent.destroy();
    }
  } finally {
    await target?.close();
    origin.close();
    await rm(dir, { recursive: true, force: true });
  }
  return statuses;
}

/**
 * One request, its answer read to the end; the status is not judged (a 404 is part of the path),
 * and a request the server cut short answers 0: the warm-up goes on with the next one.
 */
function exchange(
  agent: http.Agent,
  base: string,
  method: string,
  p: string,
  body: string,
  creds: { accessKeyId: string; secretAccessKey: string } | undefined,
  extra: Record<string, string>,
): Promise<number> {
  const url = new URL(p, base);
  const headers = creds
    ? signRequestV4({ method, url: p, headers: { host: url.host, ...extra } }, creds, createHash('sha256').update(body).digest('hex'))
    : { ...extra };
  return new Promise<number>((resolve) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
