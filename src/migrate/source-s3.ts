/**
 * @module migrate/source-s3
 * A bucket on any S3-compatible store (`--from-s3 s3://bucket/prefix`), listed with ListObjectsV2
 * and read with GetObject. Key mapping as a Mirror rule whose MirrorURL is the source's
 * `…/bucket/prefix` would have it: the Osprey key is the source key without the prefix. What is
 * stored is what a mirror fill from that URL keeps: the MIR-26 headers, user metadata only with
 * `--save-meta` (MirrorSaveOssMeta), and `x-oss-tag: MIRROR <source object URL>`.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';
import { encodeKeyPath } from '../codec/uri.js';
import { validateObjectKey } from '../service/names.js';
import { backoffMs, describe, FatalError, isCredentialError, isTransient, s3Code, SourceError } from './errors.js';
import type { Fetched, Source, SourceFacts, SourceItem } from './source.js';
import { md5OfEtag } from './source.js';

export interface S3SourceOptions {
  client: S3Client;
  bucket: string;
  prefix: string;
  /** the base the origin marker's URL is built on: `<endpoint>/<bucket>/` (path style) */
  urlBase: string;
  saveMeta: boolean;
  retries: number;
}

/** `s3://bucket/prefix` -> { bucket, prefix }. */
export function parseS3Url(raw: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(raw);
  if (!m?.[1]) throw new FatalError(`invalid setting 'from-s3': '${raw}' is not s3://bucket[/prefix]`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}

export class S3Source implements Source {
  readonly description: string;

  constructor(private readonly o: S3SourceOptions) {
    this.description = `s3://${o.bucket}/${o.prefix} at ${o.urlBase.replace(/\/[^/]*\/$/, '')}`;
  }

  async preflight(signal: AbortSignal): Promise<void> {
    try {
      await this.o.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: this.o.prefix, MaxKeys: 1 }), {
        abortSignal: signal,
      });
    } catch (err) {
      throw new FatalError(`the source s3://${this.o.bucket} cannot be listed: ${sourceProblem(err)}`);
    }
  }

  async *items(): AsyncIterable<SourceItem> {
    let token: string | undefined;
    do {
      const page = await this.listPage(token);
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        const key = o.Key.slice(this.o.prefix.length);
        // the prefix itself (a "folder" marker): a mirror can never be asked for an empty key
        if (key === '') continue;
        let invalid: string | undefined;
        try {
          validateObjectKey(key);
        } catch (err) {
          invalid = `the key cannot be stored in Osprey: ${err instanceof S3Error ? err.message : String(err)}`;
        }
        const etag = o.ETag?.replace(/^"|"$/g, '');
        // as an HTTP date (whole seconds), the form a GET's Last-Modified has
        const lastModified = o.LastModified?.toUTCString();
        yield {
          key,
          sourceKey: o.Key,
          ...(o.Size !== undefined && { size: o.Size }),
          ...(etag && { etag }),
          ...(lastModified && { lastModified }),
          ...(invalid && { invalid }),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** One listing page, retried with backoff on transient errors. */
  private async listPage(token: string | undefined) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.client.send(
          new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: this.o.prefix, ...(token && { ContinuationToken: token }) }),
        );
      } catch (err) {
        if (attempt > this.o.retries || !isTransient(err))
          throw new FatalError(`listing the source s3://${this.o.bucket}/${this.o.prefix} failed: ${describe(err)}`);
        await new Promise((r) => setTimeout(r, backoffMs(attempt)));
      }
    }
  }

  async fetch(item: SourceItem, signal?: AbortSignal): Promise<Fetched> {
    let out;
    try {
      out = await this.o.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: item.sourceKey }), { abortSignal: signal });
    } catch (err) {
      throw sourceError(err);
    }
    const headers: Record<string, string> = {};
    const put = (name: string, v: string | undefined) => {
      if (v !== undefined && v !== '') headers[name] = v;
    };
    put('content-type', out.ContentType);
    put('content-encoding', out.ContentEncoding);
    put('content-disposition', out.ContentDisposition);
    put('cache-control', out.CacheControl);
    put('expires', out.ExpiresString ?? out.Expires?.toUTCString());
    put('content-language', out.ContentLanguage);
    const md5 = md5OfEtag(out.ETag);
    return {
      body: out.Body as Readable,
      ...(out.ContentLength !== undefined && { size: out.ContentLength }),
      ...(md5 && { md5 }),
      headers,
      userMeta: this.o.saveMeta ? { ...(out.Metadata ?? {}) } : {},
      originUrl: this.o.urlBase + encodeKeyPath(item.sourceKey),
      ...(out.ETag && { etag: out.ETag }),
      ...(out.LastModified && { lastModified: out.LastModified.toUTCString() }),
    };
  }

  async facts(item: SourceItem, signal?: AbortSignal): Promise<SourceFacts> {
    if (item.size !== undefined)
      return {
        size: item.size,
        ...(md5OfEtag(item.etag) && { md5: md5OfEtag(item.etag) }),
        ...(item.etag && { etag: item.etag }),
        ...(item.lastModified && { lastModified: item.lastModified }),
      };
    try {
      const h = await this.o.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: item.sourceKey }), { abortSignal: signal });
      const etag = h.ETag?.replace(/^"|"$/g, '');
      const md5 = md5OfEtag(etag);
      return {
        ...(h.ContentLength !== undefined && { size: h.ContentLength }),
        ...(md5 && { md5 }),
        ...(etag && { etag }),
        ...(h.LastModified && { lastModified: h.LastModified.toUTCString() }),
      };
    } catch (err) {
      throw sourceError(err);
    }
  }

  async close(): Promise<void> {
    this.o.client.destroy();
  }
}

function sourceError(err: unknown): Error {
  const c = s3Code(err);
  if (c?.code === 'NoSuchKey' || c?.code === 'NotFound' || c?.status === 404)
    return new SourceError('the source has no such key (404)', false, true);
  if (isCredentialError(err)) return new FatalError(`the source refused the credentials: ${describe(err)}`);
  return err instanceof Error ? err : new Error(String(err));
}

function sourceProblem(err: unknown): string {
  const c = s3Code(err);
  if (c?.code === 'NoSuchBucket') return 'the bucket does not exist';
  if (isCredentialError(err)) return `the credentials were refused (${describe(err)})`;
  if (c?.code === 'AccessDenied' || c?.status === 403) return `access denied (${describe(err)})`;
  return describe(err);
}
