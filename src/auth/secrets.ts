/**
 * Session ids and tokens: 256 random bits, kept only as their SHA-256 in memory
 * (a memory dump yields no usable secret), looked up by that hash and then
 * compared in constant time. Sessions slide (each use extends them); tokens do
 * not. With a GrantPersistence (src/auth/grant-rows.ts) each grant is also a
 * row of the store, so it outlives a restart and is seen by a second process;
 * the rows read are kept here and read again only after another connection
 * committed. An owner (a user's sessions, an api_access entry's tokens) holds
 * a bounded number: a new grant beyond the bound ends the owner's grant
 * closest to expiry.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GrantPersistence, GrantRow } from './grant-rows.js';

export interface Grant {
  readonly kind: 'session' | 'token';
  readonly userOid: number;
  readonly userName: string;
  /** Where it was issued (a token is only valid from its own whitelist entry). */
  readonly origin: string;
  /** Where a bearer grant may be used: `local`, or the api_access entry it was issued from (src/auth/origins.ts). */
  readonly boundTo?: string;
  /** A systemAdministrator whatever its User says (an OIDC token's admin claim, src/auth/credentials/oidc.ts). */
  readonly admin?: boolean;
  expires: number;
  readonly lifetimeMs: number;
  readonly sliding: boolean;
}

/** SHA-256, one-shot (crypto.hash: no Hash object per call, unlike createHash). */
export const digest = (secret: string): Buffer => hash('sha256', secret, 'buffer') as unknown as Buffer;

/** Constant-time equality of two secrets (compared as digests, so lengths leak nothing); '' never matches. */
export function sameSecret(given: string, expected: string): boolean {
  return expected !== '' && timingSafeEqual(digest(given), digest(expected));
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** How many live grants one owner (a user's sessions, a client's tokens) may hold: `key` names the owner. */
export interface GrantLimit {
  readonly key: string;
  readonly max: number;
}

interface Entry {
  hash: Buffer;
  grant: Grant;
  /** The owner's key when the grant is limited. */
  owner?: string;
  issuedAt: number;
  /** The store's version this entry was last read or written at (see GrantPersistence.version). */
  checked: number;
  /** Issued here and not yet committed: no other process can know it, nor end it. */
  pending: boolean;
  /** The expiry the store holds (a sliding grant's is moved forward in steps, not on every use). */
  storedExpires: number;
}

/** A sliding grant's stored expiry is moved when it lags by more than this share of its lifetime (or a minute). */
const TOUCH_SHARE = 10;
const TOUCH_MAX_MS = 60_000;
/**
 * At most this many grants read from the store are kept here; past it the one
 * read longest ago is forgotten (it is read again when next used). Grants
 * issued here are bounded by the per-owner limits instead.
 */
export const MAX_ADOPTED = 50_000;

export class SecretTable {
  private readonly byHash = new Map<string, Entry>();
  /** grant -> its key in byHash (see holds()). */
  private readonly keys = new WeakMap<Grant, string>();
  /**
   * Each owner's grants (hex digests) in order of expiry, soonest first: tokens
   * by issue time; a sliding session moves to the end whenever it is used. A
   * full owner loses its first one when a new one is issued.
   */
  private readonly byOwner = new Map<string, Set<string>>();
  /** Grants read from the store (not issued here), oldest read first: what MAX_ADOPTED bounds. */
  private readonly adopted = new Set<string>();
  /** The store's version each owner's stored grants were read at (a limit counts them all). */
  private readonly ownersRead = new Map<string, number>();
  /** Grants ended here whose rows' removal has not committed yet (see readStored()). */
  private readonly removing = new Set<string>();
  /** For each read of stored grants in flight: the grants ended here since it began (see readStored()). */
  private readonly reading = new Set<Set<string>>();

  constructor(
    private readonly now: () => number = Date.now,
    /** The limit a grant falls under; none when undefined. */
    private readonly limitOf: (g: Omit<Grant, 'expires'>) => GrantLimit | undefined = () => undefined,
    private readonly stored?: GrantPersistence,
  ) {}

  /**
   * A new grant under a new random secret, or under `secret` when given (an
   * OIDC token, verified once). Valid here once it resolves; `saved` settles
   * when its row has committed (a reply that hands the secret out waits for
   * it, so a restart right after keeps it). A limited grant first reads its
   * owner's stored grants when another connection (another node) may have
   * changed them, so the bound counts the owner's grants on every node.
   */
  async issue(g: Omit<Grant, 'expires'>, secret = randomSecret()): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
    const limit = this.limitOf(g);
    if (limit !== undefined) await this.readOwner(limit.key);
    // From here on nothing is awaited: the count, the ends and the new grant are one decision.
    const now = this.now();
    const grant: Grant = { ...g, expires: now + g.lifetimeMs };
    const hash = digest(secret);
    const hex = hash.toString('hex');
    const version = this.stored?.version() ?? 0;
    const entry: Entry = { hash, grant, issuedAt: now, checked: version, pending: this.stored !== undefined, storedExpires: grant.expires };
    if (limit !== undefined) {
      let owned = this.byOwner.get(limit.key);
      if (owned === undefined) this.byOwner.set(limit.key, (owned = new Set()));
      // Full: the grant closest to its expiry ends, so the newest (or most recently used) survive.
      const ended: Buffer[] = [];
      for (const oldest of owned) {
        if (owned.size < limit.max) break;
        ended.push(this.byHash.get(oldest)!.hash);
        this.drop(oldest);
      }
      void this.removeStored(ended);
      owned.add(hex);
      // Dropping the last one (a bound of 1) removed the set from byOwner: put it back.
      this.byOwner.set(limit.key, owned);
      entry.owner = limit.key;
    }
    this.byHash.set(hex, entry);
    this.keys.set(grant, hex);
    const saved = this.stored?.save(hash, { grant, owner: entry.owner, issuedAt: now }).then(() => {
      entry.pending = false;
    });
    return { secret, grant, saved: saved ?? Promise.resolve() };
  }

  /** The grant's key (the hex digest of its secret, as the store holds it), or undefined when this table does not hold it. */
  keyOf(grant: Grant): string | undefined {
    return this.keys.get(grant);
  }

  /** Is this grant still valid (neither ended nor expired)? What a BEGIN queue holds counts only while it is. */
  holds(grant: Grant): boolean {
    const key = this.keys.get(grant);
    return key !== undefined && this.byHash.get(key)?.grant === grant && grant.expires > this.now();
  }

  /**
   * The live grant for a secret, extending it when sliding; undefined when unknown or expired. Asynchronous:
   * a grant not known here, or known from before another connection committed, is read from the store
   * (on PostgreSQL, a round trip).
   */
  async lookup(secret: string, maxLength = 256): Promise<Grant | undefined> {
    if (secret.length === 0 || secret.length > maxLength) return undefined;
    const hash = digest(secret);
    const hex = hash.toString('hex');
    const entry = await this.current(hex, hash);
    if (!entry || !timingSafeEqual(entry.hash, hash)) return undefined;
    const now = this.now();
    if (entry.grant.expires <= now) {
      this.drop(hex);
      return undefined;
    }
    if (entry.grant.sliding) {
      entry.grant.expires = now + entry.grant.lifetimeMs;
      this.touch(hex, entry);
      const step = Math.min(entry.grant.lifetimeMs / TOUCH_SHARE, TOUCH_MAX_MS);
      if (this.stored && entry.grant.expires - entry.storedExpires > step) {
        entry.storedExpires = entry.grant.expires;
        this.stored.touch(hash, entry.grant.expires);
      }
    }
    return entry.grant;
  }

  /** When the grant was issued (ms); 0 for one this table does not hold. */
  issuedAt(grant: Grant): number {
    const key = this.keys.get(grant);
    return (key !== undefined && this.byHash.get(key)?.issuedAt) || 0;
  }

  /** Counts `grant` as issued now: it survives the epoch its own write set. */
  renew(grant: Grant): void {
    const key = this.keys.get(grant);
    const entry = key === undefined ? undefined : this.byHash.get(key);
    if (entry === undefined) return;
    entry.issuedAt = this.now();
    void this.stored?.save(entry.hash, { grant, owner: entry.owner, issuedAt: entry.issuedAt });
  }

  /** Ends a grant here at once; resolves once its row is gone too (whether this table held it). */
  async revoke(secret: string): Promise<boolean> {
    const hash = digest(secret);
    const ended = this.drop(hash.toString('hex'));
    await this.removeStored([hash]);
    return ended;
  }

  /**
   * Ends every grant of a user (disabled, destroyed, new password) held here,
   * except `keep` (the caller's own). The rows end inside the write that
   * decided it (src/users/lifecycle.ts, Store.grants.removeUser), in whichever process.
   */
  revokeUser(userOid: number, keep?: Grant): number {
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.userOid === userOid && e.grant !== keep && this.drop(k)) n++;
    return n;
  }

  /** Forgets expired grants (their rows stay until `cced purge`); returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.expires <= now && this.drop(k)) n++;
    return n;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** How many live grants an owner holds (expired ones not yet swept included). */
  held(key: string): number {
    return this.byOwner.get(key)?.size ?? 0;
  }

  /**
   * The entry for a digest as the store has it: kept ones are read again once
   * another connection has committed (it may have ended or used them), unknown
   * ones are read from the store (issued before a restart, or by another process).
   */
  private async current(hex: string, hash: Buffer): Promise<Entry | undefined> {
    let entry = this.byHash.get(hex);
    if (this.stored === undefined) return entry;
    const version = this.stored.version();
    if (entry !== undefined && (entry.pending || entry.checked === version)) return entry;
    const stored = this.stored;
    const { result: row, ended } = await this.readStored(() => stored.load(hash));
    // What this table holds now: the read let other requests run (one may have ended, issued or adopted it).
    entry = this.byHash.get(hex);
    if (entry !== undefined && entry.pending) return entry;
    // Ended here (BYE, logout) while its row was read, or before its removal committed: the row read is stale.
    if (entry === undefined && ended.has(hex)) return undefined;
    if (entry !== undefined && row === undefined) {
      this.drop(hex);
      return undefined;
    }
    if (row === undefined) return undefined;
    if (entry === undefined) return this.adopt(hex, hash, row, version);
    entry.checked = version;
    entry.grant.expires = Math.max(entry.grant.expires, row.grant.expires);
    return entry;
  }

  /** Keeps a stored grant here, at the end of its owner's order. */
  private adopt(hex: string, hash: Buffer, row: GrantRow, version: number): Entry {
    const entry: Entry = { hash, grant: row.grant, issuedAt: row.issuedAt, checked: version, pending: false, storedExpires: row.grant.expires };
    if (row.owner !== undefined) {
      entry.owner = row.owner;
      let owned = this.byOwner.get(row.owner);
      if (owned === undefined) this.byOwner.set(row.owner, (owned = new Set()));
      owned.add(hex);
    }
    this.byHash.set(hex, entry);
    this.keys.set(row.grant, hex);
    this.adopted.add(hex);
    if (this.adopted.size > MAX_ADOPTED) {
      const oldest = this.adopted.values().next().value!;
      this.drop(oldest);
      // Its owner's count is read from the store again before the next limit decision.
      this.ownersRead.clear();
    }
    return entry;
  }

  /**
   * Before a limit counts an owner's grants: those stored (by a past run, another node) are read in, soonest
   * expiry first, when another connection committed since they were last read. A row this table ended
   * (its removal not committed when the read began, or ended while it ran) is not taken back.
   */
  private async readOwner(owner: string): Promise<void> {
    if (this.stored === undefined) return;
    const version = this.stored.version();
    if (this.ownersRead.get(owner) === version) return;
    const stored = this.stored;
    const { result: rows, ended } = await this.readStored(() => stored.owned(owner, this.now()));
    const mine = this.byOwner.get(owner);
    // Read in order: the stored ones (soonest first) ahead of those this process holds (most recently used last).
    const ordered = new Set<string>();
    for (const { digest: d, row } of rows) {
      const hex = d.toString('hex');
      if (ended.has(hex)) continue;
      if (!this.byHash.has(hex)) this.adopt(hex, d, row, version);
      if (!mine?.has(hex)) ordered.add(hex);
    }
    for (const hex of mine ?? []) ordered.add(hex);
    this.byOwner.set(owner, ordered);
    this.ownersRead.set(owner, version);
    if (this.ownersRead.size > 10_000) this.ownersRead.clear();
  }

  /**
   * A read of stored grants, with the digests ended here that it may still have seen: those whose removal had not
   * committed when it began, and those ended (held here or not) while it ran.
   */
  private async readStored<T>(read: () => Promise<T>): Promise<{ result: T; ended: Set<string> }> {
    const ended = new Set(this.removing);
    this.reading.add(ended);
    try {
      return { result: await read(), ended };
    } finally {
      this.reading.delete(ended);
    }
  }

  /** Removes grants' rows; until that has committed their digests are in `removing` (see readStored()). */
  private async removeStored(hashes: Buffer[]): Promise<void> {
    if (this.stored === undefined || hashes.length === 0) return;
    const hexes = hashes.map((h) => h.toString('hex'));
    for (const hex of hexes) {
      this.removing.add(hex);
      for (const ended of this.reading) ended.add(hex);
    }
    try {
      await this.stored.remove(hashes);
    } finally {
      for (const hex of hexes) this.removing.delete(hex);
    }
  }

  private drop(hex: string): boolean {
    const entry = this.byHash.get(hex);
    if (entry === undefined) return false;
    for (const ended of this.reading) ended.add(hex);
    this.byHash.delete(hex);
    this.adopted.delete(hex);
    if (entry.owner !== undefined) {
      const owned = this.byOwner.get(entry.owner)!;
      owned.delete(hex);
      if (owned.size === 0) this.byOwner.delete(entry.owner);
    }
    return true;
  }

  /** A used sliding grant now expires last among its owner's: to the end of the order. */
  private touch(hex: string, entry: Entry): void {
    if (entry.owner === undefined) return;
    const owned = this.byOwner.get(entry.owner)!;
    owned.delete(hex);
    owned.add(hex);
  }
}
