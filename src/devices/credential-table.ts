/**
 * The device credentials' memory (credentials.ts), compact: a fleet of a
 * million devices fits in ~60 MB instead of the ~420 bytes a device a Map of
 * objects and Buffers costs, and the collector never walks it (typed arrays
 * hold no references). Each entry: the SHA-256 of the device key (its first
 * 16 bytes identify the key: a collision needs 2^64 keys), the oid, the
 * SHA-256 of the token, the revoked flag. Two open-addressing indexes (by key,
 * by oid: a write forgets by oid) point into the entries.
 *
 * Bounded: past `max` entries, one entry is evicted per new one, chosen by
 * the CLOCK rule (an entry read since the hand last passed gets another
 * round), which approximates least-recently-used without reordering on reads.
 */
import { hash } from 'node:crypto';

export interface CachedCredential {
  oid: number;
  /** sha256 of token_code; undefined when the device has none. */
  tokenDigest: Buffer | undefined;
  revoked: boolean;
}

const KEY_BYTES = 16;
const DIGEST_BYTES = 32;
const USED = 1;
const HAS_DIGEST = 2;
const REVOKED = 4;
const REFERENCED = 8;
const FIRST_CAPACITY = 1024;

/** The identity of a device key: the first KEY_BYTES of its SHA-256. */
function keyPrint(key: string): Buffer {
  return hash('sha256', key, 'buffer').subarray(0, KEY_BYTES);
}

const oidHash = (oid: number) => Math.imul(oid, 0x9e3779b1) >>> 0;

export class CredentialTable {
  private capacity = 0;
  private count = 0;
  private keys = new Uint8Array(0);
  private digests = new Uint8Array(0);
  private oids = new Uint32Array(0);
  private flags = new Uint8Array(0);
  /** Slot -> entry + 1 (0: empty); twice the capacity, so probes stay short. */
  private byKey = new Int32Array(0);
  private byOid = new Int32Array(0);
  /** Entries freed by a delete, reused first. */
  private free: number[] = [];
  /** Entries never used yet start here. */
  private fresh = 0;
  private hand = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`CredentialTable: max must be a positive integer, got ${max}`);
    this.resize(Math.min(max, FIRST_CAPACITY));
  }

  get size(): number {
    return this.count;
  }

  get(key: string): CachedCredential | undefined {
    const e = this.entryOfKey(keyPrint(key));
    if (e < 0) return undefined;
    const f = (this.flags[e]! |= REFERENCED);
    return {
      oid: this.oids[e]!,
      tokenDigest: f & HAS_DIGEST ? Buffer.from(this.digests.subarray(e * DIGEST_BYTES, (e + 1) * DIGEST_BYTES)) : undefined,
      revoked: (f & REVOKED) !== 0,
    };
  }

  /** Remembers `key`'s credential (replacing what the key or the oid had). */
  set(key: string, c: CachedCredential): void {
    const print = keyPrint(key);
    this.removeEntry(this.entryOfKey(print));
    this.removeEntry(this.entryOfOid(c.oid));
    const e = this.allocate();
    this.keys.set(print, e * KEY_BYTES);
    this.oids[e] = c.oid;
    if (c.tokenDigest !== undefined) this.digests.set(c.tokenDigest.subarray(0, DIGEST_BYTES), e * DIGEST_BYTES);
    this.flags[e] = USED | (c.tokenDigest !== undefined ? HAS_DIGEST : 0) | (c.revoked ? REVOKED : 0);
    this.link(e);
  }

  deleteKey(key: string): void {
    this.removeEntry(this.entryOfKey(keyPrint(key)));
  }

  deleteOid(oid: number): void {
    this.removeEntry(this.entryOfOid(oid));
  }

  clear(): void {
    this.count = this.fresh = this.hand = 0;
    this.free = [];
    this.flags.fill(0);
    this.byKey.fill(0);
    this.byOid.fill(0);
  }

  private keyHash(e: number): number {
    const at = e * KEY_BYTES;
    return (this.keys[at]! | (this.keys[at + 1]! << 8) | (this.keys[at + 2]! << 16) | (this.keys[at + 3]! << 24)) >>> 0;
  }

  private entryOfKey(print: Buffer): number {
    const mask = this.byKey.length - 1;
    for (let i = print.readUInt32LE(0) & mask; this.byKey[i] !== 0; i = (i + 1) & mask) {
      const e = this.byKey[i]! - 1;
      if (this.keysEqual(e, print)) return e;
    }
    return -1;
  }

  private keysEqual(e: number, print: Buffer): boolean {
    const at = e * KEY_BYTES;
    for (let i = 0; i < KEY_BYTES; i++) if (this.keys[at + i] !== print[i]) return false;
    return true;
  }

  private entryOfOid(oid: number): number {
    const mask = this.byOid.length - 1;
    for (let i = oidHash(oid) & mask; this.byOid[i] !== 0; i = (i + 1) & mask) {
      const e = this.byOid[i]! - 1;
      if (this.oids[e] === oid) return e;
    }
    return -1;
  }

  /** A free entry: a freed one, a never used one, a new one past a resize, or the one CLOCK evicts. */
  private allocate(): number {
    const e = this.free.pop() ?? (this.fresh < this.capacity ? this.fresh++ : undefined);
    if (e !== undefined) return this.count++, e;
    if (this.capacity < this.max) {
      this.resize(Math.min(this.max, this.capacity * 2));
      return this.count++, this.fresh++;
    }
    for (;;) {
      const at = this.hand;
      this.hand = (this.hand + 1) % this.capacity;
      if (this.flags[at]! & REFERENCED) this.flags[at]! &= ~REFERENCED;
      else {
        this.removeEntry(at);
        this.free.pop();
        return this.count++, at;
      }
    }
  }

  private link(e: number): void {
    insertSlot(this.byKey, this.keyHash(e), e);
    insertSlot(this.byOid, oidHash(this.oids[e]!), e);
  }

  private removeEntry(e: number): void {
    if (e < 0) return;
    removeSlot(this.byKey, e, (x) => this.keyHash(x));
    removeSlot(this.byOid, e, (x) => oidHash(this.oids[x]!));
    this.flags[e] = 0;
    this.free.push(e);
    this.count--;
  }

  private resize(capacity: number): void {
    const grow = <T extends Uint8Array | Uint32Array>(old: T, make: (n: number) => T, width: number): T => {
      const next = make(capacity * width);
      next.set(old);
      return next;
    };
    this.keys = grow(this.keys, (n) => new Uint8Array(n), KEY_BYTES);
    this.digests = grow(this.digests, (n) => new Uint8Array(n), DIGEST_BYTES);
    this.oids = grow(this.oids, (n) => new Uint32Array(n), 1);
    this.flags = grow(this.flags, (n) => new Uint8Array(n), 1);
    this.capacity = capacity;
    this.byKey = new Int32Array(2 ** Math.ceil(Math.log2(capacity * 2)));
    this.byOid = new Int32Array(this.byKey.length);
    for (let e = 0; e < this.fresh; e++) if (this.flags[e]! & USED) this.link(e);
  }
}

/** Linear probing: the first empty slot from the hash's. */
function insertSlot(slots: Int32Array, hash: number, e: number): void {
  const mask = slots.length - 1;
  let i = hash & mask;
  while (slots[i] !== 0) i = (i + 1) & mask;
  slots[i] = e + 1;
}

/** Removes entry `e`, shifting back the entries after it that probed past its slot (no tombstones). */
function removeSlot(slots: Int32Array, e: number, hashOf: (e: number) => number): void {
  const mask = slots.length - 1;
  let i = hashOf(e) & mask;
  while (slots[i] !== e + 1) {
    if (slots[i] === 0) return;
    i = (i + 1) & mask;
  }
  for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
    const home = hashOf(slots[j]! - 1) & mask;
    // Entry j may move into the hole at i when its home slot is not in (i, j] (cyclically).
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      slots[i] = slots[j]!;
      i = j;
    }
  }
  slots[i] = 0;
}
