/**
 * DeleteObjects reports each key that could not be deleted in its <Error> list; a failure that is
 * not already an S3Error maps through the one table (errors.ts toS3Error), so a store out of
 * space says ServiceUnavailable there, as every other answer does (issue #15, defect 4), and only
 * what the table does not know is InternalError.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { storageFull } from '../../src/errors.ts';
import type { Ctx } from '../../src/http/context.ts';
import type { Deps } from '../../src/http/deps.ts';
import { deleteObjects } from '../../src/http/handlers/bucket.ts';
import type { Endpoint } from '../../src/http/route.ts';
import { xmlField } from '../helpers/raw.ts';

const coded = (code: string) => Object.assign(new Error(`${code}: the store said no`), { code });
/** what each key's delete throws (a key not listed is deleted) */
const failures: Record<string, Error> = {
  'full-disk': coded('ENOSPC'),
  'full-db': new Error('statement failed', { cause: coded('SQLITE_FULL') }),
  busy: coded('SQLITE_BUSY'),
  odd: new Error('something unexpected'),
};

const deps = {
  log: { error: () => {} },
  buckets: { require: async () => ({ name: 'b' }) },
  objects: {
    delete: async (_bucket: string, key: string) => {
      const err = failures[key];
      if (err) throw err;
    },
  },
} as unknown as Deps;

describe('DeleteObjects: per-key failures map through the one error table', () => {
  let server: http.Server;
  let base = '';
  before(async () => {
    server = http.createServer((req, res) => {
      const ctx: Ctx = {
        req,
        res,
        reqId: 'test',
        started: process.hrtime.bigint(),
        dialect: 's3',
        bytesIn: 0,
        bytesOut: 0,
        endpoint: { bucket: 'b', query: new Map() } as unknown as Endpoint,
      };
      deleteObjects(ctx, deps).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('out of space is ServiceUnavailable with the storage-full message; the rest as the table says', async () => {
    const keys = ['gone', 'full-disk', 'full-db', 'busy', 'odd'];
    const body = `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
    const r = await fetch(`${base}/b?delete`, { method: 'POST', body });
    const xml = await r.text();
    assert.equal(r.status, 200, xml);
    const errors = [...xml.matchAll(/<Error>(.*?)<\/Error>/gs)].map((m) => ({
      key: xmlField(m[1] ?? '', 'Key'),
      code: xmlField(m[1] ?? '', 'Code'),
      message: xmlField(m[1] ?? '', 'Message'),
    }));
    const full = storageFull(undefined).message;
    assert.deepEqual(errors, [
      { key: 'full-disk', code: 'ServiceUnavailable', message: full },
      { key: 'full-db', code: 'ServiceUnavailable', message: full },
      { key: 'busy', code: 'SlowDown', message: 'Please reduce your request rate.' },
      { key: 'odd', code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
    ]);
    assert.match(xml, /<Deleted><Key>gone<\/Key><\/Deleted>/);
  });
});
