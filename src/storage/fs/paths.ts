/**
 * @module storage/fs/paths
 * Where blobs live: `blobs/ab/cd/<id>` under the data dir, with random ids that never come from
 * a key, and a containment check on every path built (defence in depth: ids are ours, but a
 * corrupted database must not become a path traversal).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export class Paths {
  readonly root: string;
  readonly blobs: string;
  readonly tmp: string;
  readonly db: string;
  /** room kept for deletes on a full disk (reserve.ts) */
  readonly reserve: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
    this.blobs = path.join(this.root, 'blobs');
    this.tmp = path.join(this.root, 'tmp');
    this.db = path.join(this.root, 'meta.sqlite');
    this.reserve = path.join(this.root, 'reserve');
  }

  /** 128 random bits, hex: unguessable, never derived from a key, never reused. */
  static newId(): string {
    return randomBytes(16).toString('hex');
  }

  static isId(id: string): boolean {
    return /^[0-9a-f]{32}$/.test(id);
  }

  /** `blobs/ab/cd/<id>`: two levels of 256 directories keep each directory small. */
  blob(id: string): string {
    if (!Paths.isId(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return this.contained(path.join(this.blobs, id.slice(0, 2), id.slice(2, 4), id));
  }

  temp(id: string): string {
    if (!Paths.isId(id)) throw new Error(`invalid temp id ${JSON.stringify(id)}`);
    return this.contained(path.join(this.tmp, id));
  }

  private contained(p: string): string {
    if (!p.startsWith(this.root + path.sep)) throw new Error(`path escapes the data dir: ${p}`);
    return p;
  }
}
