/**
 * src/storage/multipart: what both drivers' CompleteMultipartUpload share. The checks come in
 * S3's order (the list's order, then each part, then sizes) with S3's error fields; a part number
 * listed twice in a row collapses to its later entry (collapseRepeats, the front end's rule) while
 * the drivers themselves refuse any repetition; the multipart ETag is MD5-of-MD5s "-N".
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import { bareEtag, checkPartList, chooseParts, collapseRepeats, MIN_PART_SIZE, multipartEtag } from '../../src/storage/multipart.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const MIN = 1024;
const stored = new Map([
  [1, { etag: md5('one'), size: 2048, id: 'a' }],
  [2, { etag: md5('two'), size: 512, id: 'b' }],
  [3, { etag: md5('three'), size: 100, id: 'c' }],
]);

function refusal(f: () => unknown): S3Error {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return err;
  }
  assert.fail('no error');
}

describe('storage/multipart', () => {
  it('the minimum part is 5 MiB', () => {
    assert.equal(MIN_PART_SIZE, 5 * 1024 * 1024);
  });

  it('chooses the listed parts in their order; quoted and upper-case ETags match', () => {
    const chosen = chooseParts(
      [
        { partNumber: 1, etag: `"${md5('one').toUpperCase()}"` },
        { partNumber: 3, etag: md5('three') },
      ],
      stored,
      MIN,
    );
    assert.deepEqual(
      chosen.map((p) => p.id),
      ['a', 'c'],
    );
  });

  it('an empty list is MalformedXML', () => {
    assert.equal(refusal(() => chooseParts([], stored, MIN)).code, 'MalformedXML');
  });

  it('descending, or a part number listed twice (in a row or not), is InvalidPartOrder, before any part is looked at', () => {
    assert.equal(
      refusal(() =>
        chooseParts(
          [
            { partNumber: 2, etag: md5('two') },
            { partNumber: 1, etag: md5('one') },
          ],
          stored,
          MIN,
        ),
      ).code,
      'InvalidPartOrder',
    );
    assert.equal(
      refusal(() =>
        chooseParts(
          [
            { partNumber: 1, etag: md5('one') },
            { partNumber: 1, etag: md5('one') },
          ],
          stored,
          MIN,
        ),
      ).code,
      'InvalidPartOrder',
    );
    // order first: part 9 does not exist, but the order is what is reported
    assert.equal(
      refusal(() =>
        chooseParts(
          [
            { partNumber: 9, etag: 'x' },
            { partNumber: 1, etag: md5('one') },
          ],
          stored,
          MIN,
        ),
      ).code,
      'InvalidPartOrder',
    );
  });

  it('checkPartList judges the list alone (what a driver checks before asking its store for the parts)', () => {
    assert.equal(refusal(() => checkPartList([])).code, 'MalformedXML');
    assert.equal(
      refusal(() =>
        checkPartList([
          { partNumber: 3, etag: 'x' },
          { partNumber: 3, etag: 'y' },
        ]),
      ).code,
      'InvalidPartOrder',
    );
    assert.equal(
      refusal(() =>
        checkPartList([
          { partNumber: 3, etag: 'x' },
          { partNumber: 2, etag: 'y' },
        ]),
      ).code,
      'InvalidPartOrder',
    );
    checkPartList([
      { partNumber: 1, etag: 'unknown' },
      { partNumber: 10_000, etag: 'unknown' },
    ]);
  });

  it('an unknown part or a wrong ETag is InvalidPart naming the part as listed', () => {
    const missing = refusal(() =>
      chooseParts(
        [
          { partNumber: 1, etag: md5('one') },
          { partNumber: 9, etag: '"abc"' },
        ],
        stored,
        MIN,
      ),
    );
    assert.equal(missing.code, 'InvalidPart');
    assert.deepEqual(missing.detail.fields, { PartNumber: '9', ETag: '"abc"' });
    assert.equal(refusal(() => chooseParts([{ partNumber: 2, etag: md5('one') }], stored, MIN)).code, 'InvalidPart');
  });

  it('a part under the minimum other than the last is EntityTooSmall with its number and sizes; existence is checked before sizes', () => {
    const small = refusal(() =>
      chooseParts(
        [
          { partNumber: 2, etag: md5('two') },
          { partNumber: 3, etag: md5('three') },
        ],
        stored,
        MIN,
      ),
    );
    assert.equal(small.code, 'EntityTooSmall');
    assert.deepEqual(small.detail.fields, { PartNumber: '2', ProposedSize: '512', MinSizeAllowed: '1024' });
    assert.equal(
      refusal(() =>
        chooseParts(
          [
            { partNumber: 2, etag: md5('two') },
            { partNumber: 4, etag: 'x' },
          ],
          stored,
          MIN,
        ),
      ).code,
      'InvalidPart',
    );
    // the last part may be small, and a single part too
    assert.equal(
      chooseParts(
        [
          { partNumber: 1, etag: md5('one') },
          { partNumber: 3, etag: md5('three') },
        ],
        stored,
        MIN,
      ).length,
      2,
    );
    assert.equal(chooseParts([{ partNumber: 3, etag: md5('three') }], stored, MIN).length, 1);
  });

  it('collapseRepeats keeps the later of a part number listed twice in a row, and nothing else changes', () => {
    const list = [
      { partNumber: 1, etag: 'a' },
      { partNumber: 2, etag: 'old' },
      { partNumber: 2, etag: 'new' },
      { partNumber: 3, etag: 'c' },
    ];
    assert.deepEqual(collapseRepeats(list), [
      { partNumber: 1, etag: 'a' },
      { partNumber: 2, etag: 'new' },
      { partNumber: 3, etag: 'c' },
    ]);
    const apart = [
      { partNumber: 1, etag: 'a' },
      { partNumber: 2, etag: 'b' },
      { partNumber: 1, etag: 'a2' },
    ];
    assert.deepEqual(collapseRepeats(apart), apart);
    assert.deepEqual(collapseRepeats([]), []);
  });

  it('multipartEtag is the MD5 of the binary part MD5s, then -N', () => {
    // two parts: MD5("a") and MD5("b"), binary, concatenated, hashed
    assert.equal(
      multipartEtag([md5('a'), md5('b')]),
      `${createHash('md5')
        .update(Buffer.concat([createHash('md5').update('a').digest(), createHash('md5').update('b').digest()]))
        .digest('hex')}-2`,
    );
    assert.equal(multipartEtag([md5('a'), md5('b')]), '96e024ba2074fe77e8e965ba43a704be-2');
    assert.match(multipartEtag([md5('only')]), /^[0-9a-f]{32}-1$/);
  });

  it('bareEtag drops quotes and spaces and lower-cases; undefined is empty', () => {
    assert.equal(bareEtag(' "ABCdef" '), 'abcdef');
    assert.equal(bareEtag(undefined), '');
  });
});
