/**
 * @module http/body
 * Request bodies: the verified byte stream (aws-chunked decoded, payload hash and checksums
 * checked while streaming), its declared length, Content-MD5, and the metadata carried in headers.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { bodyVerifier, decodedLength } from '../auth/verify.js';
import { S3Error } from '../errors.js';
import type { ObjectMeta } from '../storage/driver.js';
import type { Ctx } from './context.js';
import { passed } from '../young-gc.js';
import { header } from './context.js';
import { STORED_HEADER_NAMES } from './respond.js';
import {
  MIRROR_SOURCE_HEADER,
  mirrorTag,
  ORIGIN_ETAG_META,
  ORIGIN_LAST_MODIFIED_META,
  originValidators,
  parseMirrorSource,
} from '../mirror/meta.js';

export interface RequestBody {
  body: Readable;
  /** decoded length when the client declared one */
  size?: number;
  contentMd5?: Buffer;
  /** verified checksum headers to store, available once the body has ended */
  checksums(): Record<string, string>;
}

export function requestBody(ctx: Ctx): RequestBody {
  const { req } = ctx;
  const auth = ctx.auth;
  if (!auth) throw new Error('requestBody before auth');
  const size = decodedLength(req.headers);
  if (size === undefined && req.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  const md5 = header(ctx, 'content-md5');
  let contentMd5: Buffer | undefined;
  if (md5 !== undefined) {
    contentMd5 = Buffer.from(md5, 'base64');
    if (contentMd5.length !== 16 || contentMd5.toString('base64') !== md5.trim()) throw new S3Error('InvalidDigest');
  }
  // Counting must not start the flow: a 'data' listener would put the request in flowing mode,
  // and bytes emitted before the storage driver attached its pipe (it does after awaits of its
  // own) were lost to it; a body with no verifier in between (anonymous, UNSIGNED-PAYLOAD) was
  // then refused as IncompleteBody although it came whole (1-2 of ~1,000 PUTs in bench/ceph.ts).
  // Paused, the bytes wait for the consumer's pipe and reach both.
  req.pause();
  req.on('data', (chunk: Buffer) => {
    ctx.bytesIn += chunk.length;
    passed(chunk.length);
  });
  const verifier = bodyVerifier(auth, req.headers);
  let body: Readable = req;
  const [first, ...rest] = verifier.transforms;
  if (first) {
    // The request feeds the first verifier by hand: stream.pipeline() with an http.IncomingMessage
    // as its source trips over Node 20's end-of-stream cleanup for requests. Errors are forwarded
    // both ways, and a client that goes away mid-body fails the chain with IncompleteBody.
    req.on('error', (err) => first.destroy(err));
    req.on('close', () => {
      if (!req.complete) first.destroy(new S3Error('IncompleteBody'));
    });
    // a verifier that fails mid-body (a chunk signature, a size cap) stops taking the request's
    // bytes, but the request is not destroyed: that would close the socket before the error
    // answer went out (the client saw a reset, not SignatureDoesNotMatch); the server's error path
    // reads and discards the rest of the body within its bounds (server.ts drainBody)
    first.on('error', () => req.unpipe(first));
    req.pipe(first);
    // pipeline() returns the last stream and propagates any error (a checksum mismatch) to it, so
    // the storage driver consuming it sees the failure and stores nothing.
    body = rest.length > 0 ? (pipeline([first, ...rest], () => {}) as unknown as Readable) : first;
  }
  return { body, ...(size !== undefined && { size }), ...(contentMd5 && { contentMd5 }), checksums: verifier.checksums };
}

const MAX_USER_META = 2048;

/**
 * Stored headers and user metadata from a PUT/POST/COPY(REPLACE) request. An owner's
 * `x-osprey-mirror-source: <origin URL>` (what `osprey import` sends) stores the `x-oss-tag` a
 * mirror fill of that URL would, in the server's `mirrorTag` form; anyone else gets AccessDenied.
 */
export function metaFromHeaders(ctx: Ctx, mirrorTagForm: 'url' | 'bare' = 'url'): ObjectMeta {
  const meta: ObjectMeta = { headers: {}, userMeta: {}, system: {} };
  const source = header(ctx, MIRROR_SOURCE_HEADER);
  if (source !== undefined) {
    if (ctx.auth?.principal.kind !== 'owner')
      throw new S3Error('AccessDenied', { message: `Only the bucket owner may send ${MIRROR_SOURCE_HEADER}.` });
    const parsed = parseMirrorSource(source);
    if ('problem' in parsed) throw new S3Error('InvalidArgument', { message: `${parsed.problem}.` });
    meta.system['x-oss-tag'] = mirrorTag(parsed.url, mirrorTagForm);
    // the origin's validators of the copy (osprey import): kept as a fill keeps them
    Object.assign(
      meta.system,
      originValidators({ etag: header(ctx, ORIGIN_ETAG_META), 'last-modified': header(ctx, ORIGIN_LAST_MODIFIED_META) }),
    );
  }
  let metaBytes = 0;
  for (const [rawName, rawValue] of Object.entries(ctx.req.headers)) {
    const name = rawName.toLowerCase();
    const value = Array.isArray(rawValue) ? rawValue.join(',') : rawValue;
    if (value === undefined) continue;
    if (STORED_HEADER_NAMES.includes(name)) {
      if (name === 'content-encoding') {
        // aws-chunked is transport framing, not a property of the object.
        const codings = value.split(',').map((s) => s.trim());
        const rest = codings.filter((s) => s && s.toLowerCase() !== 'aws-chunked');
        // stored as sent when nothing was taken out ('deflate, gzip' keeps its space)
        if (rest.length > 0) meta.headers[name] = rest.length === codings.length ? value : rest.join(', ');
      } else {
        meta.headers[name] = value;
      }
    } else if (name.startsWith('x-amz-meta-') || name.startsWith('x-oss-meta-')) {
      const key = name.slice(11);
      meta.userMeta[key] = value;
      metaBytes += key.length + Buffer.byteLength(value);
    }
  }
  if (metaBytes > MAX_USER_META) {
    throw new S3Error('InvalidArgument', {
      message: `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_META} bytes.`,
    });
  }
  return meta;
}
