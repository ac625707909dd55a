/** The change log, grants and device events on PostgreSQL (migrations.ts): SQLite's statements (sqlite/changes.ts, grants.ts, events.ts) in PostgreSQL's terms. */
import type { ChangeRow, DeviceEvent, GrantRecord } from '../port.js';
import { BEGIN_HOLDER_PREFIX, type AsyncChangeWrites, type AsyncEventWrites, type AsyncGrantWrites, type NewChange } from '../async-port.js';
import pg from 'pg';
import { changed, rowsOf, scalar, type Queryable } from './query.js';
import { CHANGE_LOG_LOCK } from './migrations.js';
import { safeInteger } from './objects.js';

/**
 * The change log in commit order across nodes. Ids come from a sequence, which alone hands them out in the
 * order transactions insert, not the order they commit: a reader could be told of id 11, committed, while
 * id 10 of a transaction still open commits later, and pass it forever. So a transaction takes the change
 * log's advisory lock (per schema) before its first row, and holds it until it commits or rolls back: one
 * transaction at a time takes ids, each commits before the next takes its first, and every id below a
 * committed one is committed (or was rolled back) before that one. The store inserts a batch's rows just
 * before its COMMIT, so the lock covers those inserts and the COMMIT only.
 */
export class PgChanges implements AsyncChangeWrites {
  /**
   * `inTransaction`: the rows of one transaction's connection (writes allowed); otherwise the pool's (reads).
   * `atCommit`: where that transaction keeps the rows its COMMIT message inserts (insertAtCommit).
   */
  constructor(
    private readonly db: Queryable,
    private readonly inTransaction = false,
    private readonly atCommit?: NewChange[],
    /** Whether this transaction kept rows in its temporary table (insertHeld): its COMMIT message inserts them. */
    private readonly held?: { rows: boolean },
  ) {}

  /** Into a temporary table of this transaction (dropped at its end); the COMMIT message moves them (heldRowsStatement). */
  async insertHeld(row: NewChange): Promise<void> {
    this.writable();
    if (this.held === undefined) throw new Error('this transaction cannot hold change rows for its COMMIT');
    if (!this.held.rows) {
      await changed(this.db, `CREATE TEMPORARY TABLE IF NOT EXISTS ${HELD_TABLE} (n bigserial, at bigint, class text, oid bigint, ns text, props text, created integer, destroyed integer) ON COMMIT DROP`, []);
      this.held.rows = true;
    }
    await changed(this.db, `INSERT INTO ${HELD_TABLE} (at, class, oid, ns, props, created, destroyed) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      row.at,
      row.className,
      row.oid,
      row.ns,
      row.props,
      row.created ? 1 : 0,
      row.destroyed ? 1 : 0,
    ]);
  }

  /** The rows go in the COMMIT's own message (PgBackend, changeRowsStatement): the lock is held for no round trip. */
  insertAtCommit(rows: readonly NewChange[]): void {
    this.writable();
    if (this.atCommit === undefined) throw new Error('this transaction cannot insert change rows at its COMMIT');
    // A loop, not push(...): a spread of a large transaction's rows (an import's) overflows the call stack.
    for (const row of rows) this.atCommit.push(row);
  }

  /**
   * The lock and the row in one statement (one round trip): the row is projected from the CTE's one row, so
   * its id (the column's nextval) is taken once the lock is held. Taking it again in the same transaction
   * finds it held already.
   */
  async insert(at: number, className: string, oid: number, ns: string, props: string, created: boolean, destroyed: boolean): Promise<number> {
    this.writable();
    return (await scalar<number>(
      this.db,
      `WITH locked AS (SELECT pg_advisory_xact_lock(${CHANGE_LOG_LOCK}, hashtext(current_schema()))) ` +
        'INSERT INTO changes (at, class, oid, ns, props, created, destroyed) SELECT $1, $2, $3, $4, $5, $6, $7 FROM locked RETURNING id',
      [at, className, oid, ns, props, created ? 1 : 0, destroyed ? 1 : 0],
    ))!;
  }

  /** In the order given (WITH ORDINALITY): each row's nextval is taken in that order, after the lock. */
  async insertMany(rows: readonly NewChange[]): Promise<number[]> {
    this.writable();
    if (rows.length === 0) return [];
    const column = <K extends keyof NewChange>(k: K) => rows.map((r) => r[k]);
    const ids = await rowsOf<{ id: number }>(
      this.db,
      lockedChangeInsert(
        'unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::integer[]) WITH ORDINALITY AS r(at, class, oid, ns, props, created, destroyed, n)',
      ) + ' RETURNING id',
      [column('at'), column('className'), column('oid'), column('ns'), column('props'), rows.map((r) => (r.created ? 1 : 0)), rows.map((r) => (r.destroyed ? 1 : 0))],
    );
    return ids.map((r) => r.id).sort((x, y) => x - y);
  }

  after(from: number, to: number, limit: number): Promise<ChangeRow[]> {
    return rowsOf<ChangeRow>(this.db, 'SELECT id, at, class, oid, ns, props, created, destroyed FROM changes WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3', [from, to, limit]);
  }

  /**
   * The highest committed id (0: none): the newest row, or the newest pruning removed. Not the sequence's
   * last value, which may be an id of a transaction still open; with ids in commit order, every id below
   * this one a reader will ever see is already visible.
   */
  async sequence(): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT greatest(coalesce((SELECT max(id) FROM changes), 0), coalesce((SELECT through FROM changes_pruned), 0))', [])) ?? 0;
  }

  async destroyedSince(from: number | undefined): Promise<{ through: number; oids: number[]; complete: boolean }> {
    const [row] = await rowsOf<{ through: number; pruned: number; oids: string[] | null }>(
      this.db,
      'WITH p AS (SELECT coalesce((SELECT through FROM changes_pruned), 0) AS pruned), ' +
        't AS (SELECT greatest(coalesce((SELECT max(id) FROM changes), 0), p.pruned) AS through, p.pruned FROM p) ' +
        'SELECT t.through, t.pruned, ARRAY(SELECT oid FROM changes WHERE id > $1 AND id <= t.through AND destroyed = 1) AS oids FROM t',
      [from ?? 0],
    );
    const { through, pruned, oids } = row!;
    return { through, oids: (oids ?? []).map(Number), complete: from !== undefined && pruned <= from };
  }

  async oldest(): Promise<number | null> {
    return (await scalar<number | null>(this.db, 'SELECT min(id) FROM changes', [])) ?? null;
  }

  async ageBound(below: number, before: number): Promise<number | null> {
    return (await scalar<number | null>(this.db, 'SELECT max(id) FROM changes WHERE id < $1 AND at < $2', [below, before])) ?? null;
  }

  /** Records the highest id removed (changes_pruned), so sequence() never goes back. */
  async prune(through: number): Promise<number> {
    this.writable();
    return (
      (await scalar<number>(
        this.db,
        'WITH gone AS (DELETE FROM changes WHERE id <= $1 RETURNING id), ' +
          'kept AS (INSERT INTO changes_pruned (through) SELECT max(id) FROM gone HAVING count(*) > 0 ' +
          'ON CONFLICT (one) DO UPDATE SET through = greatest(changes_pruned.through, excluded.through)) ' +
          'SELECT count(*) FROM gone',
        [through],
      )) ?? 0
    );
  }

  private writable(): void {
    if (!this.inTransaction) throw new Error('the change log is written inside a transaction (its ids are handed out in commit order there)');
  }
}

/**
 * insertMany's statement with the rows written in as literals: it travels in one simple-query message with the
 * COMMIT, which takes no parameters. Ids are taken in the order given, after the lock, as in insertMany.
 */
export function changeRowsStatement(rows: readonly NewChange[]): string {
  const values = rows.map(
    (r, i) =>
      `(${i}, ${safeInteger(r.at)}::bigint, ${pg.escapeLiteral(r.className)}, ${safeInteger(r.oid)}::bigint, ${pg.escapeLiteral(r.ns)}, ${pg.escapeLiteral(r.props)}, ${r.created ? 1 : 0}, ${r.destroyed ? 1 : 0})`,
  );
  return lockedChangeInsert(`(VALUES ${values.join(', ')}) AS r(n, at, class, oid, ns, props, created, destroyed)`);
}

/** Where a transaction holds its change rows until its COMMIT (PgChanges.insertHeld). */
const HELD_TABLE = 'pg_temp.cced_held_changes';

/** The held rows into the change log, in the order held, under its lock: in the COMMIT's message. */
export const heldRowsStatement = lockedChangeInsert(`${HELD_TABLE} AS r`);

/** The change-log lock, then the rows of `source` (columns r.at … r.destroyed, order r.n) inserted in that order. */
function lockedChangeInsert(source: string): string {
  return (
    `WITH locked AS (SELECT pg_advisory_xact_lock(${CHANGE_LOG_LOCK}, hashtext(current_schema()))) ` +
    'INSERT INTO changes (at, class, oid, ns, props, created, destroyed) ' +
    `SELECT r.at, r.class, r.oid, r.ns, r.props, r.created, r.destroyed FROM locked, ${source} ORDER BY r.n`
  );
}

/**
 * After a `gone` CTE of removed grants' digests: removes the BEGIN rows of their sessions too (one statement),
 * and answers how many grants went.
 */
const WITH_BEGIN_ROWS =
  `, begins AS (DELETE FROM settings WHERE key IN (SELECT ${pg.escapeLiteral(BEGIN_HOLDER_PREFIX)} || encode(digest, 'hex') FROM gone)) ` + 'SELECT count(*) FROM gone';

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

  /** With the grant, the row naming the node holding its session's BEGIN (BEGIN_HOLDER_PREFIX), if any. */
  async remove(digest: Buffer): Promise<void> {
    await scalar(this.db, `WITH gone AS (DELETE FROM grants WHERE digest = $1 RETURNING digest) ${WITH_BEGIN_ROWS}`, [digest]);
  }

  /** `IS DISTINCT FROM`: a NULL keep (no grant kept) keeps none. */
  async removeUser(userOid: number, keep: Buffer | undefined): Promise<number> {
    return (await scalar<number>(this.db, `WITH gone AS (DELETE FROM grants WHERE user_oid = $1 AND digest IS DISTINCT FROM $2::bytea RETURNING digest) ${WITH_BEGIN_ROWS}`, [userOid, keep ?? null]))!;
  }

  async extend(digest: Buffer, expires: number): Promise<void> {
    await changed(this.db, 'UPDATE grants SET expires_at = $2 WHERE digest = $1 AND expires_at < $2', [digest, expires]);
  }

  async expired(now: number): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM grants WHERE expires_at <= $1', [now])) ?? 0;
  }

  async removeExpired(now: number): Promise<number> {
    return (await scalar<number>(this.db, `WITH gone AS (DELETE FROM grants WHERE expires_at <= $1 RETURNING digest) ${WITH_BEGIN_ROWS}`, [now]))!;
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
