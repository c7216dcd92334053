/**
 * @module origin/probe
 * MIR-38: the primary origin's health, as its rule's MirrorURLProbe tells it. Each probe URL a
 * fill asks about is fetched (GET) every `intervalMs`; a 2xx answer means up, anything else (other
 * statuses, timeouts, connection and DNS errors, SSRF refusals) means down. While a probe is down,
 * fills of its rule start at the secondary origin; the next 2xx switches them back.
 *
 * Decisions where the spec is silent: a probe nobody has asked about yet counts as up (the first
 * fill goes to the primary, with the usual failover of MIR-37, and starts the probe); one result
 * switches the state (no hysteresis); a probe no fill has asked about for `idleMs` stops, so a
 * deleted rule is not probed forever. Probes go through the mirror's dispatcher, so the SSRF guard
 * applies to them as to fills.
 */
import { request } from 'undici';
import type { Dispatcher } from 'undici';

export interface ProbeOptions {
  /** time between two probes of one URL, ms (spec: "e.g. every 10 s") */
  intervalMs: number;
  /** how long one probe may take (connect, headers and body), ms */
  timeoutMs: number;
  /** stop probing a URL no fill has asked about for this long, ms */
  idleMs: number;
  dispatcher: Dispatcher;
  /** told of every change of state (logs, the activity feed) */
  onChange?: (url: string, up: boolean, why: string) => void;
}

export interface ProbeState {
  /** undefined until the first probe has answered */
  up: boolean | undefined;
  /** what the last probe saw: 'answered 200', 'answered 503', 'the origin refused the connection', … */
  last: string;
  /** probes run so far */
  checks: number;
  /** when the state last changed (ms since the epoch) */
  since: number;
}

interface Probe extends ProbeState {
  lastAsked: number;
  timer: NodeJS.Timeout;
  running: boolean;
}

export class OriginProbes {
  private readonly probes = new Map<string, Probe>();

  constructor(private readonly opts: ProbeOptions) {}

  /**
   * Is the origin behind `url` known to be down? Starts probing `url` on first use (that first
   * call answers false: unknown counts as up).
   */
  isDown(url: string): boolean {
    let p = this.probes.get(url);
    if (!p) {
      p = {
        up: undefined,
        last: 'not probed yet',
        checks: 0,
        since: Date.now(),
        lastAsked: 0,
        running: false,
        timer: setInterval(() => this.tick(url), this.opts.intervalMs),
      };
      p.timer.unref();
      this.probes.set(url, p);
      void this.check(url, p);
    }
    p.lastAsked = Date.now();
    return p.up === false;
  }

  /** The state of the probe of `url` (undefined: not probed), for the console and tests. */
  state(url: string): ProbeState | undefined {
    const p = this.probes.get(url);
    return p && { up: p.up, last: p.last, checks: p.checks, since: p.since };
  }

  get size(): number {
    return this.probes.size;
  }

  /** Stop every probe (shutdown). */
  close(): void {
    for (const p of this.probes.values()) clearInterval(p.timer);
    this.probes.clear();
  }

  private tick(url: string): void {
    const p = this.probes.get(url);
    if (!p) return;
    if (Date.now() - p.lastAsked > this.opts.idleMs) {
      clearInterval(p.timer);
      this.probes.delete(url);
      return;
    }
    void this.check(url, p);
  }

  private async check(url: string, p: Probe): Promise<void> {
    if (p.running) return;
    p.running = true;
    let up = false;
    let why: string;
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { 'user-agent': 'osprey-mirror-probe' },
        dispatcher: this.opts.dispatcher,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.body.dump();
      up = res.statusCode >= 200 && res.statusCode < 300;
      why = `answered ${res.statusCode}`;
    } catch (err) {
      const e = err as { code?: string; name?: string; message?: string };
      why = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timed out' : (e.code ?? e.message ?? String(err));
    } finally {
      p.running = false;
    }
    // a probe stopped (idle, close) while this one ran leaves no trace
    if (this.probes.get(url) !== p) return;
    p.checks++;
    p.last = why;
    if (p.up !== up) {
      p.up = up;
      p.since = Date.now();
      this.opts.onChange?.(url, up, why);
    }
  }
}
