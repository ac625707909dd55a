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
 *
 * Whether a read may be remembered is decided by this memory's own count of
 * credential writes, not the store's count of all writes: under a fleet's
 * load a heartbeat batch is nearly always open, so the store's rule
 * (Store.readStamp: nothing written, no transaction open) would remember
 * nothing and every beat would read its credential. A credential write forgets
 * twice, when it is made (inside its transaction) and once it has committed;
 * each time the count moves, so a read answered across either is not kept. A
 * read made while such a write is uncommitted sees the committed credential
 * and may keep it until the write commits: that write's reply is not sent yet.
 */
import type { Store } from '../store/store.js';
import { DEVICE } from './classes.js';
import { digest } from '../auth/secrets.js';
import { CredentialTable, type CachedCredential } from './credential-table.js';

const CREDENTIAL_FIELDS = new Set(['device_key', 'token_code', 'revoked']);
const AUTH_FIELDS = ['token_code', 'revoked'];
/**
 * Bounded: beyond it one entry is evicted per new one (a re-read is one statement). ~60 bytes an entry
 * (credential-table.ts): a fleet of this size authenticates from memory in ~60 MB.
 */
const MAX_ENTRIES = 1_000_000;

export type DeviceCredential = CachedCredential;

const byStore = new WeakMap<Store, DeviceCredentials>();

export class DeviceCredentials {
  private readonly byKey: CredentialTable;
  private external: number;
  /** Credential writes made or committed (see above): a read is kept only if none came while it ran. */
  private credentialWrites = 0;
  /** Bulk transactions that registered their one forget (see the constructor). */
  private readonly bulkForgets = new WeakSet<object>();
  /** Credentials read from the store (misses of this memory): what a test counts. */
  reads = 0;

  /** One per store, subscribed to its writes once. */
  static of(store: Store, max = MAX_ENTRIES): DeviceCredentials {
    let c = byStore.get(store);
    if (!c) byStore.set(store, (c = new DeviceCredentials(store, max)));
    return c;
  }

  private constructor(
    private readonly store: Store,
    max: number,
  ) {
    this.byKey = new CredentialTable(max);
    this.external = store.externalVersion();
    store.onWrite((e, detail, tx) => {
      if (e.class !== DEVICE || (e.op === 'SET' && !e.props!.some((p) => CREDENTIAL_FIELDS.has(p)))) return;
      const key = detail.values?.get('device_key');
      const forget = () => {
        this.credentialWrites++;
        if (e.op !== 'CREATE') this.byKey.deleteOid(e.oid);
        if (key !== undefined) this.byKey.deleteKey(key);
      };
      forget();
      if (!tx.w.bulk) tx.w.afterCommit(forget);
      else if (!this.bulkForgets.has(tx.w)) {
        // Once for the whole transaction, not once a device (an import of a million): everything is forgotten.
        this.bulkForgets.add(tx.w);
        tx.w.afterCommit(() => {
          this.credentialWrites++;
          this.byKey.clear();
        });
      }
    });
  }

  /** Entries remembered now (a test checks the bound). */
  get size(): number {
    return this.byKey.size;
  }

  /** The credential of the device called `key`, or undefined when there is none. */
  async lookup(key: string): Promise<DeviceCredential | undefined> {
    const external = this.store.externalVersion();
    if (external !== this.external) {
      this.byKey.clear();
      this.external = external;
    }
    const known = this.byKey.get(key);
    if (known) return known;
    // What findDevice finds, and the two values, in one statement: the miss path of every device's first beat.
    this.reads++;
    const writes = this.credentialWrites;
    const found = await this.store.findOneWith(DEVICE, '', 'device_key', key, AUTH_FIELDS);
    if (found === undefined) return undefined;
    const v = found.values;
    const c = { oid: found.oid, tokenDigest: v.token_code ? digest(v.token_code) : undefined, revoked: v.revoked === '1' };
    // Remembered only if no credential write was made or committed, here or by another process, while it was read.
    // One key per device: set() replaces an entry of this oid under another key (not yet forgotten).
    if (writes === this.credentialWrites && this.store.externalVersion() === external) this.byKey.set(key, c);
    return c;
  }
}
