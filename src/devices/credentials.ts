/**
 * What authenticating a device needs (its oid, the digest of its token_code,
 * its revoked flag), remembered per device key: a fleet's heartbeats then cost
 * no SQL and one SHA-256 to authenticate. An entry is forgotten when a write
 * could change it: a Device created or destroyed, or its device_key,
 * token_code or revoked set (the store tells, inside the write's transaction),
 * and all of them when another process commits to the database (the admin
 * CLI). Heartbeats write other fields, so they keep the entries.
 */
import type { Store } from '../store/store.js';
import { DEVICE } from './classes.js';
import { digest } from '../auth/secrets.js';

const CREDENTIAL_FIELDS = new Set(['device_key', 'token_code', 'revoked']);
const AUTH_FIELDS = ['token_code', 'revoked'];
/** Bounded: beyond it the map starts over (a re-read costs ~0.1 ms). */
const MAX_ENTRIES = 200_000;

export interface DeviceCredential {
  oid: number;
  /** sha256 of token_code; undefined when the device has none (nothing verifies). */
  tokenDigest: Buffer | undefined;
  revoked: boolean;
}

const byStore = new WeakMap<Store, DeviceCredentials>();

export class DeviceCredentials {
  private readonly byKey = new Map<string, DeviceCredential>();
  private external: number;

  /** One per store, subscribed to its writes once. */
  static of(store: Store): DeviceCredentials {
    let c = byStore.get(store);
    if (!c) byStore.set(store, (c = new DeviceCredentials(store)));
    return c;
  }

  private constructor(private readonly store: Store) {
    this.external = store.externalVersion();
    store.onWrite((e) => {
      if (e.class === DEVICE && (e.op !== 'SET' || e.props!.some((p) => CREDENTIAL_FIELDS.has(p)))) this.byKey.clear();
    });
  }

  /** The credential of the device called `key`, or undefined when there is none. */
  lookup(key: string): DeviceCredential | undefined {
    const external = this.store.externalVersion();
    if (external !== this.external) {
      this.byKey.clear();
      this.external = external;
    }
    let c = this.byKey.get(key);
    if (c) return c;
    // What findDevice finds, and the two values, in one statement: the miss path of every device's first beat.
    const found = this.store.findOneWith(DEVICE, '', 'device_key', key, AUTH_FIELDS);
    if (found === undefined) return undefined;
    const v = found.values;
    c = { oid: found.oid, tokenDigest: v.token_code ? digest(v.token_code) : undefined, revoked: v.revoked === '1' };
    // Read inside a transaction, the values may be a write that is then rolled back: not remembered.
    if (!this.store.inTransaction()) {
      if (this.byKey.size >= MAX_ENTRIES) this.byKey.clear();
      this.byKey.set(key, c);
    }
    return c;
  }
}
