/**
 * Issue #15, defect 7: an early error answer to a `Connection: close` upload must reach the client.
 * Osprey answers a 10 MiB XML body after its first MiB; closing the connection then, with the rest
 * of the body unread, makes the kernel send a reset, and a client still sending gets an error
 * instead of the answer. Like nginx's lingering close, Osprey half-closes after the answer and
 * reads the rest of the body (bounded in bytes and time) before closing.
 *
 * The client here is a raw socket that, like many simple HTTP clients, sends the whole body first
 * and reads the answer afterwards, at a pace that keeps it sending well after the answer went out.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY, SECRET_KEY, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned, xmlField } from '../helpers/raw.ts';

async function signedHead(
  server: TestServer,
  method: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
): Promise<string> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query,
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
  });
  const qs = Object.entries(query)
    .map(([k, v]) => (v === '' ? k : `${k}=${encodeURIComponent(v)}`))
    .join('&');
  const lines = Object.entries(signed.headers).map(([k, v]) => `${k}: ${String(v)}`);
  return `${method} ${path}${qs ? `?${qs}` : ''} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

interface Outcome {
  /** the write error the client got while sending, if any */
  writeError?: string;
  /** everything read after sending */
  answer: string;
  /** the connection ended with a FIN (true) or a reset/error (false) */
  cleanEnd: boolean;
}

/** Sends `head`, then `total` bytes of `fill` in `chunk`-byte writes every `everyMs`, then reads the answer. */
function sendThenRead(port: number, head: string, total: number, opts: { chunk: number; everyMs: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.pause(); // not read until the body is sent
    const got: Buffer[] = [];
    let writeError: string | undefined;
    let settled = false;
    const finish = (cleanEnd: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ ...(writeError !== undefined && { writeError }), answer: Buffer.concat(got).toString('utf8'), cleanEnd });
    };
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('end', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      writeError ??= err.code ?? err.message;
      finish(false);
    });
    socket.on('close', () => finish(false));
    socket.setTimeout(60_000, () => socket.destroy(new Error('client timeout')));
    const piece = Buffer.alloc(opts.chunk, '<');
    let sent = 0;
    socket.write(head);
    const next = () => {
      if (socket.destroyed) return;
      if (sent >= total) {
        socket.resume();
        return;
      }
      const n = Math.min(opts.chunk, total - sent);
      sent += n;
      socket.write(n === opts.chunk ? piece : piece.subarray(0, n), (err) => {
        if (err) return;
        setTimeout(next, opts.everyMs);
      });
    };
    next();
  });
}

describe('lingering close (issue #15, defect 7)', () => {
  let server: TestServer;
  before(async () => {
    server = await startOsprey();
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/linger' })).status, 200);
  });
  after(async () => {
    await server.close();
  });

  it('a 10 MiB bad XML body with Connection: close: the client sends it all and reads the 400', async () => {
    const total = 10 * 1024 * 1024;
    const head = await signedHead(server, 'PUT', '/linger', { website: '' }, { 'content-length': String(total), connection: 'close' });
    const out = await sendThenRead(server.port, head, total, { chunk: 64 * 1024, everyMs: 3 });
    assert.equal(out.writeError, undefined, `the client could send its whole body (got ${out.writeError})`);
    assert.match(out.answer, /^HTTP\/1\.1 400 /, out.answer.slice(0, 200));
    assert.match(xmlField(out.answer.slice(out.answer.indexOf('\r\n\r\n')), 'Code') ?? '', /^(MalformedXML|MaxMessageLengthExceeded)$/);
    assert.match(out.answer, /\r\nconnection: close\r\n/i);
    assert.ok(out.cleanEnd, 'the connection ends with a FIN, not a reset');
    // the server serves on
    assert.equal((await rawSigned(server.url, { method: 'GET', path: '/linger' })).status, 200);
  });

  it('the drain is bounded: a client that stops sending mid-body gets the answer, and the server closes after its linger timeout', async () => {
    const total = 10 * 1024 * 1024;
    const head = await signedHead(server, 'PUT', '/linger', { website: '' }, { 'content-length': String(total), connection: 'close' });
    const socket = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    const failed = new Promise<string>((resolve) => socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message)));
    socket.write(head);
    socket.write(Buffer.alloc(2 * 1024 * 1024, '<')); // 2 MiB of the 10, then silence
    await ended; // the answer and the server's FIN
    const answer = Buffer.concat(got).toString('utf8');
    assert.match(answer, /^HTTP\/1\.1 400 /, answer.slice(0, 200));
    // The server still reads (the client may yet send its rest) but not forever. Whether it has
    // closed shows only when the client sends again: a byte every LINGER_IDLE_MS + 1.5 s (each one
    // restarts the server's idle clock), until the closed socket answers with a reset. 30 s is the
    // total bound, whatever the client does.
    const t0 = Date.now();
    // (the first byte to a closed socket brings the reset back; the second one sees it)
    const probe = setInterval(() => {
      socket.write('<');
      setTimeout(() => socket.writable && socket.write('<'), 300);
    }, 6_500);
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 40_000).unref());
    const outcome = await Promise.race([failed, timeout]);
    clearInterval(probe);
    socket.destroy();
    assert.match(outcome, /^(EPIPE|ECONNRESET)$/, `the server closed the connection (${outcome} after ${Date.now() - t0} ms)`);
  });
});
