/**
 * MIR-30: the tag set as kept in system metadata, and the headers a client sees. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  TAG_COUNT_META,
  TAG_SET_META,
  decodeTagSet,
  encodeTagSet,
  publicTagHeaders,
  tagSetProblem,
  tagSystemMeta,
} from '../../src/rules/tagging.ts';

describe('MIR-30 object tags in system metadata', () => {
  it('round-trips keys and values with reserved characters and unicode', () => {
    const tags = [
      { key: 'a&b=c', value: 'x y/z?%' },
      { key: 'ключ', value: '' },
      { key: 'k', value: '=' },
    ];
    assert.deepEqual(decodeTagSet(encodeTagSet(tags)), tags);
    assert.deepEqual(decodeTagSet(undefined), []);
  });
  it('no tags, no metadata; otherwise the set and its count', () => {
    assert.deepEqual(tagSystemMeta([]), {});
    assert.deepEqual(
      tagSystemMeta([
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]),
      { [TAG_SET_META]: 'a=1&b=2', [TAG_COUNT_META]: '2' },
    );
  });
  it('responses never carry the set; the count is named for the dialect', () => {
    const stored = { etag: '"x"', [TAG_SET_META]: 'a=1', [TAG_COUNT_META]: '1' };
    assert.deepEqual(publicTagHeaders(stored, 's3'), { etag: '"x"', 'x-amz-tagging-count': '1' });
    assert.deepEqual(publicTagHeaders(stored, 'oss'), { etag: '"x"', 'x-oss-tagging-count': '1' });
    const plain = { etag: '"y"' };
    assert.equal(publicTagHeaders(plain, 's3'), plain);
  });
  it('S3 limits', () => {
    assert.equal(tagSetProblem([{ Key: 'a', Value: 'v'.repeat(256) }, { Key: 'k'.repeat(128) }]), undefined);
    assert.match(tagSetProblem([{ Key: 'a', Value: 'v'.repeat(257) }]) ?? '', /longer than 256/);
    assert.match(tagSetProblem([{ Value: 'v' }]) ?? '', /non-empty Key/);
    assert.match(tagSetProblem(Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}` }))) ?? '', /at most 10/);
  });
});
