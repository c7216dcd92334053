/**
 * Uploads: one PUT for files up to PART_SIZE, multipart above it (create, PART_SIZE parts, three at
 * a time, complete; abort on failure), all streamed by the server into the object service.
 */
import { api, enc, qs, sendWithProgress } from './api';
import type { ObjectSummary } from './types';

export const PART_SIZE = 8 * 1024 * 1024;
const PARALLEL = 3;

export async function uploadFile(
  bucket: string,
  key: string,
  file: File,
  onProgress: (sent: number) => void,
  signal?: AbortSignal,
): Promise<ObjectSummary> {
  const type = file.type || 'application/octet-stream';
  const base = `buckets/${enc(bucket)}`;
  if (file.size <= PART_SIZE) {
    return sendWithProgress<ObjectSummary>('PUT', `${base}/object${qs({ key })}`, file, { 'Content-Type': type }, onProgress, signal);
  }
  const { uploadId } = await api<{ uploadId: string }>('POST', `${base}/uploads${qs({ key })}`, undefined, { 'Content-Type': type });
  const count = Math.ceil(file.size / PART_SIZE);
  const sent = new Array<number>(count).fill(0);
  const etags = new Array<string>(count);
  const report = () => onProgress(sent.reduce((a, b) => a + b, 0));
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const blob = file.slice(i * PART_SIZE, Math.min(file.size, (i + 1) * PART_SIZE));
      const part = await sendWithProgress<{ etag: string }>(
        'PUT',
        `${base}/uploads/${enc(uploadId)}${qs({ key, part: i + 1 })}`,
        blob,
        { 'Content-Type': 'application/octet-stream' },
        (n) => {
          sent[i] = n;
          report();
        },
        signal,
      );
      sent[i] = blob.size;
      etags[i] = part.etag;
      report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
    return await api<ObjectSummary>('POST', `${base}/uploads/${enc(uploadId)}${qs({ key })}`, {
      parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    });
  } catch (err) {
    await api('DELETE', `${base}/uploads/${enc(uploadId)}${qs({ key })}`).catch(() => undefined);
    throw err;
  }
}
