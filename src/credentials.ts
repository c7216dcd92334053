/**
 * @module credentials
 * The owner's access key pair: from the config, or generated on first start and kept in the
 * data dir (mode 0600) so restarts accept the same pair.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyStore } from './auth/types.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  generated: boolean;
}

export function loadCredentials(dataDir: string, given?: { accessKeyId?: string; secretAccessKey?: string }): Credentials {
  if (given?.accessKeyId && given.secretAccessKey)
    return { accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey, generated: false };
  const file = path.join(dataDir, 'credentials.json');
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId?: unknown; secretAccessKey?: unknown };
    if (typeof saved.accessKeyId === 'string' && typeof saved.secretAccessKey === 'string') {
      return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey, generated: false };
    }
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  const creds = {
    accessKeyId: 'OSPREY' + randomBytes(7).toString('hex').toUpperCase(),
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return { ...creds, generated: true };
}

export function keyStore(creds: Credentials): KeyStore {
  return { secretFor: (id) => (id === creds.accessKeyId ? creds.secretAccessKey : undefined) };
}
