/** The change log, grants and device events on PostgreSQL (migrations.ts): SQLite's statements (sqlite/changes.ts, grants.ts, events.ts) in PostgreSQL's terms. */
import type { ChangeRow, DeviceEvent, GrantRecord } from '../port.js';
import type { AsyncChangeWrites, AsyncEventWrites, AsyncGrantWrites } from '../async-port.js';
import { changed, rowsOf, scalar, type Queryable } from './query.js';

export class PgChanges implements AsyncChangeWrites {
  constructor(private readonly db: Queryable) {}

  async insert(at: number, className: string, oid: number, ns: string, props: string, created: boolean, destroyed: boolean): Promise<number> {
    return (await scalar<number>(
      this.db,
      'INSERT INTO changes (at, class, oid, ns, props, created, destroyed) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [at, className, oid, ns, props, created ? 1 : 0, destroyed ? 1 : 0],
    ))!;
  }

  after(from: number, to: number, limit: number): Promise<ChangeRow[]> {
    return rowsOf<ChangeRow>(this.db, 'SELECT id, at, class, oid, ns, props, created, destroyed FROM changes WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3', [from, to, limit]);
  }

  /** The sequence's last value once it handed one out (0 before). */
  async sequence(): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM changes_id_seq', [])) ?? 0;
  }

  async oldest(): Promise<number | null> {
    return (await scalar<number | null>(this.db, 'SELECT min(id) FROM changes', [])) ?? null;
  }

  async ageBound(below: number, before: number): Promise<number | null> {
    return (await scalar<number | null>(this.db, 'SELECT max(id) FROM changes WHERE id < $1 AND at < $2', [below, before])) ?? null;
  }

  prune(through: number): Promise<number> {
    return changed(this.db, 'DELETE FROM changes WHERE id <= $1', [through]);
  }
}

const GRANT_COLUMNS = 'digest, kind, user_oid, user_name, origin, bound_to, admin, owner, issued_at, expires_at, lifetime_ms, sliding';

export class PgGrants implements AsyncGrantWrites {
  constructor(private readonly db: Queryable) {}

  async put(g: GrantRecord): Promise<void> {
    await changed(
      this.db,
      `INSERT INTO grants (${GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (digest) DO UPDATE SET ` +
        'kind = excluded.kind, user_oid = excluded.user_oid, user_name = excluded.user_name, origin = excluded.origin, bound_to = excluded.bound_to, ' +
        'admin = excluded.admin, owner = excluded.owner, issued_at = excluded.issued_at, expires_at = excluded.expires_at, lifetime_ms = excluded.lifetime_ms, sliding = excluded.sliding',
      [g.digest, g.kind, g.user_oid, g.user_name, g.origin, g.bound_to, g.admin, g.owner, g.issued_at, g.expires_at, g.lifetime_ms, g.sliding],
    );
  }

  async get(digest: Buffer): Promise<GrantRecord | undefined> {
    return (await rowsOf<GrantRecord>(this.db, `SELECT ${GRANT_COLUMNS} FROM grants WHERE digest = $1`, [digest]))[0];
  }

  ofOwner(owner: string, now: number): Promise<GrantRecord[]> {
    return rowsOf<GrantRecord>(this.db, `SELECT ${GRANT_COLUMNS} FROM grants WHERE owner = $1 AND expires_at > $2 ORDER BY expires_at, issued_at`, [owner, now]);
  }

  async remove(digest: Buffer): Promise<void> {
    await changed(this.db, 'DELETE FROM grants WHERE digest = $1', [digest]);
  }

  /** `IS DISTINCT FROM`: a NULL keep (no grant kept) keeps none. */
  removeUser(userOid: number, keep: Buffer | undefined): Promise<number> {
    return changed(this.db, 'DELETE FROM grants WHERE user_oid = $1 AND digest IS DISTINCT FROM $2::bytea', [userOid, keep ?? null]);
  }

  async extend(digest: Buffer, expires: number): Promise<void> {
    await changed(this.db, 'UPDATE grants SET expires_at = $2 WHERE digest = $1 AND expires_at < $2', [digest, expires]);
  }

  async expired(now: number): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM grants WHERE expires_at <= $1', [now])) ?? 0;
  }

  removeExpired(now: number): Promise<number> {
    return changed(this.db, 'DELETE FROM grants WHERE expires_at <= $1', [now]);
  }
}

const EVENT_COLUMNS = 'at, event, host, remote';

export class PgDeviceEvents implements AsyncEventWrites {
  constructor(private readonly db: Queryable) {}

  async append(deviceOid: number, e: DeviceEvent, keep: number): Promise<void> {
    await changed(this.db, 'INSERT INTO device_events (device_oid, at, event, host, remote) VALUES ($1, $2, $3, $4, $5)', [deviceOid, e.at, e.event, e.host, e.remote]);
    // Everything older than the newest `keep` rows of the device; a NULL bound (fewer rows) deletes nothing.
    await changed(
      this.db,
      'DELETE FROM device_events WHERE device_oid = $1 AND id < (SELECT id FROM device_events WHERE device_oid = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)',
      [deviceOid, keep - 1],
    );
  }

  list(deviceOid: number, limit: number): Promise<DeviceEvent[]> {
    return rowsOf<DeviceEvent>(this.db, `SELECT ${EVENT_COLUMNS} FROM device_events WHERE device_oid = $1 ORDER BY id DESC LIMIT $2`, [deviceOid, limit]);
  }

  async latest(deviceOid: number): Promise<DeviceEvent | undefined> {
    return (await this.list(deviceOid, 1))[0];
  }

  purge(deviceOid: number): Promise<number> {
    return changed(this.db, 'DELETE FROM device_events WHERE device_oid = $1', [deviceOid]);
  }

  async count(): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM device_events', [])) ?? 0;
  }

  async countBefore(at: number): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM device_events WHERE at < $1', [at])) ?? 0;
  }

  deleteBefore(at: number): Promise<number> {
    return changed(this.db, 'DELETE FROM device_events WHERE at < $1', [at]);
  }
}
