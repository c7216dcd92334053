/**
 * Waiting on state instead of sleeping: `until(fn)` polls `fn` until it returns a truthy value,
 * bounded by a generous timeout; `fillEnds` counts mirror fills that have ENDED (stored, failed,
 * proxied, …) from the server's own `/-/metrics` (`osprey_mirror_fetches_total`, counted only
 * after a fill's commit or failure), so "nothing was stored" is checked after the fill is over,
 * not after a pause that a slow machine outlasts.
 */

export interface UntilOptions {
  /** give up (and throw) after this long; generous by default: it is a bound, not a pace */
  timeoutMs?: number;
  /** time between two polls */
  intervalMs?: number;
  /** what was awaited, for the error message */
  what?: string;
}

/** Poll `fn` until it returns something truthy; return that. Throws after `timeoutMs` (default 20 s). */
export async function until<T>(fn: () => T | Promise<T>, opts: UntilOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'} (last: ${last instanceof Error ? last.message : String(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/**
 * Ended mirror fills of `bucket` by outcome (`stored`, `failed`, `proxied`, …), from `/-/metrics`.
 * A server labels only its first 100 bucket names (MAX_BUCKET_LABELS): keep a test server's mirror
 * buckets below that.
 */
export async function fillEnds(baseUrl: string, bucket: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/-/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('osprey_mirror_fetches_total{')) continue;
    const labels = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (!labels.includes(`bucket="${bucket}"`)) continue;
    const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? '';
    out[outcome] = (out[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

function total(ends: Record<string, number>): number {
  return Object.values(ends).reduce((a, b) => a + b, 0);
}

/**
 * Take a mark of the fills ended so far for `bucket`; `wait(n)` then resolves once `n` more have
 * ended (default 1) and returns the outcomes of those new ones.
 */
export async function fillMark(
  baseUrl: string,
  bucket: string,
): Promise<{ wait(n?: number, timeoutMs?: number): Promise<Record<string, number>> }> {
  const before = await fillEnds(baseUrl, bucket);
  return {
    async wait(n = 1, timeoutMs = 20_000) {
      const now = await until(
        async () => {
          const e = await fillEnds(baseUrl, bucket);
          return total(e) - total(before) >= n ? e : undefined;
        },
        { timeoutMs, what: `${n} mirror fill(s) of ${bucket} to end` },
      );
      const diff: Record<string, number> = {};
      for (const [k, v] of Object.entries(now)) if (v - (before[k] ?? 0) > 0) diff[k] = v - (before[k] ?? 0);
      return diff;
    },
  };
}
