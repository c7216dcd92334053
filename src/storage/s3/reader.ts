/**
 * @module storage/s3/reader
 * GET and HEAD of objects straight over undici's dispatcher, signed by a signer made for exactly
 * these requests: the read path every client request takes, without the AWS SDK's per-request
 * middleware nor undici's `request()` stream machinery. Measured on the 2-core machine with a
 * 4 KiB object: the SDK's GetObject cost most of a small GET's CPU; then `request()` + its body
 * stream + the generic SigV4 signer still cost several times a plain proxy, most of it garbage
 * (≈ 48 KB allocated per GET, a scavenge every ~70 GETs).
 *
 * - Answers whose body is known to be small (≤ `collectUpTo`, and every non-2xx) are collected
 *   into one Buffer (`bytes`) without any stream. Larger bodies stream through a Readable fed
 *   from the socket with backpressure (the socket pauses while the Readable is full).
 * - Failures take the same shape as the SDK's ({ name, $metadata.httpStatusCode }) so that
 *   errors.ts maps both alike.
 * - `getBucket`: a GET on the store's bucket with a query string (the listing, list.ts), its
 *   answer collected whole.
 */
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { canonicalQuery, uriEncode } from '../../auth/encoding.js';
import { signingKey } from '../../auth/sigv4.js';
import { passed } from '../../young-gc.js';

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** a body of an error answer is kept up to this size (enough for S3's error XML) */
const ERROR_BODY_MAX = 64 * 1024;
/** how much of a streamed body may wait in memory before the socket is paused */
const STREAM_HIGH_WATER = 256 * 1024;
/** keys made only of these need no encoding in the path (the common case) */
const PLAIN_KEY = /^[A-Za-z0-9\-._~/]*$/;

export interface StoreResponse {
  status: number;
  /** response headers, names in lower case (the first value of a repeated one) */
  headers: Record<string, string | undefined>;
  /** the body; for a collected answer, a stream of `bytes` made on first use */
  readonly body: Readable;
  /** the whole body, when it was collected (small, HEAD, or not 2xx) */
  bytes?: Buffer;
}

/**
 * SigV4 for one store: a GET or HEAD without a body, signed headers host, [range,]
 * x-amz-content-sha256 and x-amz-date. The signing key is auth/sigv4.ts's (signingKey), taken
 * once per day; the date strings are made once per second. The canonical request is written out
 * for exactly these headers instead of going through signRequestV4: on the read path every client
 * GET takes, signRequestV4 costs 4 to 6 times as much CPU per request (40–60 against 7–16 µs,
 * measured on the shared 2-core machine). A unit test checks that both, and AWS's own signer,
 * sign alike.
 */
export class StoreSigner {
  private day = '';
  private key: Buffer = Buffer.alloc(0);
  private second = -1;
  private amzDate = '';
  private readonly credentialPrefix: string;

  constructor(
    private readonly host: string,
    private readonly creds: { accessKeyId: string; secretAccessKey: string },
    private readonly region: string,
  ) {
    this.credentialPrefix = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/`;
  }

  /**
   * the headers to send (host included) for `method path`, path already URI-encoded; `query`: the
   * canonical query string (canonicalQuery), sent as it is
   */
  sign(method: string, path: string, range: string | undefined, now = Date.now(), query = ''): Record<string, string> {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      // 2026-12-02T18:00:00.000Z -> 20261202T180000Z
      const iso = new Date(second * 1000).toISOString();
      this.amzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
      const day = this.amzDate.slice(0, 8);
      if (day !== this.day) {
        this.day = day;
        this.key = signingKey(this.creds.secretAccessKey, day, this.region, 's3');
      }
    }
    const amzDate = this.amzDate;
    const scope = `${this.day}/${this.region}/s3/aws4_request`;
    const signed = range === undefined ? 'host;x-amz-content-sha256;x-amz-date' : 'host;range;x-amz-content-sha256;x-amz-date';
    const canonical = `${method}\n${path}\n${query}\nhost:${this.host}\n${range === undefined ? '' : `range:${range}\n`}x-amz-content-sha256:${EMPTY_SHA256}\nx-amz-date:${amzDate}\n\n${signed}\n${EMPTY_SHA256}`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.key).update(toSign).digest('hex');
    const headers: Record<string, string> = {
      host: this.host,
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': amzDate,
      authorization: `${this.credentialPrefix}${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    };
    if (range !== undefined) headers.range = range;
    return headers;
  }
}

/** A collected answer's body as a stream, made only when someone asks for it. */
function collected(status: number, headers: Record<string, string | undefined>, bytes: Buffer): StoreResponse {
  let body: Readable | undefined;
  return {
    status,
    headers,
    bytes,
    get body(): Readable {
      body ??= Readable.from(bytes.length ? [bytes] : []);
      return body;
    },
  };
}

/**
 * One exchange, in undici's dispatch-handler terms (onConnect, onHeaders, onData, onComplete,
 * onError): settles with the answer as soon as it is known (at the headers when it streams, at the
 * end when it is collected).
 */
class Exchange implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | undefined;
  private status = 0;
  private headers: Record<string, string | undefined> = {};
  private chunks: Buffer[] | undefined;
  private size = 0;
  private stream: Readable | undefined;
  private resumeSocket: (() => void) | undefined;
  private settled = false;
  private done = false;

  constructor(
    private readonly method: string,
    private readonly collectUpTo: number,
    private readonly resolve: (r: StoreResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 1xx: the real answer follows
    this.status = status;
    const headers: Record<string, string | undefined> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
      headers[name] ??= (raw[i + 1] as Buffer).toString('latin1');
    }
    this.headers = headers;
    const length = Number(headers['content-length'] ?? NaN);
    const ok = status >= 200 && status < 300;
    if (this.method === 'HEAD' || !ok || (Number.isFinite(length) && length <= this.collectUpTo)) {
      this.chunks = [];
      return true;
    }
    this.resumeSocket = resume;
    this.stream = new Readable({
      highWaterMark: STREAM_HIGH_WATER,
      read: () => {
        const r = this.resumeSocket;
        if (r) r();
      },
      destroy: (err, cb) => {
        // a reader gone before the end: the store connection goes too (it cannot be reused mid-body)
        if (!this.done) this.abort?.(err ?? new Error('the store response was not read to its end'));
        cb(err);
      },
    });
    // failures reach whoever reads the stream; never an uncaught 'error'
    this.stream.on('error', () => {});
    this.settle(undefined, { status, headers, body: this.stream });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks) {
      // an error body is kept only up to its first ERROR_BODY_MAX bytes
      if (this.status < 300 || this.size < ERROR_BODY_MAX) this.chunks.push(chunk);
      this.size += chunk.length;
      return true;
    }
    if (!this.stream) return true;
    passed(chunk.length);
    return this.stream.push(chunk);
  }

  onComplete(): void {
    this.done = true;
    if (this.chunks) {
      const bytes = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      this.settle(undefined, collected(this.status, this.headers, bytes));
    } else this.stream?.push(null);
  }

  onError(err: Error): void {
    this.done = true;
    if (this.stream) this.stream.destroy(err);
    this.settle(err);
  }

  private settle(err: Error | undefined, res?: StoreResponse): void {
    if (this.settled) return;
    this.settled = true;
    if (err) this.reject(err);
    else if (res) this.resolve(res);
  }
}

export class StoreReader {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly bucketPath: string;
  /** the bucket itself (a listing's path): bucketPath without its last '/' */
  private readonly bucketRoot: string;
  private readonly signer: StoreSigner;

  constructor(endpoint: string, bucket: string, creds: { accessKeyId: string; secretAccessKey: string }, region: string) {
    const u = new URL(endpoint);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.bucketRoot = `${this.basePath}/${uriEncode(bucket, false)}`;
    this.bucketPath = `${this.bucketRoot}/`;
    this.signer = new StoreSigner(u.host, creds, region);
    this.agent = new Agent({
      connections: 512,
      keepAliveTimeout: 30_000,
      connect: { timeout: 3000, noDelay: true },
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  }

  /**
   * GET or HEAD of a store key; any status comes back (the caller decides), network failures
   * throw. A 2xx body of at most `collectUpTo` bytes (by its Content-Length) comes whole in
   * `bytes`, as does every HEAD and non-2xx answer; any other body streams.
   */
  send(method: 'GET' | 'HEAD', key: string, range?: { start: number; end: number }, collectUpTo = 0): Promise<StoreResponse> {
    const path = this.bucketPath + (PLAIN_KEY.test(key) ? key : uriEncode(key, true));
    const headers = this.signer.sign(method, path, range && `bytes=${range.start}-${range.end}`);
    return new Promise<StoreResponse>((resolve, reject) => {
      this.agent.dispatch({ origin: this.origin, path, method, headers }, new Exchange(method, collectUpTo, resolve, reject));
    });
  }

  /**
   * GET on the store's bucket with a query (a listing: list.ts); any status comes back with its body
   * whole in `bytes` (a listing answer is bounded: at most 1,000 entries), network failures throw.
   */
  async getBucket(params: Readonly<Record<string, string>>): Promise<StoreResponse & { bytes: Buffer }> {
    // sent as it is signed (auth/encoding's canonicalQuery), so the store signs what it receives alike
    const query = canonicalQuery(Object.entries(params));
    const headers = this.signer.sign('GET', this.bucketRoot, undefined, Date.now(), query);
    const res = await new Promise<StoreResponse>((resolve, reject) => {
      this.agent.dispatch(
        { origin: this.origin, path: `${this.bucketRoot}?${query}`, method: 'GET', headers },
        new Exchange('GET', Number.MAX_SAFE_INTEGER, resolve, reject),
      );
    });
    // collected (not spread: `body` is a getter that makes a stream)
    if (res.bytes) return res as StoreResponse & { bytes: Buffer };
    // no Content-Length (a chunked answer): it streamed, and is collected here
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return { status: res.status, headers: res.headers, body: res.body, bytes: Buffer.concat(chunks) };
  }

  /** an error for a non-2xx answer, shaped like the SDK's */
  static async failure(res: StoreResponse): Promise<Error & { name: string; $metadata: { httpStatusCode: number } }> {
    let text = '';
    if (res.bytes) text = res.bytes.toString('utf8', 0, Math.min(res.bytes.length, ERROR_BODY_MAX));
    else {
      try {
        for await (const c of res.body) {
          text += (c as Buffer).toString('utf8');
          if (text.length > ERROR_BODY_MAX) break;
        }
      } catch {
        // the body of an error is best effort
      }
      res.body.destroy();
    }
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? (res.status === 404 ? 'NotFound' : 'Unknown');
    return Object.assign(new Error(`the store answered ${res.status} ${code}`), { name: code, $metadata: { httpStatusCode: res.status } });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
