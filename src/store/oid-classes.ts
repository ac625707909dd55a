/**
 * The store's memory of which class each oid is (Store.className()), compact:
 * a direct-mapped table of typed arrays, 6 bytes a slot (the oid, and the
 * class as an index into the few class names), so a million objects take
 * ~6 MiB instead of the ~100 bytes an entry of a Map costs, and the collector
 * has nothing in it to walk. Oids are handed out in sequence, so `oid & mask`
 * spreads a run of them over distinct slots: a fleet of `slots` objects fits
 * whole. Bounded by construction: a new oid takes its slot, evicting only the
 * one oid that was there (never a whole-table clear for room).
 *
 * Only a hint of what the store holds: the caller forgets an oid it destroys,
 * the oids other nodes destroyed (delete()), and everything when another
 * process commits to a SQLite file (clear()).
 */

/** Oids above this are never remembered (a slot keeps 32 bits of the oid). */
export const MAX_OID = 0xffff_ffff;

/**
 * The slots of a direct-mapped table by oid holding at most `max` oids: the
 * power of two at or above it (a slot is `oid & (slots - 1)`).
 */
export function directSlots(what: string, max: number): number {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`${what}: max must be a positive integer, got ${max}`);
  return 2 ** Math.ceil(Math.log2(max));
}

export class OidClassTable {
  private readonly mask: number;
  private readonly oids: Uint32Array;
  /** Slot -> index + 1 into `names` (0: empty). */
  private readonly classes: Uint16Array;
  private readonly names: string[] = [];
  private readonly indexOf = new Map<string, number>();

  /** `max`: oids held at most (rounded up to a power of two). */
  constructor(max: number) {
    const slots = directSlots('OidClassTable', max);
    this.mask = slots - 1;
    this.oids = new Uint32Array(slots);
    this.classes = new Uint16Array(slots);
  }

  /** Slots, that is oids held at most. */
  get capacity(): number {
    return this.mask + 1;
  }

  get(oid: number): string | undefined {
    const slot = oid & this.mask;
    const c = this.classes[slot]!;
    return c !== 0 && this.oids[slot] === oid ? this.names[c - 1] : undefined;
  }

  set(oid: number, className: string): void {
    if (!Number.isInteger(oid) || oid < 1 || oid > MAX_OID) return;
    let c = this.indexOf.get(className);
    if (c === undefined) {
      // A schema has a few dozen classes; past 65,535 distinct names, the rest are not remembered.
      if (this.names.length >= 0xffff) return;
      this.names.push(className);
      this.indexOf.set(className, (c = this.names.length));
    }
    const slot = oid & this.mask;
    this.oids[slot] = oid;
    this.classes[slot] = c;
  }

  delete(oid: number): void {
    const slot = oid & this.mask;
    if (this.oids[slot] === oid) this.classes[slot] = 0;
  }

  clear(): void {
    this.classes.fill(0);
  }
}
