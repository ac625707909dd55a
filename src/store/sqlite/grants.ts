/** GrantRows on SQLite (migration 5): sessions, LOGIN tokens and bearer grants by the SHA-256 of their secret. */
import type { Db } from './db.js';
import type { GrantRecord, GrantRows } from '../port.js';

export class SqliteGrants implements GrantRows {
  private readonly st;

  constructor(db: Db) {
    this.st = {
      insert: db.prepare(
        `INSERT OR REPLACE INTO grants (digest, kind, user_oid, user_name, origin, bound_to, admin, owner, issued_at, expires_at, lifetime_ms, sliding)
         VALUES (@digest, @kind, @user_oid, @user_name, @origin, @bound_to, @admin, @owner, @issued_at, @expires_at, @lifetime_ms, @sliding)`,
      ),
      get: db.prepare('SELECT * FROM grants WHERE digest = ?'),
      ofOwner: db.prepare('SELECT * FROM grants WHERE owner = ? AND expires_at > ? ORDER BY expires_at, issued_at'),
      remove: db.prepare('DELETE FROM grants WHERE digest = ?'),
      // `IS NOT`: a NULL keep (no grant kept) keeps none.
      removeUser: db.prepare('DELETE FROM grants WHERE user_oid = ? AND digest IS NOT ?'),
      touch: db.prepare('UPDATE grants SET expires_at = ? WHERE digest = ? AND expires_at < ?'),
      expired: db.prepare('SELECT count(*) FROM grants WHERE expires_at <= ?').pluck(),
      removeExpired: db.prepare('DELETE FROM grants WHERE expires_at <= ?'),
    };
  }

  put(row: GrantRecord): void {
    this.st.insert.run(row);
  }

  get(digest: Buffer): GrantRecord | undefined {
    return this.st.get.get(digest) as GrantRecord | undefined;
  }

  ofOwner(owner: string, now: number): GrantRecord[] {
    return this.st.ofOwner.all(owner, now) as GrantRecord[];
  }

  remove(digest: Buffer): void {
    this.st.remove.run(digest);
  }

  removeUser(userOid: number, keep: Buffer | undefined): number {
    return this.st.removeUser.run(userOid, keep ?? null).changes;
  }

  extend(digest: Buffer, expires: number): void {
    this.st.touch.run(expires, digest, expires);
  }

  expired(now: number): number {
    return this.st.expired.get(now) as number;
  }

  removeExpired(now: number): number {
    return this.st.removeExpired.run(now).changes;
  }
}
