/**
 * migrate/keys (the --keys list is checked whole before anything is written) and migrate/journal
 * (what a resumed import counts as done, torn lines, leftover uploads, another import's file).
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FatalError } from '../../src/migrate/errors.ts';
import { Journal } from '../../src/migrate/journal.ts';
import { parseKeyList } from '../../src/migrate/keys.ts';
import { tmpDir } from '../helpers/osprey.ts';

describe('key list', () => {
  it('one key per line, LF or CRLF, a final newline or none; spaces inside keys kept', () => {
    assert.deepEqual(parseKeyList('a\nb c.txt\r\nd/e\n'), ['a', 'b c.txt', 'd/e']);
    assert.deepEqual(parseKeyList('only'), ['only']);
  });
  it('blank lines, invalid keys and duplicates are named by line number, all at once', () => {
    assert.throws(
      () => parseKeyList('a\n\n  \nb/../c\na\n', 'keys.txt'),
      (e: Error) =>
        e instanceof FatalError &&
        /^keys.txt: 2 blank line\(s\): line 2, 3; 1 invalid key\(s\): line 4 'b\/\.\.\/c': .*'\.' or '\.\.'.*; 1 duplicate key\(s\): line 5 repeats line 1/.test(
          e.message,
        ),
    );
    assert.throws(() => parseKeyList(`${'x'.repeat(1025)}\n`), /1 invalid key\(s\): line 1 .*too long/);
    assert.throws(() => parseKeyList(''), /has no keys/);
  });
});

describe('journal', () => {
  const id = { bucket: 'b', endpoint: 'http://127.0.0.1:1', source: 'origin http://o/ keys k' };
  it('done = last line copied or skipped; failed keys and torn lines are not; unfinished uploads are left over', async () => {
    const file = path.join(await tmpDir('osprey-journal-'), 'j.jsonl');
    const j = Journal.open(file, id);
    assert.equal(j.resumed, false);
    j.copied('a', 10, 'etag');
    j.skipped('b', 'already in the bucket');
    j.failed('c', 'the origin answered 503');
    j.upload('d', 'U1');
    j.upload('e', 'U2');
    j.copied('e', 99, undefined);
    j.close();
    appendFileSync(file, '{"k":"f","s":"cop'); // killed mid-write
    const again = Journal.open(file, id, { readOnly: true });
    assert.equal(again.resumed, true);
    assert.deepEqual([...again.done].sort(), ['a', 'b', 'e']);
    assert.deepEqual([...again.leftoverUploads], [['d', ['U1']]]);
    assert.equal((JSON.parse(readFileSync(file, 'utf8').split('\n')[0] ?? '') as { kind?: unknown }).kind, 'osprey-import');
  });
  it("refuses another import's file, and a file that is no journal", async () => {
    const dir = await tmpDir('osprey-journal-');
    const file = path.join(dir, 'j.jsonl');
    Journal.open(file, id).close();
    assert.throws(() => Journal.open(file, { ...id, bucket: 'other' }), /belongs to another import \(bucket b at http:\/\/127.0.0.1:1/);
    const notJournal = path.join(dir, 'n.jsonl');
    appendFileSync(notJournal, 'hello\n');
    assert.throws(() => Journal.open(notJournal, id), /is not an osprey import journal/);
  });
});
