/**
 * @module storage/fs/lock
 * One data dir, one server. Two servers on one dir would each believe they are its only writer
 * (caches, start-up cleanup of tmp/ and of pending blobs), so the second must not start at all.
 *
 * The lock is the operating system's: `osprey.lock` is a tiny SQLite database opened with
 * `PRAGMA locking_mode = EXCLUSIVE` and write-locked once (BEGIN EXCLUSIVE). SQLite then holds an
 * fcntl() write lock on it for as long as the connection is open, that is, for the life of the
 * process, and the kernel drops it the moment the process ends, however it ends (kill -9, OOM,
 * power): there is no stale lock file to clean up by hand, unlike a PID or mkdir lock. It needs no
 * new dependency (better-sqlite3 is the metadata store), and SQLite also tracks its locks per file
 * inside one process, so two stores opened on one dir in the same process conflict too (plain
 * fcntl() locks would not). `osprey.pid` beside it names the holder for the refusal message; it is
 * informational only, never trusted as the lock.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'osprey.lock';
export const PID_FILE = 'osprey.pid';

/** Another process holds the data dir. */
export class DataDirInUse extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `the data dir ${dir} is in use by another Osprey (${pid === undefined ? 'PID unknown' : `PID ${pid}`}); ` +
        'stop that one first, or give this one another --data dir',
    );
    this.name = 'DataDirInUse';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Takes the data dir's lock at once (no waiting), or throws DataDirInUse. */
export function lockDataDir(root: string): DataDirLock {
  let db: Db | undefined;
  try {
    db = new Database(path.join(root, LOCK_FILE));
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // nothing here needs a rollback journal (and a full disk must not stop the lock)
    db.pragma('journal_mode = OFF');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db?.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataDirInUse(root, holder(root));
    throw err;
  }
  try {
    writeFileSync(path.join(root, PID_FILE), `${process.pid}\n`);
  } catch {
    // informational only (a full disk may refuse it): the lock is held all the same
  }
  const held = db;
  return {
    release() {
      if (!held.open) return;
      rmSync(path.join(root, PID_FILE), { force: true });
      held.close();
    },
  };
}

function holder(root: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path.join(root, PID_FILE), 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
