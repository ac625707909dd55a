import { BoundedMap } from './bounded-map.js';

/**
 * Values derived from the store, each remembered with the revision it was
 * derived at (Store.revision() or a finer counter) and good while that
 * revision is current. Bounded: past `max` entries the least recently used
 * one is evicted (see BoundedMap), as the caches it serves are hot sets
 * (callers, hot objects, page totals).
 */
export class RevisionMap<K, V> {
  private readonly entries: BoundedMap<K, { revision: number; value: V }>;

  constructor(max: number) {
    this.entries = new BoundedMap(max);
  }

  /** The value remembered for `key`, if `current(value)` still equals the revision it was stored at. */
  get(key: K, current: (value: V) => number): V | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.revision === current(e.value) ? e.value : undefined;
  }

  set(key: K, revision: number, value: V): void {
    this.entries.set(key, { revision, value });
  }
}
