/**
 * @module storage/s3/multipart
 * Client multipart uploads: the parts are the store's own multipart upload on the object's store
 * key, and an upload document (layout.ts) keeps the client's key, the initiation time and the
 * metadata. CompleteMultipartUpload is checked before the store is asked (RGW completes only with
 * every uploaded part, in order).
 */
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error } from '../../errors.js';
import type { MultipartUpload, ObjectInfo, ObjectMeta, PartInfo, PutOptions } from '../driver.js';
import { checkPartList, chooseParts, multipartEtag } from '../multipart.js';
import type { ListedPart } from '../multipart.js';
import type { Buckets } from './buckets.js';
import { BodyChecker } from './checker.js';
import { fromStore } from './errors.js';
import { bareEtag, encodeMeta } from './layout.js';
import type { Layout, UploadDoc } from './layout.js';
import type { Store } from './store.js';
import { heldErrors, SMALL_BODY } from './write.js';

export class Uploads {
  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
    private readonly buckets: Buckets,
    private readonly minPartSize: number,
    private readonly spoolDir: string,
  ) {}

  private async doc(bucket: string, key: string, uploadId: string): Promise<UploadDoc> {
    await this.buckets.require(bucket);
    if (!/^[\w.~-]{1,200}$/.test(uploadId)) throw new S3Error('NoSuchUpload', { key });
    const text = await this.store.getText(this.layout.upload(bucket, uploadId));
    const doc = text === undefined ? undefined : (JSON.parse(text) as UploadDoc);
    // an id is only valid with the bucket and key it was created for
    if (!doc || doc.key !== key) throw new S3Error('NoSuchUpload', { key });
    return doc;
  }

  async create(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    await this.buckets.require(bucket);
    const sk = this.layout.object(bucket, key);
    const created = await this.store.call(
      () =>
        this.store.client.send(
          new CreateMultipartUploadCommand({ Bucket: this.store.bucket, Key: sk, Metadata: { osprey: encodeMeta(meta) } }),
        ),
      { bucket, key },
    );
    const uploadId = created.UploadId ?? '';
    const initiated = Date.now();
    try {
      await this.store.putText(this.layout.upload(bucket, uploadId), JSON.stringify({ key, initiated, meta } satisfies UploadDoc));
    } catch (err) {
      await this.store.abortUpload(sk, uploadId).catch(() => {});
      throw err;
    }
    return { uploadId, bucket, key, initiated: new Date(initiated), meta };
  }

  async get(bucket: string, key: string, uploadId: string): Promise<MultipartUpload> {
    const doc = await this.doc(bucket, key, uploadId);
    return { uploadId, bucket, key, initiated: new Date(doc.initiated), meta: doc.meta };
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: Omit<PutOptions, 'meta' | 'ifNoneMatch'>,
  ): Promise<PartInfo> {
    heldErrors(body);
    try {
      await this.doc(bucket, key, uploadId);
    } catch (err) {
      body.destroy();
      throw err;
    }
    const sk = this.layout.object(bucket, key);
    const checker = new BodyChecker(opts);
    let bodyError: unknown;
    const ac = new AbortController();
    const fail = (err: unknown) => {
      bodyError ??= err;
      ac.abort(err);
    };
    pipeline(body, checker).catch(fail);
    let spool: string | undefined;
    try {
      let data: Readable | Buffer = checker;
      let length = opts.size;
      if (length === undefined) {
        // the store needs each part's length first: an unknown one is spooled to a temp file
        spool = path.join(this.spoolDir, `osprey-part-${randomBytes(8).toString('hex')}`);
        await pipeline(checker, createWriteStream(spool, { mode: 0o600 }));
        length = checker.received;
        data = length <= SMALL_BODY ? await readFile(spool) : createReadStream(spool);
      }
      const r = await this.store.streamClient.send(
        new UploadPartCommand({
          Bucket: this.store.bucket,
          Key: sk,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: data,
          ContentLength: length,
        }),
        { abortSignal: ac.signal },
      );
      return { partNumber, etag: bareEtag(r.ETag) || (checker.digest ?? ''), size: length, lastModified: new Date() };
    } catch (err) {
      body.destroy();
      checker.destroy();
      if (bodyError !== undefined) throw bodyError;
      throw fromStore(err, { bucket, key });
    } finally {
      if (spool) await rm(spool, { force: true });
    }
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    await this.doc(bucket, key, uploadId);
    return this.store.parts(this.layout.object(bucket, key), uploadId, opts.partNumberMarker, Math.max(0, opts.maxParts));
  }

  async complete(bucket: string, key: string, uploadId: string, listed: ListedPart[]): Promise<ObjectInfo> {
    const doc = await this.doc(bucket, key, uploadId);
    const sk = this.layout.object(bucket, key);
    checkPartList(listed);
    const stored = new Map((await this.store.parts(sk, uploadId, 0, 10_000)).parts.map((p) => [p.partNumber, p]));
    const chosen = chooseParts(listed, stored, this.minPartSize);
    const unlisted = [...stored.keys()].find((n) => !listed.some((p) => p.partNumber === n));
    if (unlisted !== undefined) {
      // RGW completes only with every uploaded part, in order: refused clearly, not half-done
      throw new S3Error('InvalidPart', {
        message: `Part ${unlisted} was uploaded but is not listed; this storage completes an upload only with all of its uploaded parts.`,
        fields: { PartNumber: String(unlisted) },
      });
    }
    const etag = multipartEtag(chosen.map((p) => p.etag));
    const done = await this.store.call(
      () =>
        this.store.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.store.bucket,
            Key: sk,
            UploadId: uploadId,
            MultipartUpload: { Parts: chosen.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
          }),
        ),
      { bucket, key },
    );
    await this.store.deleteKey(this.layout.upload(bucket, uploadId)).catch(() => {});
    return {
      bucket,
      key,
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag: bareEtag(done.ETag) || etag,
      lastModified: new Date(),
      meta: doc.meta,
    };
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.doc(bucket, key, uploadId);
    await this.store.abortUpload(this.layout.object(bucket, key), uploadId);
    await this.store.deleteKey(this.layout.upload(bucket, uploadId));
  }
}
