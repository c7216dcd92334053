import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, S3Error, toS3Error } from '../../src/errors.ts';
import { renderErrorsDoc } from '../../scripts/gen-errors-doc.ts';

describe('the error table', () => {
  it('docs/errors.md lists exactly the codes in src/errors.ts', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(ERRORS).sort());
    assert.equal(doc, renderErrorsDoc(), 'regenerate with: node --import tsx scripts/gen-errors-doc.ts');
  });
  it('every row has a status, a message and an EC of the OSS shape', () => {
    for (const [code, row] of Object.entries(ERRORS)) {
      assert.ok(row.status >= 300 && row.status < 600, code);
      assert.ok(row.message.length > 0, code);
      assert.match(row.ec, /^\d{4}-\d{8}$/, code);
    }
  });
  it('toS3Error keeps S3Errors and hides unknown errors behind InternalError', () => {
    const e = new S3Error('NoSuchKey', { key: 'k' });
    assert.equal(toS3Error(e), e);
    const internal = toS3Error(new Error('secret detail'));
    assert.equal(internal.code, 'InternalError');
    assert.notEqual(internal.message, 'secret detail');
    assert.equal(toS3Error(Object.assign(new Error('x'), { code: 'ENOSPC' })).status, 503);
  });
});
