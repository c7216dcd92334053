/**
 * @module http/server
 * node:http listener and the one request pipeline (STYLE §2.5):
 * route -> verify signature -> resolve bucket ACL -> check scope -> dispatch -> access log.
 * Errors end here: S3Error goes to the client in its dialect; anything else is logged with the
 * request id and answered as InternalError.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyRequest } from '../auth/verify.js';
import { S3Error, toS3Error } from '../errors.js';
import { responseHeadersOf } from '../service/cors.js';
import type { Ctx } from './context.js';
import { header } from './context.js';
import type { Deps } from './deps.js';
import { handleAdmin, isOpenAdminPath } from './handlers/admin.js';
import * as acl from './handlers/acl.js';
import * as bucket from './handlers/bucket.js';
import * as cors from './handlers/cors.js';
import * as list from './handlers/list.js';
import * as multipart from './handlers/multipart.js';
import * as objectRead from './handlers/object-read.js';
import * as objectWrite from './handlers/object-write.js';
import * as tagging from './handlers/tagging.js';
import * as website from './handlers/website-config.js';
import { sendError } from './respond.js';
import type { Op } from './route.js';
import { refineOp, route } from './route.js';

type Handler = (ctx: Ctx, deps: Deps) => Promise<void>;

export const HANDLERS: Record<Op, Handler> = {
  ListBuckets: bucket.listBuckets,
  CreateBucket: bucket.createBucket,
  HeadBucket: bucket.headBucket,
  DeleteBucket: bucket.deleteBucket,
  GetBucketLocation: bucket.getBucketLocation,
  GetBucketAcl: bucket.getBucketAcl,
  PutBucketAcl: bucket.putBucketAcl,
  ListObjects: list.listObjects,
  ListObjectsV2: list.listObjectsV2,
  ListMultipartUploads: multipart.listMultipartUploads,
  DeleteObjects: bucket.deleteObjects,
  GetBucketWebsite: website.getBucketWebsite,
  PutBucketWebsite: website.putBucketWebsite,
  DeleteBucketWebsite: website.deleteBucketWebsite,
  GetBucketCors: cors.getBucketCors,
  PutBucketCors: cors.putBucketCors,
  DeleteBucketCors: cors.deleteBucketCors,
  OptionsObject: cors.optionsObject,
  GetObject: objectRead.getObject,
  HeadObject: objectRead.headObject,
  PutObject: objectWrite.putObject,
  CopyObject: objectWrite.copyObject,
  DeleteObject: objectWrite.deleteObject,
  GetObjectTagging: tagging.getObjectTagging,
  PutObjectTagging: tagging.putObjectTagging,
  DeleteObjectTagging: tagging.deleteObjectTagging,
  CreateMultipartUpload: multipart.createMultipartUpload,
  UploadPart: multipart.uploadPart,
  CompleteMultipartUpload: multipart.completeMultipartUpload,
  AbortMultipartUpload: multipart.abortMultipartUpload,
  ListParts: multipart.listParts,
  Admin: handleAdmin,
  GetObjectAcl: acl.getObjectAcl,
  PutObjectAcl: acl.putObjectAcl,
  NotImplemented: notImplemented,
};

/** A sub-resource Osprey does not implement (route.ts SUBRESOURCES): 501, nothing read or changed. */
async function notImplemented(ctx: Ctx): Promise<void> {
  const sub = ctx.endpoint?.subresource ?? '';
  throw new S3Error('NotImplemented', { message: `${ctx.req.method ?? 'GET'} ?${sub} is not implemented by Osprey.` });
}

// Request ids: a random per-process prefix and a counter (unique, and cheap on the hot path).
const ID_PREFIX = randomBytes(6).toString('hex').toUpperCase();
let idCounter = 0;
function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x1000000000;
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(9, '0');
}

async function authorize(ctx: Ctx, deps: Deps): Promise<void> {
  const ep = ctx.endpoint;
  const auth = ctx.auth;
  if (!ep || !auth) throw new Error('authorize before route/auth');
  if (auth.principal.kind === 'owner') return;
  // Anonymous: what the bucket's canned ACL opens (public-read: read; public-read-write: read + write),
  // and the reading of an object whose own ACL grants AllUsers READ. That grant, and the refusal
  // of an object whose own ACL does not grant it, are checked by the read service on the object it
  // opens to answer (service/read.ts): one store request, not a lookup here and another to serve.
  if (ep.bucket !== undefined) {
    const info = ctx.bucketView ? ctx.bucketView.info : await deps.buckets.get(ep.bucket);
    // S3 and RGW tell anyone that a bucket does not exist
    if (!info) throw new S3Error('NoSuchBucket', { bucket: ep.bucket });
    if (ep.scope === 'read' && (info.acl === 'public-read' || info.acl === 'public-read-write')) return;
    if (ep.scope === 'write' && info.acl === 'public-read-write') return;
    if ((ep.op === 'GetObject' || ep.op === 'HeadObject') && ep.key !== undefined) return;
  }
  throw new S3Error('AccessDenied');
}

/** requests that asked `Expect: 100-continue` (server 'checkContinue') */
const expectsContinue = new WeakSet<http.IncomingMessage>();

/**
 * Before `100 Continue`: what can refuse a request without its body. The bucket must exist for
 * a write into it, and a declared size must be within the object size cap.
 */
async function checkBeforeBody(ctx: Ctx, deps: Deps): Promise<void> {
  const ep = ctx.endpoint;
  if (!ep || ep.bucket === undefined || ep.op === 'CreateBucket') return;
  await deps.buckets.require(ep.bucket);
  const declared = Number(header(ctx, 'x-amz-decoded-content-length') ?? header(ctx, 'content-length') ?? 0);
  if ((ep.op === 'PutObject' || ep.op === 'UploadPart') && declared > deps.config.maxObjectSize) {
    throw new S3Error('EntityTooLarge', { fields: { ProposedSize: String(declared), MaxSizeAllowed: String(deps.config.maxObjectSize) } });
  }
}

function hasOssHeader(headers: http.IncomingHttpHeaders): boolean {
  for (const name in headers) if (name.startsWith('x-oss-')) return true;
  return false;
}

export async function handle(ctx: Ctx, deps: Deps): Promise<void> {
  try {
    const { req } = ctx;
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (hasOssHeader(req.headers) || (header(ctx, 'authorization') ?? '').startsWith('OSS') || url.includes('OSSAccessKeyId=')) {
      ctx.dialect = 'oss';
    }
    ctx.endpoint = route(method, url, header(ctx, 'host'), deps.config);
    ctx.endpoint = refineOp(ctx.endpoint, req.headers);
    if (ctx.endpoint.op === 'Admin' && isOpenAdminPath(ctx.endpoint.adminPath ?? '')) {
      if (expectsContinue.has(req)) ctx.res.writeContinue();
      await handleAdmin(ctx, deps);
      return;
    }
    if (ctx.endpoint.op === 'OptionsObject') {
      // a CORS preflight carries no credentials (the Fetch standard's CORS-preflight request)
      await cors.optionsObject(ctx, deps);
      return;
    }
    // the bucket's CORS headers go on every answer from here on, errors included (respond.ts);
    // looked up for cross-origin requests and for every GET/HEAD (Vary, see service/cors)
    const origin = header(ctx, 'origin');
    const bucketName = ctx.endpoint.bucket;
    if (bucketName !== undefined && (origin !== undefined || method === 'GET' || method === 'HEAD')) {
      const corsMethod = header(ctx, 'access-control-request-method') ?? method;
      let headers: Record<string, string> | undefined;
      if (ctx.endpoint.op === 'GetObject' || ctx.endpoint.op === 'HeadObject') {
        // the bucket, its website and its CORS configurations, read together once: for these
        // headers, the ACL check (authorize) and the read itself (service/read)
        ctx.bucketView = await deps.reads.view(bucketName);
        headers = responseHeadersOf(ctx.bucketView.cors, origin, corsMethod);
      } else headers = await deps.cors.responseHeaders(bucketName, origin, corsMethod);
      if (headers !== undefined) ctx.cors = headers;
    }
    ctx.auth = verifyRequest(
      {
        method,
        url,
        headers: req.headers,
        now: new Date(),
        ...(ctx.endpoint.bucket !== undefined && { bucket: ctx.endpoint.bucket }),
        ...(ctx.endpoint.key !== undefined && { key: ctx.endpoint.key }),
      },
      deps.keys,
    );
    ctx.dialect = ctx.auth.dialect;
    await authorize(ctx, deps);
    if (expectsContinue.has(req)) {
      await checkBeforeBody(ctx, deps);
      ctx.res.writeContinue();
    }
    await HANDLERS[ctx.endpoint.op](ctx, deps);
  } catch (err) {
    const e = toS3Error(err);
    if (e.code === 'InternalError') deps.log.error({ reqId: ctx.reqId, err }, 'internal error');
    sendError(ctx, e);
    drainBody(ctx);
  }
}

/**
 * Bounds on what a client may still send after an early answer (nginx's lingering close:
 * lingering_time, lingering_timeout): at most LINGER_BYTES more, for at most LINGER_MS in all and
 * LINGER_IDLE_MS between two reads; past any of them the connection is closed.
 */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 30_000;
const LINGER_IDLE_MS = 5_000;

/**
 * After an early error the client may still be sending its body: read and discard it so that the
 * client gets to read our answer, within the LINGER_* bounds.
 *
 * On a connection that is not kept alive (`Connection: close`) Node closes the socket as soon as
 * the answer is written (socket.destroySoon()); with the body's rest unread in the kernel's buffer
 * that close sends a reset, and a client still sending gets EPIPE/ECONNRESET instead of the answer
 * (issue #15, defect 7). So this socket half-closes instead: the answer and a FIN go out, the rest
 * of the body is read, and the socket closes when the body has ended or a bound is reached.
 */
function drainBody(ctx: Ctx): void {
  const { req } = ctx;
  if (req.complete || req.destroyed) return;
  const socket = req.socket;
  let closing = false;
  let drained = 0;
  const done = () => {
    clearTimeout(total);
    clearTimeout(idle);
    Reflect.deleteProperty(socket, 'destroySoon'); // Node's own again, for the connection's later requests
    // a kept-alive connection outlives this request: its listener goes with it (one per drained
    // request piled up into Node's MaxListenersExceededWarning)
    socket.off('close', done);
  };
  const stop = () => {
    done();
    socket.destroy();
  };
  const total = setTimeout(stop, LINGER_MS);
  const idle = setTimeout(stop, LINGER_IDLE_MS);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) stop();
    else idle.refresh();
  });
  req.on('end', () => {
    done();
    // Node's destroySoon: the FIN is out already; the socket closes once every byte is written
    if (closing) socket.destroySoon();
  });
  socket.once('close', done);
  socket.destroySoon = () => {
    closing = true;
    socket.end();
  };
  req.on('error', () => {});
  req.resume();
}

export interface RunningServer {
  server: http.Server;
  address: AddressInfo;
  /** Stop accepting; wait for requests in flight until `deadline` (epoch ms), then close every connection. */
  close(deadline?: number): Promise<void>;
}

export async function listen(deps: Deps): Promise<RunningServer> {
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const ctx: Ctx = { req, res, reqId: newRequestId(), started: process.hrtime.bigint(), dialect: 's3', bytesIn: 0, bytesOut: 0 };
    res.on('close', () => {
      const ms = Number(process.hrtime.bigint() - ctx.started) / 1e6;
      deps.metrics.request(ctx.endpoint?.op ?? 'Unknown', res.statusCode, ms / 1000, ctx.bytesIn, ctx.bytesOut);
      // the access line is built only when it will be written
      if (deps.log.isLevelEnabled('info'))
        deps.log.info(
          {
            reqId: ctx.reqId,
            op: ctx.endpoint?.op,
            bucket: ctx.endpoint?.bucket,
            method: req.method,
            status: res.statusCode,
            bytesIn: ctx.bytesIn,
            bytesOut: ctx.bytesOut,
            ms: Math.round(ms * 10) / 10,
            complete: res.writableFinished,
          },
          'request',
        );
    });
    void handle(ctx, deps);
  };
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 }, onRequest);
  // Expect: 100-continue: the request is routed, authenticated and checked first (handle()); only
  // one that will be carried out gets `100 Continue`, a refused one its error without the body.
  server.on('checkContinue', (req, res) => {
    expectsContinue.add(req);
    onRequest(req, res);
  });
  // Any other Expect value (empty, '200', …): S3 and RGW ignore it; Node's default is 417.
  server.on('checkExpectation', onRequest);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const { config } = deps;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: (deadline = Date.now() + 30_000) =>
      new Promise<void>((resolve) => {
        // connections that finish their request while we wait are closed as soon as they go idle
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const hard = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
        server.close(() => {
          clearInterval(idle);
          clearTimeout(hard);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
