/**
 * @module storage/s3/cache
 * A short-lived cache for the small documents every request reads (bucket documents, bucket
 * configurations): each value is kept at most `ttlMs` (≤ 1 s), so a change made through another
 * node is seen within that time. Concurrent loads of one name share one store request.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  private readonly loading = new Map<string, Promise<T>>();
  /** bumped by invalidate(): a load that started before it must not refill the entry */
  private generation = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(name: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(name);
    if (hit && hit.until > Date.now()) return hit.value;
    const pending = this.loading.get(name);
    if (pending) return pending;
    const gen = this.generation.get(name) ?? 0;
    const p = load()
      .then((value) => {
        if ((this.generation.get(name) ?? 0) === gen) {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(name, { value, until: Date.now() + this.ttlMs });
        }
        return value;
      })
      .finally(() => {
        if (this.loading.get(name) === p) this.loading.delete(name);
      });
    this.loading.set(name, p);
    return p;
  }

  /** Forget a name (this node just wrote it): the next get() asks the store. */
  invalidate(name: string): void {
    this.entries.delete(name);
    this.loading.delete(name);
    this.generation.set(name, (this.generation.get(name) ?? 0) + 1);
    if (this.generation.size > this.maxEntries) this.generation = new Map();
  }

  invalidatePrefix(prefix: string): void {
    for (const k of [...this.entries.keys(), ...this.loading.keys()]) if (k.startsWith(prefix)) this.invalidate(k);
  }
}
