/**
 * How the PostgreSQL backend talks to the server: statements named by a
 * digest of their text (node-postgres then parses each once per connection
 * and reuses it), 64-bit integers as numbers, and the SQLSTATEs the port
 * gives a meaning to.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { QueryResultRow } from 'pg';

/** A pool (reads outside a transaction) or one transaction's connection. */
export interface Queryable {
  query<R extends QueryResultRow>(config: { name?: string; text: string; values?: unknown[] }): Promise<pg.QueryResult<R>>;
}

/**
 * bigint columns (oids, ids, times in ms) as numbers: every one stays below 2^53 (oids and ids count up from 1,
 * times are milliseconds since 1970), so the conversion is exact; count(*) is a bigint too.
 */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

const names = new Map<string, string>();

/** The statement's name: the same text, the same name, on every connection. */
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `c${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  return name;
}

/** The rows of a statement, parsed once per connection. */
export async function rowsOf<R extends QueryResultRow>(db: Queryable, text: string, values: unknown[]): Promise<R[]> {
  return (await db.query<R>({ name: nameOf(text), text, values })).rows;
}

/** The first column of the first row, or undefined. */
export async function scalar<T>(db: Queryable, text: string, values: unknown[]): Promise<T | undefined> {
  const rows = await rowsOf<Record<string, unknown>>(db, text, values);
  const row = rows[0];
  return row === undefined ? undefined : (Object.values(row)[0] as T);
}

/** How many rows a statement changed. */
export async function changed(db: Queryable, text: string, values: unknown[]): Promise<number> {
  return (await db.query({ name: nameOf(text), text, values })).rowCount ?? 0;
}

const sqlState = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

/** serialization_failure or deadlock_detected: the transaction may succeed if run again. */
export const isConflict = (err: unknown): boolean => sqlState(err) === '40001' || sqlState(err) === '40P01';

/** unique_violation. */
export const isUniqueFailure = (err: unknown): boolean => sqlState(err) === '23505';

/**
 * Where an exact match of a value can use props_find, whose entries are the values up to 2000 bytes: the
 * index's own condition, repeated, lets the planner choose it.
 */
export function valueEquals(column: string, param: string, value: string): string {
  return Buffer.byteLength(value) <= 2000 ? `${column} = ${param} AND octet_length(${column}) <= 2000` : `${column} = ${param}`;
}
