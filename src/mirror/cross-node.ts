/**
 * @module mirror/cross-node
 * Single-flight across nodes (issue #7). Inside one process the mirror engine's SingleFlight
 * already makes one fill per key; with several nodes on one shared store, the store arbitrates:
 * the node that creates the key's lease object (a create-only PUT, atomic in the store) fills it,
 * renewing the lease while it runs, and removes it when the fill ends. Every other node waits,
 * polling, and then serves the stored object (streamed from the store into a spool, like a fill).
 * A lease whose node was killed expires after LEASE_TTL_MS and is taken over, so no key is blocked
 * for good; a node that has waited MAX_WAIT_MS (a very slow or huge fill elsewhere) fetches from
 * the origin itself without storing (MirrorProxyPass-like), so its clients are not held forever.
 * Drivers without `acquireLease` (the embedded store: one process) skip all of this.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectInfo, StorageDriver } from '../storage/driver.js';
import { Spool } from './spool.js';

export const LEASE_TTL_MS = 10_000;
const RENEW_EVERY_MS = 3_000;
const POLL_MS = 100;
/** longer than a lease lives: a dead filler's lease is taken over (and the key stored) first */
const MAX_WAIT_MS = 12_000;
/** an object this small is spooled in memory when served from the store to waiting clients */
const MEMORY_MAX = 1024 * 1024;
const RELEASE_GRACE_MS = 10_000;

/**
 * A fill streamed from its spool (the engine's FillOutcome 'stream'): what this module makes when
 * it serves another node's stored copy. userMeta: the origin metadata kept (MIR-27), named by the
 * HTTP layer in the request's dialect (x-amz-meta-* / x-oss-meta-*).
 */
export interface StreamOutcome {
  kind: 'stream';
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  size: number | undefined;
  spool: Spool;
  stored: Promise<ObjectInfo | undefined>;
}

/** The parts of a fill outcome this module makes or reads (the engine's FillOutcome). */
type Outcome = StreamOutcome | { kind: 'not-found' | 'redirect' | 'passthrough' | 'failed' };

export interface CrossNodeRequest {
  bucket: string;
  key: string;
  proxyOnly: boolean;
}

/**
 * Run `fill` for bucket/key once across every node sharing the store. `fill(proxyOnly)` is the
 * engine's own fill; with proxyOnly it must serve without storing.
 */
export async function fillAcrossNodes<O extends Outcome>(
  driver: StorageDriver,
  req: CrossNodeRequest,
  spoolDir: string,
  signal: { readonly aborted: boolean },
  fill: (proxyOnly: boolean) => Promise<O>,
): Promise<O | StreamOutcome> {
  if (!driver.acquireLease || req.proxyOnly) return fill(req.proxyOnly);
  const started = Date.now();
  for (;;) {
    if (signal.aborted) return fill(true);
    const lease = await driver.acquireLease(req.bucket, req.key, LEASE_TTL_MS).catch(() => undefined);
    if (lease) {
      // the node that held it before may have just stored the key
      const stored = await fromStore(driver, req, spoolDir).catch(() => undefined);
      if (stored) {
        await lease.release().catch(() => {});
        return stored;
      }
      const renew = setInterval(() => void lease.renew().catch(() => {}), RENEW_EVERY_MS).unref();
      const done = () => {
        clearInterval(renew);
        void lease.release().catch(() => {});
      };
      try {
        const outcome = await fill(false);
        if (outcome.kind === 'stream') void outcome.stored.finally(done);
        else done();
        return outcome;
      } catch (err) {
        done();
        throw err;
      }
    }
    const stored = await fromStore(driver, req, spoolDir).catch(() => undefined);
    if (stored) return stored;
    if (Date.now() - started >= MAX_WAIT_MS) return fill(true);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The key as another node stored it, as a fill outcome (streamed from the store); undefined when absent. */
async function fromStore(driver: StorageDriver, req: CrossNodeRequest, spoolDir: string): Promise<StreamOutcome | undefined> {
  const got = await driver.getObject(req.bucket, req.key);
  if (!got) return undefined;
  const { info, body } = got;
  const spool =
    info.size <= MEMORY_MAX
      ? Spool.memory(info.size)
      : await Spool.create(path.join(spoolDir, `mirror-${randomBytes(12).toString('hex')}`));
  const headers: Record<string, string> = {
    ...info.meta.headers,
    ...info.meta.system,
    etag: `"${info.etag}"`,
    'last-modified': info.lastModified.toUTCString(),
  };
  const pumped = pump(body, spool);
  // the clients that joined this fill attach their readers after the outcome resolves, and a
  // small object is in the spool long before that: it is given up only after a grace period
  // (a spool frees itself once released and its last reader is done)
  void pumped.finally(() => setTimeout(() => void spool.release(), RELEASE_GRACE_MS).unref());
  return { kind: 'stream', headers, userMeta: info.meta.userMeta, size: info.size, spool, stored: pumped.then(() => info) };
}

async function pump(body: Readable, spool: Spool): Promise<void> {
  try {
    for await (const chunk of body) await spool.append(chunk as Buffer);
    await spool.finish();
  } catch (err) {
    spool.fail(err instanceof Error ? err : new Error(String(err)));
    body.destroy();
    throw err;
  }
}
