/**
 * src/http/body.ts requestBody: the body handed to storage keeps every byte even when the driver
 * starts reading it only later (after awaits of its own), and the access log's byte count stays
 * right. Regression: counting bytes with a 'data' listener put the request in flowing mode, so a
 * body with no verifier in between lost the bytes emitted before the driver's pipe (IncompleteBody).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import type { Ctx } from '../../src/http/context.ts';
import { requestBody } from '../../src/http/body.ts';

function fakeCtx(body: Buffer): Ctx {
  const req = new PassThrough() as unknown as IncomingMessage & PassThrough;
  Object.assign(req, { headers: { 'content-length': String(body.length) }, complete: false });
  req.end(body);
  return {
    req,
    res: {} as ServerResponse,
    reqId: 'test',
    started: 0n,
    dialect: 's3',
    bytesIn: 0,
    bytesOut: 0,
    auth: { principal: { kind: 'anonymous' }, dialect: 's3', payload: { kind: 'none' } },
  } as unknown as Ctx;
}

async function collect(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    body,
    new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}

describe('http/body requestBody', () => {
  for (const [name, wait] of [
    ['read at once', async () => {}],
    ['read after a tick', () => new Promise<void>((r) => process.nextTick(r))],
    ['read after a macrotask', () => new Promise<void>((r) => setImmediate(r))],
    ['read after 20 ms', () => new Promise<void>((r) => setTimeout(r, 20))],
  ] as const) {
    it(`an unverified body keeps every byte when ${name}`, async () => {
      const data = Buffer.alloc(4096, 'p');
      const ctx = fakeCtx(data);
      const b = requestBody(ctx);
      assert.equal(b.size, 4096);
      await wait();
      assert.ok((await collect(b.body)).equals(data));
      assert.equal(ctx.bytesIn, 4096);
    });
  }
});
