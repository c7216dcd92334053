/**
 * @module storage/s3/reader
 * GET and HEAD of objects straight over undici, signed with Osprey's own SigV4 signer: the read
 * path every client request takes, without the AWS SDK's per-request middleware (measured: the
 * SDK's GetObject cost most of a small GET's CPU on a 2-core node). Bodies stream as they arrive.
 * Failures take the same shape as the SDK's ({ name, $metadata.httpStatusCode }) so that
 * errors.ts maps both alike.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { uriEncode } from '../../auth/encoding.js';
import { signRequestV4 } from '../../auth/sigv4.js';

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export interface StoreResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Readable;
}

export class StoreReader {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly host: string;
  private readonly basePath: string;

  constructor(
    endpoint: string,
    private readonly bucket: string,
    private readonly creds: { accessKeyId: string; secretAccessKey: string },
    private readonly region: string,
  ) {
    const u = new URL(endpoint);
    this.origin = u.origin;
    this.host = u.host;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.agent = new Agent({ connections: 512, keepAliveTimeout: 30_000, connect: { timeout: 3000, noDelay: true }, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  /** GET or HEAD of a store key; any status comes back (the caller decides), network failures throw */
  async send(method: 'GET' | 'HEAD', key: string, range?: { start: number; end: number }): Promise<StoreResponse> {
    const path = `${this.basePath}/${uriEncode(this.bucket, false)}/${uriEncode(key, true)}`;
    const headers: Record<string, string> = { host: this.host };
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const signed = signRequestV4({ method, url: path, headers }, this.creds, EMPTY_SHA256, new Date(), this.region);
    const res = await request(this.origin + path, { method, headers: signed, dispatcher: this.agent });
    const out: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v[0] : v;
    // undici's body emits 'error' when destroyed early (a client gone, a 404 dropped): never uncaught
    res.body.on('error', () => {});
    return { status: res.statusCode, headers: out, body: res.body };
  }

  /** an error for a non-2xx answer, shaped like the SDK's */
  static async failure(res: StoreResponse): Promise<Error & { name: string; $metadata: { httpStatusCode: number } }> {
    let text = '';
    try {
      for await (const c of res.body) {
        text += (c as Buffer).toString('utf8');
        if (text.length > 64 * 1024) break;
      }
    } catch {
      // the body of an error is best effort
    }
    res.body.destroy();
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? (res.status === 404 ? 'NotFound' : 'Unknown');
    return Object.assign(new Error(`the store answered ${res.status} ${code}`), { name: code, $metadata: { httpStatusCode: res.status } });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
