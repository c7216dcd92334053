/**
 * @module mirror/warm
 * The large-fill path ready at start-up (issue 19). The first fill of a just-started process ran
 * the engine's code cold: the origin walk, the spool's file (its open and writes on the thread
 * pool), the pump, the hashing thread's first job and the reader's batched writes, each compiled
 * on first use inside the first user's time to first byte. After the origin client's own warm-up
 * (origin/warm), this runs one fill of a throwaway body from a server on 127.0.0.1 through an
 * engine of its own (its own dispatcher, activity and spool directory, a temporary one: nothing
 * reaches an origin, the store, the data directory or the metrics), each read to its end by a
 * sink. Not awaited by the caller: the server listens at once, and a failure only means the first
 * fill is the slow one.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from 'undici';
import { warmOriginClient } from '../origin/warm.js';
import type { StorageDriver } from '../storage/driver.js';
import { MirrorEngine } from './engine.js';

/** the throwaway body: a few origin reads and more than one reader wake-up, in a file spool */
const BODY = 512 * 1024;
const PIECE = 64 * 1024;

export async function warmFills(driver: StorageDriver): Promise<void> {
  await warmOriginClient();
  // the fills store nothing (proxy-only): the driver is never asked, and their spool files go to a
  // directory of their own (a test or a crash recovery looking at the data directory sees none)
  const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'osprey-warm-'));
  const body = Buffer.alloc(BODY, 'w');
  const md5 = createHash('md5').update(body).digest('base64');
  const server = http.createServer((_req, res) => {
    // no Content-Length: the engine spools a body of unknown size to a file, as a large fill does;
    // Content-MD5 has it hashed on the hashing thread and checked at the end
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-md5': md5, etag: '"warm"' });
    for (let at = 0; at < BODY; at += PIECE) res.write(body.subarray(at, at + PIECE));
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  const dispatcher = new Agent({ connections: 1, connect: { timeout: 10_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const engine = new MirrorEngine(driver, {
    spoolDir,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    maxObjectSize: 2 * BODY,
    tagForm: 'bare',
    dispatcher,
    maxPerOrigin: 2,
  });
  try {
    const { port } = server.address() as AddressInfo;
    const outcome = await engine.fetch({
      bucket: '',
      key: 'warm',
      urls: [`http://127.0.0.1:${port}/warm`],
      headers: {},
      followRedirects: false,
      switchAllErrors: false,
      checkMd5: true,
      transparentCodes: new Set(),
      // nothing is stored
      proxyOnly: true,
      saveMeta: false,
      returnHeaders: {},
      originLastModified: false,
    });
    if (outcome.kind !== 'stream') throw new Error(`the warm-up fill ended '${outcome.kind}'`);
    const sink = new Writable({
      write: (_chunk, _enc, cb) => cb(),
      writev: (_chunks, cb) => cb(),
    });
    await outcome.spool.reader().writeInto(sink, () => {});
    await outcome.stored;
  } finally {
    engine.probes.close();
    await dispatcher.close();
    server.close();
    await rm(spoolDir, { recursive: true, force: true });
  }
}
