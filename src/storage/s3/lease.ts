/**
 * @module storage/s3/lease
 * What several nodes sharing one store agree on through create-only documents (PutObject with
 * If-None-Match: *, atomic in the store across gateways): the mirror fill lease of a key, and the
 * owner key pair when none is configured.
 */
import { randomBytes } from 'node:crypto';
import { S3Error } from '../../errors.js';
import type { LeaseHandle } from '../driver.js';
import { isPreconditionFailed } from './errors.js';
import type { Layout } from './layout.js';
import type { Store } from './store.js';

/**
 * A create-only lease object (PutObject with If-None-Match: *, atomic in the store across
 * gateways) names one node as the filler of bucket/key until `ttlMs` from now. undefined when
 * another node holds a lease that has not expired. An expired lease (its node died) is removed
 * and taken over.
 */
export async function acquireLease(
  store: Store,
  layout: Layout,
  nodeId: string,
  bucket: string,
  key: string,
  ttlMs: number,
): Promise<LeaseHandle | undefined> {
  const lk = layout.lease(bucket, key);
  const owner = `${nodeId}-${randomBytes(4).toString('hex')}`;
  const doc = () => JSON.stringify({ owner, expires: Date.now() + ttlMs });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await store.putText(lk, doc(), true);
      return {
        renew: () => store.putText(lk, doc()),
        release: async () => {
          const now = await store.getText(lk).catch(() => undefined);
          // only our own lease: after an expiry another node may hold it
          if (now !== undefined && (JSON.parse(now) as { owner?: string }).owner === owner) await store.deleteKey(lk);
        },
      };
    } catch (err) {
      if (!(err instanceof S3Error && err.code === 'PreconditionFailed') && !isPreconditionFailed(err)) throw err;
    }
    const held = await store.getText(lk);
    if (held === undefined) continue; // released meanwhile: try again
    const expires = Number((JSON.parse(held) as { expires?: unknown }).expires);
    if (Number.isFinite(expires) && expires > Date.now()) return undefined;
    await store.deleteKey(lk); // expired: its node died or hung
  }
  return undefined;
}

/**
 * The owner key pair kept in the store, so that every node accepts the same one: read it, or
 * generate it and write it create-only (the first node to start wins, the others read its pair).
 */
export async function sharedCredentials(
  store: Store,
  layout: Layout,
): Promise<{ accessKeyId: string; secretAccessKey: string; generated: boolean }> {
  const key = layout.credentials();
  for (let attempt = 0; attempt < 3; attempt++) {
    const text = await store.getText(key);
    if (text !== undefined) {
      const c = JSON.parse(text) as { accessKeyId: string; secretAccessKey: string };
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, generated: false };
    }
    const made = {
      accessKeyId: 'OSPREY' + randomBytes(7).toString('hex').toUpperCase(),
      secretAccessKey: randomBytes(30).toString('base64url'),
    };
    try {
      await store.putText(key, JSON.stringify(made), true);
      return { ...made, generated: true };
    } catch (err) {
      if (!(err instanceof S3Error && err.code === 'PreconditionFailed')) throw err;
    }
  }
  throw new Error('could not read or create the shared credentials in the store');
}
