/**
 * @module migrate/progress
 * What a long import or verify shows while it runs: a cli-progress bar on a TTY (objects, bytes,
 * rate, ETA, failures) or, when stderr is not a TTY (CI, logs), one plain line every interval.
 */
import type cliProgress from 'cli-progress';
import { createRequire } from 'node:module';

/** cli-progress, loaded only for a bar on a terminal (not at every start of the command line) */
const loadBar = (): typeof cliProgress => createRequire(import.meta.url)('cli-progress') as typeof cliProgress;

export interface Counts {
  /** objects finished (any outcome) */
  done: number;
  /** objects to do, when known (a key list; a listing once it is complete) */
  total?: number;
  failed: number;
  bytes: number;
  /** extra words for the plain line, e.g. "copied 10, skipped 2" */
  detail(): string;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  private readonly started = Date.now();
  private bar: cliProgress.SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly verb: string,
    private readonly counts: Counts,
    opts: { tty: boolean; intervalMs: number; stream?: NodeJS.WriteStream },
  ) {
    const stream = opts.stream ?? process.stderr;
    if (opts.tty) {
      const cliProgress = loadBar();
      this.bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${verb} {bar} {value}/{totalText} objects | {bytes} | {rate} | ETA {etaText} | failed {failed}`,
          hideCursor: true,
          fps: 5,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(counts.total ?? 0, 0, this.payload());
      this.timer = setInterval(() => this.refresh(), 250);
    } else if (opts.intervalMs > 0) {
      this.timer = setInterval(() => stream.write(`${this.line()}\n`), opts.intervalMs);
    }
    this.timer?.unref();
  }

  private rate(): number {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? this.counts.bytes / s : 0;
  }

  private eta(): string {
    const { done, total } = this.counts;
    if (total === undefined || done === 0) return '?';
    return formatDuration(((Date.now() - this.started) / done) * (total - done));
  }

  private payload() {
    return {
      totalText: this.counts.total === undefined ? '?' : String(this.counts.total),
      bytes: formatBytes(this.counts.bytes),
      rate: `${formatBytes(this.rate())}/s`,
      etaText: this.eta(),
      failed: this.counts.failed,
    };
  }

  private refresh(): void {
    if (!this.bar) return;
    if (this.counts.total !== undefined) this.bar.setTotal(this.counts.total);
    this.bar.update(this.counts.done, this.payload());
  }

  /** The plain progress line (non-TTY). */
  line(): string {
    const c = this.counts;
    const of = c.total === undefined ? '' : `/${c.total}`;
    return `${this.verb}: ${c.done}${of} objects (${c.detail()}), ${formatBytes(c.bytes)}, ${formatBytes(this.rate())}/s, ETA ${this.eta()}, elapsed ${formatDuration(Date.now() - this.started)}`;
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.bar) {
      this.refresh();
      this.bar.stop();
    }
  }
}

/**
 * Runs `work` for every item with at most `n` at once. The first error (from the source's listing,
 * or one `work` lets through: a fatal one) stops handing out items; the others finish, then it is
 * thrown.
 */
export async function runPool<T>(items: AsyncIterable<T>, n: number, work: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  const it = items[Symbol.asyncIterator]();
  let failed = false;
  let error: unknown;
  const worker = async () => {
    try {
      for (;;) {
        if (failed || stop()) return;
        const next = await it.next();
        if (next.done) return;
        await work(next.value);
      }
    } catch (err) {
      if (!failed) error = err;
      failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
  if (failed) throw error;
}
