/**
 * Objects, properties, credentials and settings on PostgreSQL (the tables of
 * migrations.ts), over a pool (reads) or one transaction's connection (reads
 * and writes). The statements are SQLite's (sqlite/objects.ts) in
 * PostgreSQL's terms; the two conditional updates hold their invariant in
 * the database, whichever node runs them.
 */
import type { PageStart, FindSpec, PatternTest } from '../port.js';
import { UniqueViolation, type AsyncFindRun, type AsyncObjectWrites } from '../async-port.js';
import { prefixEnd } from '../sqlite/objects.js';
import { changed, isUniqueFailure, rowsOf, scalar, valueEquals, type Queryable } from './query.js';
import { compilePgFind } from './find.js';

/** The matcher `~` runs, shared by the backend and each transaction's rows. */
export interface MatcherRef {
  test: PatternTest;
  /** The matcher of the search now current (its time goes with it): taken when a find's statement starts. */
  current?: () => PatternTest;
}

export class PgObjects implements AsyncObjectWrites {
  /** `touched`: a transaction's touches, made by its COMMIT message (see touch()); none: each at once. */
  constructor(
    private readonly db: Queryable,
    private readonly matcher: MatcherRef,
    private readonly touched?: Touches,
  ) {}

  classOf(oid: number): Promise<string | undefined> {
    return scalar<string>(this.db, 'SELECT class FROM objects WHERE oid = $1', [oid]);
  }

  async classAndValues(oid: number, ns: string): Promise<{ className: string; values: Record<string, unknown> } | undefined> {
    const [row] = await rowsOf<{ class: string; v: Record<string, unknown> | null }>(
      this.db,
      'SELECT o.class, (SELECT json_object_agg(p.name, p.value) FROM props p WHERE p.oid = o.oid AND p.ns = $2) AS v FROM objects o WHERE o.oid = $1',
      [oid, ns],
    );
    return row && { className: row.class, values: row.v ?? {} };
  }

  async values(oid: number, ns: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const r of await rowsOf<{ name: string; value: string }>(this.db, 'SELECT name, value FROM props WHERE oid = $1 AND ns = $2', [oid, ns])) out[r.name] = r.value;
    return out;
  }

  async classesOf(oids: readonly number[]): Promise<{ oid: number; className: string }[]> {
    const rows = await rowsOf<{ oid: number; class: string }>(this.db, 'SELECT oid, class FROM objects WHERE oid = ANY($1::bigint[]) ORDER BY oid', [oids]);
    return rows.map((r) => ({ oid: r.oid, className: r.class }));
  }

  async namespacesOf(oids: readonly number[]): Promise<[number, string, Record<string, unknown>][]> {
    const rows = await rowsOf<{ oid: number; ns: string; v: Record<string, unknown> }>(
      this.db,
      'SELECT oid, ns, json_object_agg(name, value) AS v FROM props WHERE oid = ANY($1::bigint[]) GROUP BY oid, ns ORDER BY oid, ns',
      [oids],
    );
    return rows.map((r) => [r.oid, r.ns, r.v]);
  }

  value(oid: number, ns: string, name: string): Promise<string | undefined> {
    return scalar<string>(this.db, 'SELECT value FROM props WHERE oid = $1 AND ns = $2 AND name = $3', [oid, ns, name]);
  }

  async firstWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): Promise<{ oid: number; values: Record<string, unknown> } | undefined> {
    const [row] = await rowsOf<{ oid: number; v: Record<string, unknown> | null }>(
      this.db,
      "SELECT d.oid, (SELECT json_object_agg(p.name, p.value) FROM props p WHERE p.oid = d.oid AND p.ns = '' AND p.name = ANY($5::text[])) AS v " +
        `FROM props d WHERE d.class = $1 AND d.ns = $2 AND d.name = $3 AND ${valueEquals('d.value', '$4', value)} ORDER BY d.oid LIMIT 1`,
      [className, ns, name, value, fields],
    );
    return row && { oid: row.oid, values: row.v ?? {} };
  }

  holderOf(className: string, ns: string, name: string, value: string, except: number): Promise<number | undefined> {
    return scalar<number>(
      this.db,
      `SELECT oid FROM props WHERE class = $1 AND ns = $2 AND name = $3 AND ${valueEquals('value', '$4', value)} AND oid <> $5 LIMIT 1`,
      [className, ns, name, value, except],
    );
  }

  credential(oid: number, name: string): Promise<string | undefined> {
    return scalar<string>(this.db, 'SELECT hash FROM credentials WHERE oid = $1 AND name = $2', [oid, name]);
  }

  setting(key: string): Promise<string | undefined> {
    return scalar<string>(this.db, 'SELECT value FROM settings WHERE key = $1', [key]);
  }

  /**
   * count(*) over the class index rather than SQLite's class_counts row: one row every CREATE and DESTROY of a
   * class updates would make concurrent writers of that class conflict on it, across every node.
   */
  async count(): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM objects', [])) ?? 0;
  }

  async classCount(className: string): Promise<number> {
    return (await scalar<number>(this.db, 'SELECT count(*) FROM objects WHERE class = $1', [className])) ?? 0;
  }

  find(spec: FindSpec): AsyncFindRun {
    return compilePgFind(this.db, spec, this.matcher);
  }

  async pageCount(className: string, by: string, prefix: string): Promise<number> {
    const { where, params } = pageWhere(className, by, prefix);
    return (await scalar<number>(this.db, `SELECT count(*) ${where}`, params)) ?? 0;
  }

  pageRows(className: string, by: string, prefix: string, start: PageStart, limit: number): Promise<{ oid: number; value: string }[]> {
    const { where, params } = pageWhere(className, by, prefix);
    const n = params.length;
    if ('offset' in start) {
      return rowsOf(this.db, `SELECT oid, value ${where} ORDER BY value, oid LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, limit, start.offset]);
    }
    const past = start.inclusive ? '>=' : '>';
    return rowsOf(this.db, `SELECT oid, value ${where} AND (value, oid) ${past} ($${n + 1}, $${n + 2}) ORDER BY value, oid LIMIT $${n + 3} OFFSET $${n + 4}`, [
      ...params,
      start.value,
      start.oid,
      limit,
      start.skip ?? 0,
    ]);
  }

  /** From the sequence: unique across every node, never handed out again even if this transaction rolls back. */
  async insertObject(className: string, now: number, at?: number): Promise<number> {
    if (at !== undefined) return (await scalar<number>(this.db, 'INSERT INTO objects (oid, class, created_at, updated_at) VALUES ($3, $1, $2, $2) RETURNING oid', [className, now, at]))!;
    return (await scalar<number>(this.db, 'INSERT INTO objects (class, created_at, updated_at) VALUES ($1, $2, $2) RETURNING oid', [className, now]))!;
  }

  /**
   * In a transaction, kept for its COMMIT message (touchesStatement): nothing reads updated_at on this backend
   * before the commit, and a SET then costs one round trip fewer inside its transaction.
   */
  async touch(oid: number, now: number): Promise<void> {
    if (this.touched !== undefined) this.touched.touch(oid, now);
    else await changed(this.db, 'UPDATE objects SET updated_at = $2 WHERE oid = $1', [oid, now]);
  }

  async putValue(oid: number, ns: string, name: string, className: string, value: string): Promise<void> {
    await uniqueAs(className, ns, name, () =>
      changed(this.db, 'INSERT INTO props (oid, ns, name, class, value) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value', [
        oid,
        ns,
        name,
        className,
        value,
      ]),
    );
  }

  /**
   * One round trip: both upserts and the previous last_seen (every part of one statement reads the snapshot from
   * before its writes). An unchanged address is not rewritten. The touch as touch() makes it.
   */
  async putBeat(oid: number, className: string, lastSeen: string, ipAddress: string, now: number): Promise<string | undefined> {
    await this.touch(oid, now);
    return scalar<string>(
      this.db,
      "WITH beat AS (INSERT INTO props (oid, ns, name, class, value) VALUES ($1, '', 'last_seen', $2, $3), ($1, '', 'ip_address', $2, $4) " +
        'ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value WHERE props.value IS DISTINCT FROM excluded.value) ' +
        "SELECT value FROM props WHERE oid = $1 AND ns = '' AND name = 'last_seen'",
      [oid, className, lastSeen, ipAddress],
    );
  }

  async deleteObject(oid: number): Promise<void> {
    await changed(this.db, 'DELETE FROM props WHERE oid = $1', [oid]);
    await changed(this.db, 'DELETE FROM credentials WHERE oid = $1', [oid]);
    await changed(this.db, 'DELETE FROM objects WHERE oid = $1', [oid]);
  }

  async putCredential(oid: number, name: string, hash: string, now: number): Promise<void> {
    await changed(
      this.db,
      'INSERT INTO credentials (oid, name, hash, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (oid, name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
      [oid, name, hash, now],
    );
  }

  async putSetting(key: string, value: string | undefined): Promise<void> {
    if (value === undefined) await changed(this.db, 'DELETE FROM settings WHERE key = $1', [key]);
    else await changed(this.db, 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  /** The row is locked by the UPDATE: of N concurrent takers of the last token exactly one gets it. */
  async decrement(oid: number, ns: string, name: string): Promise<number | undefined> {
    const left = await scalar<string>(
      this.db,
      "UPDATE props SET value = (value::bigint - 1)::text WHERE oid = $1 AND ns = $2 AND name = $3 AND value ~ '^[0-9]{1,15}$' " +
        "AND (CASE WHEN value ~ '^[0-9]{1,15}$' THEN value::bigint ELSE 0 END) > 0 RETURNING value",
      [oid, ns, name],
    );
    return left === undefined ? undefined : Number(left);
  }

  /** Expecting '' (a missing row counts as ''): inserted if missing, else updated if it is ''; otherwise updated if it holds `expected`. */
  async compareAndSet(oid: number, ns: string, name: string, className: string, expected: string, value: string): Promise<boolean> {
    const n = await uniqueAs(className, ns, name, () =>
      expected === ''
        ? changed(
            this.db,
            'INSERT INTO props (oid, ns, name, class, value) SELECT oid, $2, $3, class, $4 FROM objects WHERE oid = $1 ' +
              "ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value WHERE props.value = ''",
            [oid, ns, name, value],
          )
        : changed(this.db, 'UPDATE props SET value = $5 WHERE oid = $1 AND ns = $2 AND name = $3 AND value = $4', [oid, ns, name, expected, value]),
    );
    return n > 0;
  }
}

/** A unique index's refusal as the port's error, naming the property. */
async function uniqueAs<T>(className: string, ns: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw isUniqueFailure(err) ? new UniqueViolation(className, ns, name) : err;
  }
}

function pageWhere(className: string, by: string, prefix: string): { where: string; params: unknown[] } {
  const range = prefix === '' ? '' : ' AND value >= $4 AND value < $5';
  return { where: `FROM props WHERE class = $1 AND ns = $2 AND name = $3${range}`, params: [className, '', by, ...(prefix === '' ? [] : [prefix, prefixEnd(prefix)])] };
}

/**
 * A transaction's touches (oid -> updated_at), made by its COMMIT message, with an undo log so that a savepoint
 * rolled back takes its own back in the time it took to make them (a COMMIT of 10,000 queued SETs is 10,000).
 */
export class Touches {
  private readonly at = new Map<number, number>();
  private readonly undo: [oid: number, before: number | undefined][] = [];

  get size(): number {
    return this.at.size;
  }

  touch(oid: number, now: number): void {
    const before = this.at.get(oid);
    if (before !== undefined && before >= now) return;
    this.undo.push([oid, before]);
    this.at.set(oid, now);
  }

  /** Where a savepoint begins. */
  mark(): number {
    return this.undo.length;
  }

  /** Undoes the touches made since `mark` (its savepoint rolled back). */
  rollbackTo(mark: number): void {
    while (this.undo.length > mark) {
      const [oid, before] = this.undo.pop()!;
      if (before === undefined) this.at.delete(oid);
      else this.at.set(oid, before);
    }
  }

  /** One statement of the COMMIT message (literals: that message takes no parameters). */
  statement(): string {
    const values = [...this.at].map(([oid, at]) => `(${safeInteger(oid)}::bigint, ${safeInteger(at)}::bigint)`);
    return `UPDATE objects SET updated_at = v.at FROM (VALUES ${values.join(', ')}) AS v(oid, at) WHERE objects.oid = v.oid`;
  }
}

/** A whole number as SQL (an oid, a time in ms). */
export function safeInteger(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return String(n);
}
