/**
 * @module mirror/hasher
 * MD5 of large mirror bodies on a worker thread. Hashing was the biggest single cost of a large
 * fill on the event loop (measured: ~2.3 s of main-thread CPU per GiB on the 2-core bench
 * machine, about half of the fill's main-thread time); on a thread of its own it runs on the
 * other core while the event loop moves bytes. Chunks are gathered into 1 MiB batches, each
 * copied once into a pooled buffer that is handed over and back (transferred, never cloned, no
 * garbage). At most MAX_IN_FLIGHT bytes wait for the worker; beyond that `update` returns a
 * promise to wait on (backpressure). One worker serves every fill of the process, started when
 * first needed or ahead of it (`prestartHashing`, at the engine's start); it keeps the process
 * alive only while a hash is open.
 */
import { Worker } from 'node:worker_threads';

/** bytes per message to the thread: 1 MiB (4,096 messages and acknowledgements per GiB at 256 KiB, 1,024 now) */
const BATCH = 1024 * 1024;
/** batch buffers are this big (a batch is BATCH plus at most one chunk); bigger ones are not reused */
const BUFFER_SIZE = BATCH + 256 * 1024;
/** bytes a fill may have waiting for the thread before `update` asks it to wait */
const MAX_IN_FLIGHT = 2 * 1024 * 1024;
/** batch buffers kept for reuse, for all fills together (one fill has at most ~3 out at once) */
const POOL_MAX = 4;

/** The worker: one MD5 per job id; acknowledges every batch so the sender can bound what it queues. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = jobs.get(m.id);
    if (!h) jobs.set(m.id, (h = createHash('md5')));
    h.update(new Uint8Array(m.buf, 0, m.len));
    // the buffer goes back to be filled again: no allocation (and no garbage) per batch
    parentPort.postMessage({ id: m.id, acked: m.len, buf: m.buf }, [m.buf]);
  } else if (m.op === 'digest') {
    const h = jobs.get(m.id) ?? createHash('md5');
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  } else if (m.op === 'drop') {
    jobs.delete(m.id);
  }
});
`;

interface Job {
  onAck(n: number): void;
  onDigest(hex: string): void;
  onError(err: Error): void;
}

class HashWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  /** batch buffers back from the worker, to fill again */
  private readonly pool: Buffer[] = [];

  /** A buffer for a batch of `n` bytes (pooled when it fits). */
  buffer(n: number): Buffer {
    if (n > BUFFER_SIZE) return Buffer.allocUnsafeSlow(n);
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(BUFFER_SIZE);
  }

  private get thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } });
    w.on('message', (m: { id: number; acked?: number; buf?: ArrayBuffer; digest?: string }) => {
      if (m.buf && m.buf.byteLength === BUFFER_SIZE && this.pool.length < POOL_MAX) this.pool.push(Buffer.from(m.buf));
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.acked !== undefined) job.onAck(m.acked);
      if (m.digest !== undefined) job.onDigest(m.digest);
    });
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const jobs = [...this.jobs.values()];
      this.jobs.clear();
      for (const job of jobs) job.onError(err);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
    // after the listeners: adding a 'message' listener refs the worker again, and a thread started
    // ahead of any fill (prestart) would then keep the process from ever exiting
    w.unref();
    this.worker = w;
    return w;
  }

  /**
   * Start the thread now (unreferenced: it does not keep the process alive), so that the first
   * large fill after a start does not wait for it to boot (time to first byte, issue 19).
   */
  prestart(): void {
    void this.thread;
  }

  /** A new hash; the thread keeps the process alive only while some hash is open. */
  open(job: Job): number {
    const id = this.nextId++;
    this.jobs.set(id, job);
    if (this.jobs.size === 1) this.thread.ref();
    return id;
  }

  /** `batch` (from buffer(): it owns its whole ArrayBuffer) is transferred, not copied; its first `len` bytes count */
  update(id: number, batch: Buffer, len: number): void {
    const ab = batch.buffer as ArrayBuffer;
    this.thread.postMessage({ op: 'update', id, buf: ab, len }, [ab]);
  }

  digest(id: number): void {
    this.thread.postMessage({ op: 'digest', id });
  }

  close(id: number, digested: boolean): void {
    if (!this.jobs.delete(id)) return;
    if (!digested) this.worker?.postMessage({ op: 'drop', id });
    if (this.jobs.size === 0) this.worker?.unref();
  }
}

const shared = new HashWorker();

/** Start the hashing thread ahead of the first large fill (the mirror engine does, at start-up). */
export function prestartHashing(): void {
  shared.prestart();
}

/** An MD5 computed on the hashing thread; `update` in order, then `digest` once (or `drop`). */
export class Md5OffThread {
  private readonly id: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private result: { resolve(d: Buffer): void; reject(e: Error): void } | undefined;
  private closed = false;

  constructor() {
    this.id = shared.open({
      onAck: (n) => {
        this.inFlight -= n;
        if (this.inFlight <= MAX_IN_FLIGHT) this.release();
      },
      onDigest: (hex) => {
        this.finish();
        this.result?.resolve(Buffer.from(hex, 'hex'));
      },
      onError: (err) => {
        this.error = err;
        this.closed = true;
        this.release();
        this.result?.reject(err);
      },
    });
  }

  private release(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Hash `chunk` (it is copied; the caller may keep using it). A promise when the caller should wait. */
  update(chunk: Buffer): Promise<void> | undefined {
    if (this.error) throw this.error;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= BATCH) this.send();
    if (this.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    }).then(() => {
      if (this.error) throw this.error;
    });
  }

  private send(): void {
    if (this.pendingBytes === 0) return;
    const batch = shared.buffer(this.pendingBytes);
    let at = 0;
    for (const c of this.pending) at += c.copy(batch, at);
    this.pending = [];
    this.inFlight += this.pendingBytes;
    this.pendingBytes = 0;
    shared.update(this.id, batch, at);
  }

  /** The MD5 of everything given to `update`. */
  digest(): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    this.send();
    return new Promise<Buffer>((resolve, reject) => {
      this.result = { resolve, reject };
      shared.digest(this.id);
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    shared.close(this.id, true);
  }

  /** Give up (the fill failed): the worker forgets this hash. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    shared.close(this.id, false);
  }
}
