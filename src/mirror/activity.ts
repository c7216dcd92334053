/**
 * @module mirror/activity
 * What the mirror engine reports about each origin fetch: a record per fill, opened when the
 * fetch starts and closed once with its outcome. `MirrorActivity` keeps the fills in progress and
 * a bounded ring of recent ones for the console; any number of listeners (metrics) see every
 * event as it happens.
 */

export type FillOutcomeKind = 'stored' | 'proxied' | 'not-found' | 'redirect' | 'passthrough' | 'failed' | 'qos';

/** One origin fetch, as the console shows it. */
export interface FillView {
  id: string;
  bucket: string;
  key: string;
  /** the origin URL fetched last (after failover and redirects) */
  url: string;
  startedAt: string;
  /** the origin's HTTP status, when one answered */
  status?: number;
  bytes: number;
  /** total time, once finished */
  ms?: number;
  /** GETs that joined the fill in flight */
  followers: number;
  outcome?: FillOutcomeKind;
  reason?: string;
}

/** The engine's side: a fill in progress, filled in as the fetch goes on. */
export interface FillRecord {
  readonly id: string;
  readonly bucket: string;
  readonly key: string;
  url: string;
  readonly started: number;
  status?: number;
  /** ms from the request to the origin's response headers */
  ttfbMs?: number;
  bytes: number;
  followers: number;
  /** why storing failed, when it did */
  error?: string;
}

export interface FillListener {
  onStart?(fill: FillRecord): void;
  onFollower?(fill: FillRecord): void;
  /** an origin answered (one per request, including redirects and failed-over attempts) */
  onOriginResponse?(fill: FillRecord, status: number, ttfbMs: number): void;
  onEnd?(fill: FillRecord, outcome: FillOutcomeKind, ms: number, reason?: string): void;
  /** bytes received from the origin (called per chunk: keep it cheap) */
  onBytes?(n: number): void;
}

const RECENT = 200;

export class MirrorActivity {
  private readonly listeners: FillListener[] = [];
  private readonly inflight = new Map<string, FillRecord>();
  /** ended fills, oldest first; made into views only when someone looks (snapshot) */
  private readonly recent: { fill: FillRecord; ms: number; outcome: FillOutcomeKind; reason: string | undefined }[] = [];
  private seq = 0;

  listen(listener: FillListener): void {
    this.listeners.push(listener);
  }

  start(bucket: string, key: string, url: string): FillRecord {
    const fill: FillRecord = { id: (++this.seq).toString(36), bucket, key, url, started: Date.now(), bytes: 0, followers: 0 };
    this.inflight.set(fill.id, fill);
    for (const l of this.listeners) l.onStart?.(fill);
    return fill;
  }

  follower(fill: FillRecord): void {
    fill.followers++;
    for (const l of this.listeners) l.onFollower?.(fill);
  }

  originResponse(fill: FillRecord, url: string, status: number, ttfbMs: number): void {
    fill.url = url;
    fill.status = status;
    fill.ttfbMs ??= ttfbMs;
    for (const l of this.listeners) l.onOriginResponse?.(fill, status, ttfbMs);
  }

  bytes(fill: FillRecord, n: number): void {
    fill.bytes += n;
    for (const l of this.listeners) l.onBytes?.(n);
  }

  /** Close a fill; only the first call counts. */
  end(fill: FillRecord, outcome: FillOutcomeKind, reason?: string): void {
    if (!this.inflight.delete(fill.id)) return;
    const ms = Date.now() - fill.started;
    this.recent.push({ fill, ms, outcome, reason });
    if (this.recent.length > RECENT) this.recent.shift();
    for (const l of this.listeners) l.onEnd?.(fill, outcome, ms, reason);
  }

  /** A rejected fill that never started (QoS). */
  rejected(bucket: string, key: string, url: string, reason: string): void {
    this.end(this.start(bucket, key, url), 'qos', reason);
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Newest first. */
  snapshot(): { recent: FillView[]; inflight: FillView[] } {
    const recent = this.recent.map(({ fill, ms, outcome, reason }) => ({
      ...view(fill),
      ms,
      outcome,
      ...(reason !== undefined && { reason }),
    }));
    return { recent: recent.reverse(), inflight: [...this.inflight.values()].map(view) };
  }
}

function view(f: FillRecord): FillView {
  return {
    id: f.id,
    bucket: f.bucket,
    key: f.key,
    url: f.url,
    startedAt: new Date(f.started).toISOString(),
    ...(f.status !== undefined && { status: f.status }),
    bytes: f.bytes,
    followers: f.followers,
  };
}
