/**
 * A Map holding at most `max` entries, in recency order: reading or writing
 * an entry makes it the newest, and a new entry past the bound evicts the
 * single least recently used one. A cache built on it degrades one entry at a
 * time under a working set larger than the bound, instead of being dropped
 * whole and re-read in full (a Map keeps insertion order, so delete + set
 * moves an entry to the end, and the first key is the oldest).
 */
export class BoundedMap<K, V extends NonNullable<unknown> | null> {
  private readonly entries = new Map<K, V>();

  /** `onEvict` is told of each entry evicted for the bound (not of delete() or clear()). */
  constructor(
    readonly max: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`BoundedMap: max must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, which becomes the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value` as the most recently used; evicts the least recently used entry if the bound is passed. */
  set(key: K, value: V): void {
    if (!this.entries.delete(key) && this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value as K;
      const evicted = this.entries.get(oldest) as V;
      this.entries.delete(oldest);
      this.onEvict?.(oldest, evicted);
    }
    this.entries.set(key, value);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Forgets everything: for correctness (the store changed under the cache), never for the bound. */
  clear(): void {
    this.entries.clear();
  }
}
