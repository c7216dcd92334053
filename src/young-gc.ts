/**
 * @module young-gc
 * Node hands every socket read to JavaScript as a new buffer (up to 64 KiB). A large body passing
 * through the process (a mirror fill from its origin, a GET from the S3 store, a PUT from a client)
 * makes such buffers by the thousand and drops each one soon after; but V8 frees their memory only
 * when it next collects the young generation, and it times that by the JavaScript objects made, not
 * by these buffers' bytes. So tens of MiB of dead buffers piled up between collections: measured
 * reading 1 GiB with undici from a local nginx, peak `arrayBuffers` 38-46 MiB and RSS +57-66 MiB;
 * with a young-generation collection after every 4 MiB read, 12-13 MiB and +40 MiB, and 35-40 %
 * less CPU (memory freed at once is reused while it is still in the cache).
 *
 * Code that passes a large body on reports its bytes with `passed(n)`; after every TRIGGER bytes,
 * process-wide, the young generation is collected (a scavenge: well under a millisecond, as little
 * lives there). The collector is V8's `gc` function: `globalThis.gc` when node runs with
 * `--expose-gc`, else taken once, the way test runners do, by turning that flag on and reading the
 * function from a fresh context. Without it (should V8 refuse), `passed` does nothing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** bytes of read buffers between two young-generation collections */
const TRIGGER = 4 * 1024 * 1024;

type Gc = (opts: { type: 'minor' | 'major' }) => void;

function collector(): Gc | undefined {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

const gc = collector();
let since = 0;

/** `n` more bytes of short-lived read buffers went through (and are, or soon will be, garbage). */
export function passed(n: number): void {
  since += n;
  if (since < TRIGGER) return;
  since = 0;
  gc?.({ type: 'minor' });
}

/** Whether the collections happen (V8 gave its collector). */
export const youngGcAvailable = gc !== undefined;
