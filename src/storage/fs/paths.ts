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

  constructor(dir: string) {
    this.root = path.resolve(dir);
    this.blobs = path.join(this.root, 'blobs');
    this.tmp = path.join(this.root, 'tmp');
    this.db = path.join(this.root, 'meta.sqlite');
  }

  static newId(): string {
    return randomBytes(16).toString('hex');
  }

  blob(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return this.contained(path.join(this.blobs, id.slice(0, 2), id.slice(2, 4), id));
  }

  temp(id: string): string {
    return this.contained(path.join(this.tmp, id));
  }

  private contained(p: string): string {
    if (!p.startsWith(this.root + path.sep)) throw new Error(`path escapes the data dir: ${p}`);
    return p;
  }
}
