/**
 * Issue #15, defect 4: every out-of-space failure answers the same 503 ServiceUnavailable, from
 * the embedded store (ENOSPC, EDQUOT, SQLITE_FULL, also as the cause of another error) and from
 * an S3-compatible store (507, a quota, or the local spool's ENOSPC).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOutOfSpace, storageFull, toS3Error } from '../../src/errors.ts';
import { fromStore } from '../../src/storage/s3/errors.ts';

const coded = (code: string) => Object.assign(new Error(code), { code });
const full = storageFull(undefined);

describe('out of space maps to 503 ServiceUnavailable', () => {
  it('the embedded store: file system and SQLite', () => {
    for (const err of [
      coded('ENOSPC'),
      coded('EDQUOT'),
      coded('SQLITE_FULL'),
      coded('SQLITE_IOERR_SHMSIZE'),
      new Error('pipeline failed', { cause: coded('SQLITE_FULL') }),
    ]) {
      assert.ok(isOutOfSpace(err), err.message);
      const e = toS3Error(err);
      assert.equal(e.code, 'ServiceUnavailable', err.message);
      assert.equal(e.status, 503);
      assert.equal(e.message, full.message);
    }
    assert.equal(toS3Error(coded('SQLITE_CORRUPT')).code, 'InternalError');
    assert.ok(!isOutOfSpace(coded('EACCES')));
  });

  it('an S3-compatible store: 507, quotas, and the local spool', () => {
    const answers = [
      { name: 'InsufficientCapacity', $metadata: { httpStatusCode: 507 } },
      { name: 'XMinioStorageFull', $metadata: { httpStatusCode: 507 } },
      { name: 'Unknown', $metadata: { httpStatusCode: 507 } },
      { name: 'QuotaExceeded', $metadata: { httpStatusCode: 403 } },
      coded('ENOSPC'),
    ];
    for (const err of answers) {
      const e = fromStore(err, { bucket: 'b', key: 'k' });
      assert.equal(e.code, 'ServiceUnavailable', JSON.stringify(err));
      assert.equal(e.status, 503);
      assert.equal(e.message, full.message, JSON.stringify(err));
      assert.equal(e.detail.key, 'k');
    }
  });
});
