/**
 * What a refused request must leave untouched: every row of every table of the
 * daemon's store, read through a connection of the watch's own while the
 * daemon runs: its SQLite file (WAL lets both read at once), or under
 * TEST_STORE=postgres its PostgreSQL schema.
 *
 * A version that moves with every commit (SQLite's PRAGMA data_version, for
 * other connections' commits; PostgreSQL's WAL position) proves an unchanged
 * store without reading it while it stands still; when it moved, the rows are
 * hashed and compared (a commit of a batch whose only savepoint was rolled
 * back moves it yet changes nothing, as does a rolled-back transaction on
 * PostgreSQL, or the server's own upkeep there).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { onPostgres } from '../helpers/daemon.js';
import { daemonDatabase } from '../helpers/postgres.js';

export interface StoreDiff {
  /** Tables whose rows differ, each with a few of the rows that appeared or went. */
  tables: Record<string, { added: string[]; removed: string[] }>;
}

type Rows = Map<string, string[]>;

/**
 * The SELECT of a table's rows as compared. A sliding session's stored expiry
 * moves forward whenever the session is used (in steps: when it lags by more
 * than a tenth of its lifetime or a minute), and a request refused for what it
 * asked still used its session: on a run longer than a minute that is a write,
 * not a finding. Its expiry is left out; every other column of every row counts.
 */
function selectAll(table: string, grantsColumns: () => string[]): string {
  if (table !== 'grants') return `SELECT * FROM "${table}"`;
  const columns = grantsColumns().map((c) => (c === 'expires_at' ? 'CASE WHEN sliding = 1 THEN NULL ELSE expires_at END' : `"${c}"`));
  return `SELECT ${columns.join(', ')} FROM grants`;
}

/**
 * Tables that are not the store's state: SQLite's sqlite_sequence (a refused COMMIT raises the oid counter past
 * the oids its reply reported, by design, so they are never handed to another object: Store.sealOids; no object,
 * property or setting changes with it) and PostgreSQL's ban_counts (the failures the nodes share: a refused
 * credential is counted there by design, as it is in memory on SQLite).
 */
const NOT_STATE = ['sqlite_sequence', 'ban_counts'];

/**
 * Nor is which node holds a session's open BEGIN (PostgreSQL: a `begin:<digest>` setting, src/cluster/shared-begins.ts;
 * on SQLite the queue is only in memory): a COMMIT refused for its commands ends the transaction, by design.
 */
const isState = (table: string, row: string) => table !== 'settings' || !row.startsWith('["begin:');

/** A table's rows as compared: JSON lines, sorted, the rows that are not the store's state left out. */
function stateLines(table: string, rows: unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).filter((r) => isState(table, r)).sort();
}

function digestOf(rows: Rows): string {
  const h = createHash('sha256');
  for (const [t, lines] of rows) {
    h.update(`\u0000${t}\u0000`);
    for (const l of lines) h.update(l).update('\n');
  }
  return h.digest('hex');
}

export abstract class StoreWatch {
  private version: string | number | undefined;
  private rows: Rows | undefined;
  /** How many full digests were computed (the fuzz reports it). */
  digests = 0;

  /** Moves whenever the store may have changed. */
  protected abstract currentVersion(): Promise<string | number>;
  /** Every table's rows as JSON lines, sorted, from one consistent picture. */
  protected abstract readRows(): Promise<Rows>;
  abstract close(): Promise<void>;

  private snapshot(): Promise<Rows> {
    this.digests++;
    return this.readRows();
  }

  /** Reads the baseline again if anything was committed since: call before each request that may be refused. */
  async ready(): Promise<void> {
    const v = await this.currentVersion();
    if (this.rows !== undefined && v === this.version) return;
    this.rows = await this.snapshot();
    this.version = v;
  }

  /**
   * Call after a request (ready() came before it): a `refused` request must
   * not have changed the store. Returns the difference when it did.
   */
  async check(refused: boolean): Promise<StoreDiff | undefined> {
    const v = await this.currentVersion();
    if (v === this.version || !refused) return undefined;
    const before = this.rows!;
    const now = await this.snapshot();
    this.rows = now;
    this.version = v;
    if (digestOf(before) === digestOf(now)) return undefined;
    return diffRows(before, now);
  }
}

class SqliteWatch extends StoreWatch {
  private readonly db: Database.Database;

  constructor(file: string) {
    super();
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
  }

  protected currentVersion(): Promise<number> {
    return Promise.resolve(this.db.pragma('data_version', { simple: true }) as number);
  }

  protected readRows(): Promise<Rows> {
    const grantsColumns = () => this.db.prepare("SELECT name FROM pragma_table_info('grants')").pluck().all() as string[];
    return Promise.resolve(
      this.db.transaction(() => {
        const tables = this.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
        const out: Rows = new Map();
        for (const t of tables.filter((name) => !NOT_STATE.includes(name))) {
          out.set(t, stateLines(t, this.db.prepare(selectAll(t, grantsColumns)).raw().all() as unknown[][]));
        }
        return out;
      })(),
    );
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

class PostgresWatch extends StoreWatch {
  constructor(private readonly client: pg.Client) {
    super();
  }

  protected async currentVersion(): Promise<string> {
    return (await this.client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  }

  protected async readRows(): Promise<Rows> {
    const q = this.client;
    await q.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const tables = (await q.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")).rows;
      const grants = (await q.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'grants' ORDER BY ordinal_position")).rows;
      const out: Rows = new Map();
      for (const { name } of tables.filter((t) => !NOT_STATE.includes(t.name))) {
        const rows = await q.query<unknown[]>({ text: selectAll(name, () => grants.map(({ c }) => c)), rowMode: 'array' });
        out.set(name, stateLines(name, rows.rows));
      }
      return out;
    } finally {
      await q.query('COMMIT');
    }
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

/** The watch of the store of the daemon started on `stateDir` (test/helpers/child-daemon.ts): its file, or its PostgreSQL schema. */
export async function watchStore(stateDir: string): Promise<StoreWatch> {
  if (!onPostgres) return new SqliteWatch(path.join(stateDir, 'cced.db'));
  const client = new pg.Client({ connectionString: await daemonDatabase(stateDir) });
  await client.connect();
  return new PostgresWatch(client);
}

export function diffRows(before: Map<string, string[]>, after: Map<string, string[]>, keep = 5): StoreDiff {
  const tables: StoreDiff['tables'] = {};
  for (const t of new Set([...before.keys(), ...after.keys()])) {
    const a = new Set(before.get(t) ?? []);
    const b = new Set(after.get(t) ?? []);
    const added = [...b].filter((r) => !a.has(r));
    const removed = [...a].filter((r) => !b.has(r));
    if (added.length || removed.length) tables[t] = { added: added.slice(0, keep), removed: removed.slice(0, keep) };
  }
  return { tables };
}

/** `PRAGMA integrity_check` of a database file: 'ok' or the problems it lists. */
export function integrityCheck(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
