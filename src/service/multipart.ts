/**
 * @module service/multipart
 * Multipart uploads for every front end (the S3 and OSS handlers, the console API): create,
 * upload a part (part numbers 1..10000, 5 GiB a part), complete, abort, list parts and uploads.
 * Completing goes through ObjectService's write path, so a mirror fill of the key in progress
 * does not store over the upload (MIR-42) and If-None-Match: * is honoured. What both drivers
 * share about the part list and the ETag is storage/multipart.ts's.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';
import type { ListUploadsOptions, MultipartUpload, ObjectInfo, ObjectMeta, PartInfo, StorageDriver } from '../storage/driver.js';
import type { ListedPart } from '../storage/multipart.js';
import { collapseRepeats } from '../storage/multipart.js';
import type { ObjectService } from './objects.js';

/** S3's largest part */
export const MAX_PART_SIZE = 5 * 1024 ** 3;

/**
 * A part number as a request gives it: a whole number from 1 to 10000, else InvalidArgument.
 * Checked by the front ends before they read the body.
 */
export function parsePartNumber(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 10000) {
    throw new S3Error('InvalidArgument', {
      message: 'Part number must be an integer between 1 and 10000, inclusive.',
      fields: { ArgumentName: 'partNumber', ArgumentValue: raw },
    });
  }
  return Number(raw);
}

/**
 * Uploads this process completed lately (at most COMPLETED_KEPT): a repeated
 * CompleteMultipartUpload is answered from here. Per node and not kept over a restart.
 */
const COMPLETED_KEPT = 10_000;

export class MultipartService {
  private readonly completed = new Map<string, { bucket: string; key: string; etag: string }>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly objects: ObjectService,
  ) {}

  async create(bucket: string, key: string, meta: ObjectMeta): Promise<MultipartUpload> {
    return this.driver.createMultipartUpload(bucket, key, meta);
  }

  /** `partNumber` from parsePartNumber (1..10000); a part is at most 5 GiB. */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: { size?: number; contentMd5?: Buffer },
  ): Promise<PartInfo> {
    return this.driver.uploadPart(bucket, key, uploadId, partNumber, body, {
      ...(opts.size !== undefined && { size: opts.size }),
      ...(opts.contentMd5 && { contentMd5: opts.contentMd5 }),
      maxSize: MAX_PART_SIZE,
    });
  }

  /**
   * The upload becomes the object, through the write path. A part number listed twice in a row:
   * the later entry is the one meant. Completing again an upload this node completed answers with
   * the object it made (as S3 does while that object is still there), not NoSuchUpload.
   */
  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: ListedPart[],
    opts: { ifNoneMatch?: boolean } = {},
  ): Promise<ObjectInfo> {
    try {
      const info = await this.objects.completeUpload(bucket, key, uploadId, collapseRepeats(parts), opts);
      this.remember(uploadId, bucket, key, info.etag);
      return info;
    } catch (err) {
      const done = err instanceof S3Error && err.code === 'NoSuchUpload' ? this.completed.get(uploadId) : undefined;
      if (!done || done.bucket !== bucket || done.key !== key) throw err;
      const now = await this.objects.find(bucket, key);
      if (now?.etag !== done.etag) throw err;
      return now;
    }
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.driver.abortMultipartUpload(bucket, key, uploadId);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean }> {
    return this.driver.listParts(bucket, key, uploadId, opts);
  }

  async listUploads(bucket: string, opts: ListUploadsOptions): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }> {
    return this.driver.listMultipartUploads(bucket, opts);
  }

  private remember(uploadId: string, bucket: string, key: string, etag: string): void {
    this.completed.set(uploadId, { bucket, key, etag });
    if (this.completed.size > COMPLETED_KEPT) this.completed.delete(this.completed.keys().next().value as string);
  }
}
