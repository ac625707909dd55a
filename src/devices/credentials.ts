/**
 * What authenticating a device needs (its oid, the digest of its token_code,
 * its revoked flag), remembered per device key: a fleet's heartbeats then cost
 * no SQL and one SHA-256 to authenticate. A write forgets only what it may
 * change (the store tells, inside the write's transaction): a Device destroyed,
 * or its device_key, token_code or revoked set, forgets that device's entry
 * and any entry under the key it writes; a Device created forgets any entry
 * under its key (misses are never remembered, so usually there is none).
 * Creates and destroys of other devices, and heartbeats (which write other
 * fields), keep the entries. Everything is forgotten when another process
 * commits to the database (the admin CLI).
 */
import type { Store } from '../store/store.js';
import { DEVICE } from './classes.js';
import { digest } from '../auth/secrets.js';
import { BoundedMap } from '../store/bounded-map.js';

const CREDENTIAL_FIELDS = new Set(['device_key', 'token_code', 'revoked']);
const AUTH_FIELDS = ['token_code', 'revoked'];
/** Bounded: beyond it the least recently used entry is evicted (a re-read costs ~0.1 ms). */
const MAX_ENTRIES = 200_000;

export interface DeviceCredential {
  oid: number;
  /** sha256 of token_code; undefined when the device has none (nothing verifies). */
  tokenDigest: Buffer | undefined;
  revoked: boolean;
}

const byStore = new WeakMap<Store, DeviceCredentials>();

export class DeviceCredentials {
  private readonly byKey = new BoundedMap<string, DeviceCredential>(MAX_ENTRIES, (_key, c) => this.keyOf.delete(c.oid));
  /** oid -> its key in byKey: what a write to an oid forgets. Holds exactly byKey's devices. */
  private readonly keyOf = new Map<number, string>();
  private external: number;
  /** Credentials read from the store (misses of this memory): what a test counts. */
  reads = 0;

  /** One per store, subscribed to its writes once. */
  static of(store: Store): DeviceCredentials {
    let c = byStore.get(store);
    if (!c) byStore.set(store, (c = new DeviceCredentials(store)));
    return c;
  }

  private constructor(private readonly store: Store) {
    this.external = store.externalVersion();
    store.onWrite((e, detail) => {
      if (e.class !== DEVICE || (e.op === 'SET' && !e.props!.some((p) => CREDENTIAL_FIELDS.has(p)))) return;
      if (e.op !== 'CREATE') this.forgetOid(e.oid);
      const key = detail.values?.get('device_key');
      if (key !== undefined) this.forgetKey(key);
    });
  }

  private forgetOid(oid: number): void {
    const key = this.keyOf.get(oid);
    if (key !== undefined) this.forgetKey(key);
  }

  private forgetKey(key: string): void {
    const c = this.byKey.get(key);
    if (c === undefined) return;
    this.byKey.delete(key);
    this.keyOf.delete(c.oid);
  }

  private forgetAll(): void {
    this.byKey.clear();
    this.keyOf.clear();
  }

  /** The credential of the device called `key`, or undefined when there is none. */
  lookup(key: string): DeviceCredential | undefined {
    const external = this.store.externalVersion();
    if (external !== this.external) {
      this.forgetAll();
      this.external = external;
    }
    let c = this.byKey.get(key);
    if (c) return c;
    // What findDevice finds, and the two values, in one statement: the miss path of every device's first beat.
    this.reads++;
    const found = this.store.findOneWith(DEVICE, '', 'device_key', key, AUTH_FIELDS);
    if (found === undefined) return undefined;
    const v = found.values;
    c = { oid: found.oid, tokenDigest: v.token_code ? digest(v.token_code) : undefined, revoked: v.revoked === '1' };
    // Read inside a transaction, the values may be a write that is then rolled back: not remembered.
    if (!this.store.inTransaction()) {
      // One key per device: an entry of this oid under another key (not yet forgotten) goes.
      this.forgetOid(c.oid);
      this.byKey.set(key, c);
      this.keyOf.set(c.oid, key);
    }
    return c;
  }
}
