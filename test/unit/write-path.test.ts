/**
 * The one write path (issue #16, MIR-42): every write or delete of a key that the services make,
 * whatever the front end, tells the mirror engine before the store is asked to write it, and
 * If-None-Match: * on CompleteMultipartUpload refuses an existing key before anything is told.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { MultipartService } from '../../src/service/multipart.ts';
import { ObjectService } from '../../src/service/objects.ts';
import type { ObjectInfo, StorageDriver } from '../../src/storage/driver.ts';

function setup(existing: boolean) {
  const events: string[] = [];
  const info = {
    key: 'k',
    size: 1,
    etag: 'e',
    lastModified: new Date(0),
    meta: { headers: {}, userMeta: {}, system: {} },
  } as unknown as ObjectInfo;
  const driver = {
    headObject: async () => (existing ? info : undefined),
    getObject: async () => ({ info, body: Readable.from([Buffer.from('x')]) }),
    putObject: async (b: string, k: string, body: Readable) => {
      body.resume();
      events.push(`store put ${b}/${k}`);
      return info;
    },
    deleteObject: async (b: string, k: string) => {
      events.push(`store delete ${b}/${k}`);
    },
    completeMultipartUpload: async (b: string, k: string) => {
      events.push(`store complete ${b}/${k}`);
      return info;
    },
  } as unknown as StorageDriver;
  const objects = new ObjectService(driver, { forget: (b, k) => events.push(`forget ${b}/${k}`) }, { maxObjectSize: 1024 });
  return { events, objects, multipart: new MultipartService(driver, objects) };
}

describe('the one write path tells the mirror engine before every write of a key (MIR-42)', () => {
  it('put, copy, delete, complete (ObjectService and MultipartService)', async () => {
    const { events, objects, multipart } = setup(false);
    await objects.put('b', 'put', Readable.from([Buffer.from('x')]), { meta: { headers: {}, userMeta: {}, system: {} }, size: 1 });
    await objects.copy({ bucket: 'b', key: 'src' }, { bucket: 'b', key: 'copy' }, undefined, undefined, () => {});
    await objects.delete('b', 'del');
    await multipart.complete('b', 'mpu', 'u1', [{ partNumber: 1, etag: 'e' }]);
    assert.deepEqual(events, [
      'forget b/put',
      'store put b/put',
      'forget b/copy',
      'store put b/copy',
      'forget b/del',
      'store delete b/del',
      'forget b/mpu',
      'store complete b/mpu',
    ]);
  });

  it('CompleteMultipartUpload with If-None-Match: * on an existing key: PreconditionFailed, nothing told or written', async () => {
    const { events, multipart } = setup(true);
    await assert.rejects(multipart.complete('b', 'k', 'u1', [{ partNumber: 1, etag: 'e' }], { ifNoneMatch: true }), {
      code: 'PreconditionFailed',
    });
    assert.deepEqual(events, []);
  });
});
