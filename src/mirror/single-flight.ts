/**
 * @module mirror/single-flight
 * At most one origin fetch per bucket+key at a time (spec MIR-41; STYLE §2.13). The first GET
 * starts the fill; later GETs join it and stream from its spool at their own pace. The entry is
 * removed in `finally`, so a failure is never remembered: the next GET tries again. The fill runs
 * on its own, independent of any client: a client that goes away never cancels it.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, T>();

  static key(bucket: string, key: string): string {
    return `${bucket}\0${key}`;
  }

  get size(): number {
    return this.inflight.size;
  }

  get(id: string): T | undefined {
    return this.inflight.get(id);
  }

  entries(): IterableIterator<[string, T]> {
    return this.inflight.entries();
  }

  /**
   * Join the fill in flight for `id`, or start one: `start` returns the shared value (at once) and
   * a promise of the fill's end; the entry is dropped when that settles, whatever the outcome.
   */
  join(id: string, start: () => { value: T; done: Promise<unknown> }): { value: T; leader: boolean } {
    const existing = this.inflight.get(id);
    if (existing !== undefined) return { value: existing, leader: false };
    const { value, done } = start();
    this.inflight.set(id, value);
    done
      .finally(() => {
        if (this.inflight.get(id) === value) this.inflight.delete(id);
      })
      .catch(() => {});
    return { value, leader: true };
  }

  /** Forget `id` now (a PUT or DELETE of the key won: MIR-42); the fill itself keeps going. */
  forget(id: string): void {
    this.inflight.delete(id);
  }
}
