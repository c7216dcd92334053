/**
 * @module origin/warm
 * The origin client ready at start-up (issue 19). A just-started process paid for undici's first
 * request inside the first user's mirror fill: its HTTP parser's WebAssembly compiled function by
 * function on first use, modules required lazily, every function of the request path run cold
 * (about 25 ms more time to first byte than a later fill). One request to a throwaway server on
 * 127.0.0.1, made and closed at start-up, runs that path once. Nothing reaches an origin, and a
 * failure only means the first fill is the slow one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { ask } from './walker.js';

/** bytes the throwaway server answers with: a few reads' worth, so the body path runs too */
const BODY = 128 * 1024;

export async function warmOriginClient(): Promise<void> {
  const body = Buffer.alloc(BODY);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream', etag: '"warm"' });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  // shaped as the fills' dispatcher is (origin/connect-guard: timeouts, one interceptor) and asked
  // through the origin walker's own request (ask) with an abort signal, so the same code paths run
  const agent = new Agent({ connections: 1, connect: { timeout: 10_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const dispatcher = agent.compose((dispatch) => (opts, handler) => dispatch(opts, handler));
  const ac = new AbortController();
  try {
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < 2; i++) {
      const res = await ask(dispatcher, `http://127.0.0.1:${port}/warm`, 'GET', {}, ac.signal);
      for await (const chunk of res.body) void chunk;
    }
  } finally {
    await agent.close();
    server.close();
  }
}
