/**
 * What the change log last recorded of each object's heartbeats (changes.ts:
 * when it last recorded `last_seen`, and a print of each other routine value
 * it recorded), compact: a direct-mapped table of typed arrays, ~21 bytes a
 * device beating `ip_address` alone and 8 more per other routine property,
 * instead of the ~200 bytes of a Map entry holding a Map of strings; the
 * collector has nothing in it to walk. Oids are handed out in sequence, so
 * `oid & mask` gives a fleet of up to `slots` devices a slot each; a new oid
 * takes its slot, evicting the one oid that was there. Forgetting is always
 * safe: an object not remembered has its next beat recorded in full.
 *
 * A value is kept as a 52-bit print (two 32-bit multiply-xorshift lanes seeded
 * at random per process, so a client cannot aim at a collision): a value
 * whose print equals the last one recorded counts as unchanged (a wrong
 * "unchanged" needs a 2^-52 coincidence). At most MAX_NAMES property names
 * are kept; a value of any other is always news.
 */
import { randomBytes } from 'node:crypto';
import { MAX_OID, directSlots } from './oid-classes.js';

const MAX_NAMES = 8;

export class BeatMemory {
  private readonly mask: number;
  private readonly oids: Uint32Array;
  /** When `last_seen` was last recorded (ms; NaN: not since this slot's oid came). */
  private readonly clocks: Float64Array;
  /** Bit i set: names[i] has a print in this slot. */
  private readonly present: Uint8Array;
  private readonly names: string[] = [];
  private readonly prints: Float64Array[] = [];
  private readonly seeds: Uint32Array;

  /** `max`: objects remembered at most (rounded up to a power of two). */
  constructor(max: number) {
    const slots = directSlots('BeatMemory', max);
    this.mask = slots - 1;
    this.oids = new Uint32Array(slots);
    this.clocks = new Float64Array(slots);
    this.present = new Uint8Array(slots);
    this.seeds = new Uint32Array(randomBytes(8).buffer);
  }

  /** Slots, that is objects remembered at most. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** When `last_seen` of `oid` was last recorded, or undefined (never, or forgotten). */
  clockOf(oid: number): number | undefined {
    const slot = oid & this.mask;
    if (!this.holds(slot, oid)) return undefined;
    const at = this.clocks[slot]!;
    return Number.isNaN(at) ? undefined : at;
  }

  /** Is `value` the value of `name` last recorded for `oid`? */
  same(oid: number, name: string, value: string): boolean {
    const slot = oid & this.mask;
    const i = this.names.indexOf(name);
    return i >= 0 && this.holds(slot, oid) && (this.present[slot]! & (1 << i)) !== 0 && this.prints[i]![slot] === this.print(value);
  }

  /**
   * Records what a committed change of `oid` said: `clock` (when it recorded
   * last_seen; undefined: it did not) and the routine values it recorded.
   */
  remember(oid: number, clock: number | undefined, values: Iterable<[string, string]>): void {
    if (!Number.isInteger(oid) || oid < 1 || oid > MAX_OID) return;
    const slot = oid & this.mask;
    if (!this.holds(slot, oid)) {
      this.oids[slot] = oid;
      this.clocks[slot] = NaN;
      this.present[slot] = 0;
    }
    if (clock !== undefined) this.clocks[slot] = clock;
    for (const [name, value] of values) {
      const i = this.column(name);
      if (i < 0) continue;
      this.prints[i]![slot] = this.print(value);
      this.present[slot]! |= 1 << i;
    }
  }

  /** Whether the slot is `oid`'s (an unused slot holds 0, which is no object's oid). */
  private holds(slot: number, oid: number): boolean {
    return oid !== 0 && this.oids[slot] === oid;
  }

  /** The column of `name`, made on first use; -1 past MAX_NAMES. */
  private column(name: string): number {
    const i = this.names.indexOf(name);
    if (i >= 0 || this.names.length >= MAX_NAMES) return i;
    this.names.push(name);
    this.prints.push(new Float64Array(this.mask + 1));
    return this.names.length - 1;
  }

  /** A seeded 52-bit print of `value`: two independent 32-bit lanes (murmur3's finaliser on each). */
  private print(value: string): number {
    let a = this.seeds[0]! ^ value.length;
    let b = this.seeds[1]! ^ Math.imul(value.length, 0x9e3779b1);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      a = Math.imul(a ^ c, 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      b = Math.imul(b ^ c, 0x1b873593);
      b = (b << 13) | (b >>> 19);
    }
    return (fmix(b) & 0xfffff) * 2 ** 32 + (fmix(a) >>> 0);
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
