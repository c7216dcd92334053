/**
 * @module metrics
 * Prometheus metrics (prom-client), one registry per server so that several servers in one
 * process (tests) never mix their counts. Label values are bounded: operations and statuses come
 * from fixed sets, failure reasons from `failureReason`, buckets are labelled only for the first
 * MAX_BUCKET_LABELS distinct names (the rest count as "_other"), and keys are never labels.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FillOutcomeKind, FillRecord, MirrorActivity } from '../mirror/activity.js';

export const MAX_BUCKET_LABELS = 100;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One operation's request figures, counted in plain numbers on the request path. */
interface OpCounts {
  byStatus: Map<number, number>;
  bytesIn: number;
  bytesOut: number;
  /** per LATENCY_BUCKETS bound, the observations at or under it and over the bound before */
  buckets: Float64Array;
  sum: number;
  count: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A metric prom-client's registry prints (its `get()` shape: name, help, type, values) from the
 * counts gathered by `Metrics.request`. prom-client's own Counter and Histogram hash their label
 * object on every call (~2.3 µs for a request's four updates, 2-3 % of a 4 KiB hit); here a
 * request adds to numbers, and the labelled values are built when /-/metrics is scraped.
 */
class ScrapedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly values: () => Sample[],
  ) {}
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
  reset(): void {}
}

export class Metrics {
  readonly registry = new Registry();
  /** by operation (a fixed set, with 'Unknown') */
  private readonly ops = new Map<string, OpCounts>();
  private readonly fetches: Counter<'bucket' | 'outcome' | 'reason'>;
  private readonly originStatus: Counter<'code'>;
  private readonly originTtfb: Histogram;
  private readonly fillDuration: Histogram<'outcome'>;
  private readonly mirrorBytes: Counter;
  private readonly followers: Counter;
  private readonly redirects: Counter<'kind'>;
  private readonly buckets = new Set<string>();

  constructor(activity: MirrorActivity, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'osprey_' });
    const ops = this.ops;
    const perOp = (pick: (c: OpCounts) => number) => (): Sample[] =>
      [...ops].filter(([, c]) => pick(c) > 0).map(([op, c]) => ({ labels: { op }, value: pick(c) }));
    for (const m of [
      new ScrapedMetric('osprey_requests_total', 'Requests answered, by S3 operation and HTTP status', 'counter', () =>
        [...ops].flatMap(([op, c]) => [...c.byStatus].map(([status, value]) => ({ labels: { op, status: String(status) }, value }))),
      ),
      new ScrapedMetric('osprey_request_duration_seconds', 'Time from request to the end of the response, by operation', 'histogram', () =>
        [...ops].flatMap(([op, c]) => latencySamples('osprey_request_duration_seconds', op, c)),
      ),
      new ScrapedMetric(
        'osprey_request_bytes_total',
        'Body bytes received from clients, by operation',
        'counter',
        perOp((c) => c.bytesIn),
      ),
      new ScrapedMetric(
        'osprey_response_bytes_total',
        'Body bytes sent to clients, by operation',
        'counter',
        perOp((c) => c.bytesOut),
      ),
    ])
      // the registry reads a metric through get() alone; its type names prom-client's own classes
      this.registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    this.fetches = new Counter({
      name: 'osprey_mirror_fetches_total',
      help: 'Origin fetches by outcome (stored, proxied, not-found, redirect, passthrough, failed, qos) and failure reason',
      labelNames: ['bucket', 'outcome', 'reason'],
      registers,
    });
    this.originStatus = new Counter({
      name: 'osprey_mirror_origin_responses_total',
      help: 'Origin HTTP responses by status code',
      labelNames: ['code'],
      registers,
    });
    this.originTtfb = new Histogram({
      name: 'osprey_mirror_origin_ttfb_seconds',
      help: "Time from a fill's start to the origin's response headers",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fillDuration = new Histogram({
      name: 'osprey_mirror_fill_duration_seconds',
      help: 'Time from the start of a fill to its end, by outcome',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.mirrorBytes = new Counter({ name: 'osprey_mirror_bytes_total', help: 'Body bytes received from origins', registers });
    this.followers = new Counter({
      name: 'osprey_mirror_followers_total',
      help: 'GETs that joined a fill already in flight instead of fetching again',
      registers,
    });
    new Gauge({
      name: 'osprey_mirror_fills_in_progress',
      help: 'Origin fetches under way',
      registers,
      collect() {
        this.set(activity.inflightCount);
      },
    });
    this.redirects = new Counter({
      name: 'osprey_redirects_total',
      help: 'Redirects answered, by kind (the rule RedirectType, All, Directory)',
      labelNames: ['kind'],
      registers,
    });

    activity.listen({
      onFollower: () => this.followers.inc(),
      onOriginResponse: (_fill: FillRecord, status: number, ttfbMs: number) => {
        this.originStatus.inc({ code: String(status) });
        this.originTtfb.observe(ttfbMs / 1000);
      },
      onBytes: (n: number) => this.mirrorBytes.inc(n),
      onEnd: (fill: FillRecord, outcome: FillOutcomeKind, ms: number, reason?: string) => {
        this.fetches.inc({
          bucket: this.bucketLabel(fill.bucket),
          outcome,
          reason: outcome === 'failed' || outcome === 'qos' ? failureReason(reason) : '',
        });
        this.fillDuration.observe({ outcome }, ms / 1000);
      },
    });
  }

  /** One answered request (called when the response closes). */
  request(op: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    let c = this.ops.get(op);
    if (c === undefined) {
      c = { byStatus: new Map(), bytesIn: 0, bytesOut: 0, buckets: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0 };
      this.ops.set(op, c);
    }
    c.byStatus.set(status, (c.byStatus.get(status) ?? 0) + 1);
    c.bytesIn += bytesIn;
    c.bytesOut += bytesOut;
    c.sum += seconds;
    c.count += 1;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= LATENCY_BUCKETS[i]!) {
        c.buckets[i]! += 1;
        break;
      }
  }

  redirect(kind: string): void {
    this.redirects.inc({ kind });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private bucketLabel(bucket: string): string {
    if (this.buckets.has(bucket)) return bucket;
    if (this.buckets.size >= MAX_BUCKET_LABELS) return '_other';
    this.buckets.add(bucket);
    return bucket;
  }
}

/** A histogram's samples for one operation, as prom-client prints them (cumulative `le` buckets, +Inf, sum, count). */
function latencySamples(name: string, op: string, c: OpCounts): Sample[] {
  const out: Sample[] = [];
  let acc = 0;
  LATENCY_BUCKETS.forEach((le, i) => {
    acc += c.buckets[i]!;
    out.push({ labels: { le, op }, value: acc, metricName: `${name}_bucket` });
  });
  out.push({ labels: { le: '+Inf', op }, value: c.count, metricName: `${name}_bucket` });
  out.push({ labels: { op }, value: c.sum, metricName: `${name}_sum` });
  out.push({ labels: { op }, value: c.count, metricName: `${name}_count` });
  return out;
}

/** A failure message reduced to one of a few fixed reasons (label values stay bounded). */
export function failureReason(message: string | undefined): string {
  const m = (message ?? '').toLowerCase();
  if (m.includes('qos')) return 'qos';
  if (m.includes('timed out') || m.includes('in time') || m.includes('stopped sending')) return 'timeout';
  if (m.includes('which is refused') || m.includes(' is refused:')) return 'forbidden-address';
  if (
    m.includes('resolved') ||
    m.includes('refused the connection') ||
    m.includes('could not be reached') ||
    m.includes('closed the connection')
  )
    return 'connect';
  if (/answered 5\d\d/.test(m)) return 'origin-5xx';
  if (/answered \d{3}/.test(m)) return 'origin-status';
  if (m.includes('md5')) return 'md5-mismatch';
  if (m.includes('bytes read') || m.includes('premature') || m.includes('aborted')) return 'truncated';
  if (m.includes('larger than')) return 'too-large';
  if (m.includes('redirect')) return 'redirects';
  if (m.includes('won over')) return 'overwritten';
  return 'other';
}
