/**
 * @module storage/fs/list
 * ListObjects and ListMultipartUploads as range scans of the primary keys. Rows are read lazily
 * (Statement.iterate) and the scan stops at the first key past the prefix, so a page costs what
 * it returns plus one row. With a delimiter, each common prefix costs one row: after emitting
 * `dir/`, the next scan seeks straight to the first key after every `dir/…` key.
 *
 * Order is UTF-8 byte order (SQLite BINARY collation over UTF-8 TEXT). JS `<` compares UTF-16
 * code units, which disagrees with it for characters above U+FFFF, so comparisons here go
 * through `compareUtf8`.
 */
import type { ListOptions, ListResult, ListUploadsOptions, MultipartUpload } from '../driver.js';
import type { Statements } from './meta.js';
import { toInfo, toUpload } from './rows.js';

/** -1, 0, 1 as `a` sorts before, with, after `b` in UTF-8 byte order. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The least string sorting after every string that starts with `s` (UTF-8 byte order), or
 * undefined when there is none (`s` is empty or all U+10FFFF). Code point order is UTF-8 byte
 * order and UTF-8 is prefix-free, so raising the last code point by one gives exactly that;
 * surrogate code points cannot be stored, so U+D7FF steps to U+E000.
 */
export function prefixEnd(s: string): string | undefined {
  const cps = Array.from(s);
  for (let i = cps.length - 1; i >= 0; i--) {
    const cp = cps[i]?.codePointAt(0) ?? 0x10ffff;
    if (cp < 0x10ffff) return cps.slice(0, i).join('') + String.fromCodePoint(cp === 0xd7ff ? 0xe000 : cp + 1);
  }
  return undefined;
}

/** The common prefix `key` rolls up into: up to and including the first delimiter after `prefix`. */
function rollUp(key: string, prefix: string, delimiter: string): string | undefined {
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

interface Cursor {
  key: string;
  /** scan from `key` itself (>=) rather than strictly after it (>) */
  inclusive: boolean;
}

function pastGroup(commonPrefix: string): Cursor | undefined {
  const end = prefixEnd(commonPrefix);
  return end === undefined ? undefined : { key: end, inclusive: true };
}

function firstCursor(prefix: string, delimiter: string | undefined, startAfter: string | undefined): Cursor | undefined {
  if (startAfter === undefined || compareUtf8(startAfter, prefix) < 0) return { key: prefix, inclusive: true };
  // startAfter is a common prefix already returned (a nextMarker), or a key inside one: the whole
  // group is behind us, so it is neither listed again nor walked through.
  const group = delimiter && startAfter.startsWith(prefix) ? rollUp(startAfter, prefix, delimiter) : undefined;
  if (group !== undefined) return pastGroup(group);
  return { key: startAfter, inclusive: false };
}

/**
 * maxKeys counts objects and common prefixes together. maxKeys <= 0 gives an empty page with
 * isTruncated false, whatever the bucket holds: what AWS answers to max-keys=0. isTruncated is
 * exact: true only when another entry follows.
 */
export function listObjects(st: Statements, bucket: string, opts: ListOptions): ListResult {
  const { prefix, maxKeys } = opts;
  const delimiter = opts.delimiter || undefined;
  const result: ListResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys <= 0) return result;
  let cursor = firstCursor(prefix, delimiter, opts.startAfter);
  let count = 0;
  scan: while (cursor) {
    const rows = (cursor.inclusive ? st.objectsFrom : st.objectsAfter).iterate(bucket, cursor.key);
    cursor = undefined;
    // leaving this loop early (break/continue) returns the iterator, which resets the statement
    for (const row of rows) {
      if (!row.key.startsWith(prefix)) break scan;
      if (count === maxKeys) {
        result.isTruncated = true;
        break scan;
      }
      count++;
      const group = delimiter === undefined ? undefined : rollUp(row.key, prefix, delimiter);
      if (group !== undefined) {
        result.commonPrefixes.push(group);
        result.nextMarker = group;
        cursor = pastGroup(group);
        continue scan;
      }
      result.objects.push(toInfo(row));
      result.nextMarker = row.key;
    }
  }
  return result;
}

/** Sorts after every upload id (ids are ASCII). */
const AFTER_ANY_ID = '\u{10FFFF}';

/**
 * In (key, upload id) order; upload ids start with their creation time, so within a key this is
 * initiation order, as S3 documents. As in S3, uploadIdMarker only counts with keyMarker: with
 * keyMarker alone the listing resumes at the keys after it; with both, at that key's uploads
 * after that id.
 */
export function listUploads(
  st: Statements,
  bucket: string,
  opts: ListUploadsOptions,
): { uploads: MultipartUpload[]; isTruncated: boolean } {
  const uploads: MultipartUpload[] = [];
  if (opts.maxUploads <= 0) return { uploads, isTruncated: false };
  let key = opts.prefix;
  let id = ''; // (prefix, '') sorts before every upload of every key with the prefix
  if (opts.keyMarker !== undefined && compareUtf8(opts.keyMarker, opts.prefix) >= 0) {
    key = opts.keyMarker;
    id = opts.uploadIdMarker ?? AFTER_ANY_ID;
  }
  for (const row of st.uploadsAfter.iterate(bucket, key, id)) {
    if (!row.key.startsWith(opts.prefix)) break;
    if (uploads.length === opts.maxUploads) return { uploads, isTruncated: true };
    uploads.push(toUpload(row));
  }
  return { uploads, isTruncated: false };
}
