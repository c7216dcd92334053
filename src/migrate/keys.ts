/**
 * @module migrate/keys
 * The `--keys` list: one object key per line (UTF-8; LF or CRLF), read whole and checked before
 * anything is written. A blank line, a key Osprey would refuse, or a key listed twice stops the run
 * with every problem named by line number (the first few of each kind), so a list produced by a
 * broken script never half-migrates.
 */
import { readFile } from 'node:fs/promises';
import { S3Error } from '../errors.js';
import { validateObjectKey } from '../service/names.js';
import { FatalError } from './errors.js';

const SHOWN = 5;

/** Reads the list from a file, or stdin for '-'. */
export async function readKeyList(file: string): Promise<string[]> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new FatalError(`cannot read the key list '${file}': ${(err as Error).message}`);
  }
  return parseKeyList(text, file === '-' ? 'stdin' : file);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** The keys of a list, in order, or a FatalError naming each problem with its line number. */
export function parseKeyList(text: string, name = 'the key list'): string[] {
  const lines = text.split('\n');
  // one final newline ends the last line; it is not a blank line
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const keys: string[] = [];
  const seen = new Map<string, number>();
  const blank: number[] = [];
  const invalid: string[] = [];
  const dupes: string[] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const n = i + 1;
    if (line.trim() === '') {
      blank.push(n);
      return;
    }
    try {
      validateObjectKey(line);
    } catch (err) {
      invalid.push(
        `line ${n} '${line.length > 60 ? `${line.slice(0, 60)}…` : line}': ${err instanceof S3Error ? err.message : String(err)}`,
      );
      return;
    }
    const before = seen.get(line);
    if (before !== undefined) {
      dupes.push(`line ${n} repeats line ${before} ('${line.length > 60 ? `${line.slice(0, 60)}…` : line}')`);
      return;
    }
    seen.set(line, n);
    keys.push(line);
  });
  const problems: string[] = [];
  if (blank.length > 0)
    problems.push(`${blank.length} blank line(s): line ${blank.slice(0, SHOWN).join(', ')}${blank.length > SHOWN ? ', …' : ''}`);
  if (invalid.length > 0)
    problems.push(`${invalid.length} invalid key(s): ${invalid.slice(0, SHOWN).join('; ')}${invalid.length > SHOWN ? '; …' : ''}`);
  if (dupes.length > 0)
    problems.push(`${dupes.length} duplicate key(s): ${dupes.slice(0, SHOWN).join('; ')}${dupes.length > SHOWN ? '; …' : ''}`);
  if (problems.length > 0) throw new FatalError(`${name}: ${problems.join('; ')}`);
  if (keys.length === 0) throw new FatalError(`${name} has no keys`);
  return keys;
}
