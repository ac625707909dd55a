/**
 * Counts rows in the store of a state folder, the daemon stopped or running: its SQLite file, or under
 * TEST_STORE=postgres the database a daemon on that folder uses (test/helpers/postgres.ts). For the tests that
 * check what a console command removed; the tables are the same on both backends.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { onPostgres, type TestDaemon } from './daemon.js';
import { sqliteOf } from './sqlite.js';
import { daemonDatabase } from './postgres.js';

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/** Runs `fn` with queries on the store of `stateDir` (read only on SQLite), then closes the connection. */
export async function withStoreRows<R>(stateDir: string, fn: (query: Query) => Promise<R>): Promise<R> {
  if (onPostgres) {
    const client = new pg.Client({ connectionString: await daemonDatabase(stateDir) });
    await client.connect();
    try {
      return await fn(async (sql) => (await client.query(sql)).rows);
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(stateDir, 'cced.db'), { readonly: true });
  try {
    return await fn(async (sql) => db.prepare(sql).all() as Record<string, unknown>[]);
  } finally {
    db.close();
  }
}

/** Each query is a `SELECT count(*) AS n ...`; the answer has the same keys with the counts. */
export function countRows<K extends string>(stateDir: string, queries: Record<K, string>): Promise<Record<K, number>> {
  return withStoreRows(stateDir, async (query) => {
    const counts = {} as Record<K, number>;
    for (const [k, sql] of Object.entries(queries) as [K, string][]) counts[k] = Number((await query(sql))[0]!.n);
    return counts;
  });
}

/** Every row of every table of a PostgreSQL store, as text (the SQLite counterpart is reading the file's bytes). */
export async function postgresStoreText(stateDir: string): Promise<string> {
  const client = new pg.Client({ connectionString: await daemonDatabase(stateDir) });
  await client.connect();
  try {
    const tables = (await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")).rows;
    const parts: string[] = [];
    for (const { name } of tables) {
      const rows = (await client.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`)).rows;
      parts.push(`${name}\n${rows.map((r) => r.row).join('\n')}`);
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}

/** Takes the store's tables away under a running daemon on PostgreSQL (its SQLite counterpart closes the connection). */
export async function dropPostgresStore(stateDir: string): Promise<void> {
  const client = new pg.Client({ connectionString: await daemonDatabase(stateDir) });
  await client.connect();
  try {
    await client.query('DO $$ BEGIN EXECUTE format(\'DROP SCHEMA %I CASCADE\', current_schema()); END $$');
  } finally {
    await client.end();
  }
}

/** The rows a query answers in a running daemon's store: through its own SQLite connection, or its PostgreSQL database. */
export async function rowsOf(d: TestDaemon, sql: string): Promise<unknown[]> {
  if (d.config.db_url === '') return sqliteOf(d.app.services.store).prepare(sql).all();
  const client = new pg.Client({ connectionString: d.config.db_url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
