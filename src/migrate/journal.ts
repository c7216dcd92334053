/**
 * @module migrate/journal
 * The resume journal of `osprey import`: an append-only JSON Lines file, one line written (one
 * write(2) with O_APPEND) as each object finishes, so a run killed at any point — even by SIGKILL —
 * leaves every finished object recorded; a torn last line is ignored when it is read back.
 *
 * Lines:
 *   {"v":1,"kind":"osprey-import","bucket":B,"endpoint":E,"source":S,"started":ISO}   first line: whose journal it is
 *   {"k":KEY,"s":"copied","n":BYTES,"e":ETAG}     copied (ETag as Osprey answered)
 *   {"k":KEY,"s":"skipped","why":REASON}          already in the bucket (or appeared meanwhile)
 *   {"k":KEY,"s":"upload","u":UPLOAD_ID}          a multipart upload was started for KEY
 *   {"k":KEY,"s":"failed","r":REASON}             informational: failed in that run, tried again in the next
 *
 * By default the file is in the state directory (migrate/options stateDir). On resume, keys whose
 * last line is copied or skipped are done and never fetched again (a --check run re-examines them); an
 * "upload" not followed by copied/skipped for the same key is an upload a killed run left behind,
 * aborted before the key is tried again.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FatalError } from './errors.js';

export interface JournalIdentity {
  bucket: string;
  endpoint: string;
  source: string;
}

type Line =
  | { k: string; s: 'copied'; n: number; e?: string }
  | { k: string; s: 'skipped'; why: string }
  | { k: string; s: 'upload'; u: string }
  | { k: string; s: 'failed'; r: string };

export class Journal {
  private fd: number | undefined;
  /** keys finished in an earlier run (copied or skipped) */
  readonly done = new Set<string>();
  /** multipart uploads started by an earlier run and never finished: key -> upload ids */
  readonly leftoverUploads = new Map<string, string[]>();
  /** whether an earlier run wrote this journal */
  readonly resumed: boolean;

  private constructor(
    readonly file: string,
    resumed: boolean,
  ) {
    this.resumed = resumed;
  }

  /** Open (or create) the journal; refuses a file that belongs to another import. */
  static open(file: string, id: JournalIdentity, opts: { readOnly?: boolean } = {}): Journal {
    const exists = existsSync(file);
    const j = new Journal(file, exists);
    if (exists) j.load(id);
    if (!opts.readOnly) {
      try {
        // the state directory (private: the journal names every key)
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        j.fd = openSync(file, 'a', 0o600);
      } catch (err) {
        throw new FatalError(`cannot write the state file '${file}': ${(err as Error).message}`);
      }
      if (!exists) j.write({ v: 1, kind: 'osprey-import', ...id, started: new Date().toISOString() });
    }
    return j;
  }

  private load(id: JournalIdentity): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      throw new FatalError(`cannot read the state file '${this.file}': ${(err as Error).message}`);
    }
    const lines = text.split('\n');
    let header: Partial<JournalIdentity> & { kind?: string } = {};
    try {
      header = JSON.parse(lines[0] ?? '') as typeof header;
    } catch {
      // handled below
    }
    if (header.kind !== 'osprey-import') throw new FatalError(`the state file '${this.file}' is not an osprey import journal`);
    if (header.bucket !== id.bucket || header.source !== id.source || header.endpoint !== id.endpoint) {
      throw new FatalError(
        `the state file '${this.file}' belongs to another import (bucket ${header.bucket ?? '?'} at ${header.endpoint ?? '?'} from ${header.source ?? '?'}); give another --state or delete it`,
      );
    }
    const uploads = new Map<string, string[]>();
    for (const raw of lines.slice(1)) {
      if (raw === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // a line torn by a kill
      }
      if (typeof line.k !== 'string') continue;
      if (line.s === 'copied' || line.s === 'skipped') {
        this.done.add(line.k);
        uploads.delete(line.k);
      } else if (line.s === 'upload') {
        uploads.set(line.k, [...(uploads.get(line.k) ?? []), line.u]);
      }
    }
    for (const [k, ids] of uploads) this.leftoverUploads.set(k, ids);
  }

  copied(key: string, bytes: number, etag: string | undefined): void {
    this.write({ k: key, s: 'copied', n: bytes, ...(etag && { e: etag }) });
  }

  skipped(key: string, why: string): void {
    this.write({ k: key, s: 'skipped', why });
  }

  upload(key: string, uploadId: string): void {
    this.write({ k: key, s: 'upload', u: uploadId });
  }

  failed(key: string, reason: string): void {
    this.write({ k: key, s: 'failed', r: reason });
  }

  private write(value: object): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(value)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
