/**
 * rawSigned(): a SigV4-signed request built by hand (AWS's own signer from @smithy/signature-v4)
 * and sent with node:http, for malformed input that real SDKs refuse to produce.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import http from 'node:http';
import { ACCESS_KEY, SECRET_KEY } from './osprey.ts';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawOptions {
  method?: string;
  /** raw path, already percent-encoded as it should go on the wire */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** sign with this secret instead of the right one */
  secret?: string;
  accessKeyId?: string;
  /** do not sign at all */
  anonymous?: boolean;
  signingDate?: Date;
}

export async function rawSigned(baseUrl: string, opts: RawOptions): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  let headers: Record<string, string> = { host: url.host, ...(opts.headers ?? {}) };
  if (!('content-length' in headers) && body.length > 0) headers['content-length'] = String(body.length);
  if (!opts.anonymous) {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: true,
      credentials: { accessKeyId: opts.accessKeyId ?? ACCESS_KEY, secretAccessKey: opts.secret ?? SECRET_KEY },
    });
    const signed = await signer.sign(
      {
        method: opts.method ?? 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: opts.path,
        query: opts.query ?? {},
        headers,
        body,
      },
      opts.signingDate ? { signingDate: opts.signingDate } : {},
    );
    headers = signed.headers as Record<string, string>;
  }
  const qs = Object.entries(opts.query ?? {})
    .map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: opts.method ?? 'GET', path: opts.path + (qs ? `?${qs}` : ''), headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function xmlField(xml: string, name: string): string | undefined {
  const raw = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  return raw
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Waits (up to 10 s) until a signed HEAD of `path` finds the object. A mirror fill commits just
 * after its client got the last byte; a fixed pause before checking the stored object was too short
 * on a loaded CI machine.
 */
export async function untilStored(baseUrl: string, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await rawSigned(baseUrl, { method: 'HEAD', path })).status !== 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
