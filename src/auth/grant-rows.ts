/**
 * The stored half of the grant table (migration 4): one row per session, LOGIN
 * token or bearer grant, found by the SHA-256 of its secret (never the secret
 * itself), so a restart or a second process on the same store keeps a grant
 * until it expires or is ended. SecretTable (src/auth/secrets.ts) keeps the
 * rows it has read in memory and checks them again only when another
 * connection has committed (SQLite's data_version): a request with a known
 * session costs no SQL.
 *
 * Writes go through the writer as upkeep (exempt from SUSPEND, like other
 * maintenance): a client may still log in and out while writes are suspended.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.js';
import type { Store } from '../store/store.js';
import type { Writer } from '../store/writer.js';
import type { Grant } from './secrets.js';

/** A grant as stored, with the key its limit counts under and when it was issued. */
export interface GrantRow {
  grant: Grant;
  owner: string | undefined;
  issuedAt: number;
}

interface RawRow {
  digest: Buffer;
  kind: 'session' | 'token';
  user_oid: number;
  user_name: string;
  origin: string;
  bound_to: string | null;
  admin: number;
  owner: string | null;
  issued_at: number;
  expires_at: number;
  lifetime_ms: number;
  sliding: number;
}

function fromRaw(r: RawRow): GrantRow {
  const grant: Grant = {
    kind: r.kind,
    userOid: r.user_oid,
    userName: r.user_name,
    origin: r.origin,
    ...(r.bound_to === null ? {} : { boundTo: r.bound_to }),
    ...(r.admin === 1 ? { admin: true } : {}),
    expires: r.expires_at,
    lifetimeMs: r.lifetime_ms,
    sliding: r.sliding === 1,
  };
  return { grant, owner: r.owner ?? undefined, issuedAt: r.issued_at };
}

/** The statements on the grants table, prepared once per connection. */
export class GrantStatements {
  readonly insert: Statement;
  readonly get: Statement;
  readonly ofOwner: Statement;
  readonly remove: Statement;
  readonly removeUser: Statement;
  readonly touch: Statement;
  readonly expired: Statement;
  readonly removeExpired: Statement;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT OR REPLACE INTO grants (digest, kind, user_oid, user_name, origin, bound_to, admin, owner, issued_at, expires_at, lifetime_ms, sliding)
       VALUES (@digest, @kind, @user_oid, @user_name, @origin, @bound_to, @admin, @owner, @issued_at, @expires_at, @lifetime_ms, @sliding)`,
    );
    this.get = db.prepare('SELECT * FROM grants WHERE digest = ?');
    this.ofOwner = db.prepare('SELECT * FROM grants WHERE owner = ? AND expires_at > ? ORDER BY expires_at, issued_at');
    this.remove = db.prepare('DELETE FROM grants WHERE digest = ?');
    // `IS NOT`: a NULL keep (no grant kept) keeps none.
    this.removeUser = db.prepare('DELETE FROM grants WHERE user_oid = ? AND digest IS NOT ?');
    this.touch = db.prepare('UPDATE grants SET expires_at = ? WHERE digest = ? AND expires_at < ?');
    this.expired = db.prepare('SELECT count(*) FROM grants WHERE expires_at <= ?').pluck();
    this.removeExpired = db.prepare('DELETE FROM grants WHERE expires_at <= ?');
  }
}

const statements = new WeakMap<Db, GrantStatements>();
export function grantStatements(db: Db): GrantStatements {
  let s = statements.get(db);
  if (s === undefined) statements.set(db, (s = new GrantStatements(db)));
  return s;
}

/**
 * Ends a user's stored grants inside the running write (src/users/lifecycle.ts):
 * they end with the write that disabled the user, in whichever process made it.
 */
export function removeUserGrants(db: Db, userOid: number, keep: Buffer | undefined): number {
  return grantStatements(db).removeUser.run(userOid, keep ?? null).changes;
}

/** What SecretTable asks of the store. */
export interface GrantPersistence {
  /** Changes whenever another connection committed (then what was read may be stale). */
  version(): number;
  load(digest: Buffer): GrantRow | undefined;
  /** The owner's live grants, soonest expiry first. */
  owned(owner: string, now: number): { digest: Buffer; row: GrantRow }[];
  save(digest: Buffer, row: GrantRow): Promise<void>;
  remove(digests: Buffer[]): Promise<void>;
  touch(digest: Buffer, expires: number): void;
}

/** GrantPersistence over the store, writing through the writer. */
export class StoredGrants implements GrantPersistence {
  private readonly sql: GrantStatements;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly writer: Writer,
    /** A write that failed (the store is failing): reported, never thrown at a request. */
    private readonly failed: (err: unknown) => void,
  ) {
    this.sql = grantStatements(store.db);
  }

  /** No more writes: the daemon is closing its database. */
  close(): void {
    this.closed = true;
  }

  version(): number {
    return this.store.externalVersion();
  }

  load(digest: Buffer): GrantRow | undefined {
    const r = this.sql.get.get(digest) as RawRow | undefined;
    return r && fromRaw(r);
  }

  owned(owner: string, now: number): { digest: Buffer; row: GrantRow }[] {
    return (this.sql.ofOwner.all(owner, now) as RawRow[]).map((r) => ({ digest: r.digest, row: fromRaw(r) }));
  }

  save(digest: Buffer, { grant: g, owner, issuedAt }: GrantRow): Promise<void> {
    const row = {
      digest,
      kind: g.kind,
      user_oid: g.userOid,
      user_name: g.userName,
      origin: g.origin,
      bound_to: g.boundTo ?? null,
      admin: g.admin === true ? 1 : 0,
      owner: owner ?? null,
      issued_at: issuedAt,
      expires_at: g.expires,
      lifetime_ms: g.lifetimeMs,
      sliding: g.sliding ? 1 : 0,
    };
    return this.write(() => void this.sql.insert.run(row));
  }

  remove(digests: Buffer[]): Promise<void> {
    return digests.length ? this.write(() => digests.forEach((d) => this.sql.remove.run(d))) : Promise.resolve();
  }

  touch(digest: Buffer, expires: number): void {
    void this.write(() => void this.sql.touch.run(expires, digest, expires));
  }

  private write(run: () => void): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.writer.maintenance(run).catch((err: unknown) => this.failed(err));
  }
}
