/**
 * The PostgreSQL backend of the asynchronous port (../async-port.ts), on a
 * node-postgres pool.
 *
 * Isolation: every transaction is SERIALIZABLE, and one the server aborts as
 * a conflict (40001, or a deadlock: 40P01) is rolled back and run again, up
 * to `attempts` times, after a short random pause. Why not row locks: a
 * store mutation reads before it writes (the object's class and values, ACL
 * inputs, references, "does another object hold this unique value", counts),
 * and several of those reads are predicates over rows that may not exist yet,
 * which a row lock cannot hold. SERIALIZABLE makes every commit equivalent to
 * some one-at-a-time order of them, which is what the single SQLite writer
 * gives today, without the store listing what to lock; the price is a retry
 * when two nodes touch the same rows at once. Reads outside a transaction
 * are single statements on any pooled connection (READ COMMITTED).
 */
import pg from 'pg';
import type { Schema } from '../../schema/types.js';
import type { Layout, PatternTest } from '../port.js';
import {
  TransactionConflict,
  uniqueIndexName,
  uniqueProperties,
  type AsyncStoreBackend,
  type Exclusive,
  type NewChange,
  type SnapshotHandle,
  type TransactionOptions,
  type TxHandle,
} from '../async-port.js';
import { LAYOUT_LOCK, layoutVersion, migratePg, PG_MIGRATIONS } from './migrations.js';
import { PgObjects, Touches, type MatcherRef } from './objects.js';
import { changeRowsStatement, heldRowsStatement, PgChanges, PgDeviceEvents, PgGrants } from './rows.js';
import { isConflict, PG_TYPES, type Queryable } from './query.js';
import { PgTransfer } from './transfer.js';
import { PgDefaults } from './defaults.js';
import { ExclusiveJobs } from './jobs.js';
import { TAKE_WRITE_VERSION, WriteVersion } from './write-version.js';

export interface PgOptions {
  /** Connections of the pool (node-postgres's default: 10). */
  max?: number;
}

export class PgBackend implements AsyncStoreBackend {
  readonly kind = 'postgres';
  readonly concurrentTransactions = true;
  readonly objects: PgObjects;
  readonly changes: PgChanges;
  readonly grants: PgGrants;
  readonly events: PgDeviceEvents;
  private readonly matcher: MatcherRef = { test: () => false };
  private readonly writeVersion: WriteVersion;
  private readonly jobs: ExclusiveJobs;

  constructor(readonly pool: pg.Pool) {
    [this.objects, this.changes, this.grants, this.events] = [new PgObjects(pool, this.matcher), new PgChanges(pool), new PgGrants(pool), new PgDeviceEvents(pool)];
    this.writeVersion = new WriteVersion(pool);
    this.jobs = new ExclusiveJobs(pool.options as pg.ClientConfig);
  }

  useMatcher(test: PatternTest, current?: () => PatternTest): void {
    this.matcher.test = test;
    if (current) this.matcher.current = current;
  }

  async transaction<T>(fn: (tx: TxHandle) => Promise<T>, { attempts = 10 }: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(fn);
      if (outcome.done) return outcome.value;
      if (attempt >= attempts) throw new TransactionConflict(attempt);
      // Apart a little, at random, so the same transactions do not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }

  /** One run of `fn` on one connection: its result, or `done: false` when the server saw a conflict. */
  private async attempt<T>(fn: (tx: TxHandle) => Promise<T>): Promise<{ done: true; value: T } | { done: false }> {
    const client = await this.pool.connect();
    const handle = new PgTxHandle(client, this.matcher);
    let broken: Error | undefined;
    // The pool listens for errors only on idle connections: one lost while checked out (the server ended it
    // between two statements) would otherwise be an unhandled 'error' event. Its next statement fails anyway.
    const lost = (err: Error) => void (broken ??= err);
    client.on('error', lost);
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE').catch((err: Error) => {
        broken = err;
        throw err;
      });
      try {
        const value = await fn(handle);
        // A conflict `fn` caught and did not rethrow still dooms the transaction: run it again.
        if (handle.conflict) throw handle.conflict;
        if (handle.wrote || handle.atCommit.length > 0 || handle.touched.size > 0) {
          // One message: the touches, the change rows (their lock taken last and held for the server's work only:
          // rows.ts), the COMMIT, and the write version, taken once the COMMIT is visible and before the write is
          // acknowledged (write-version.ts).
          const touches = handle.touched.size > 0 ? `${handle.touched.statement()}; ` : '';
          const rows = (handle.atCommit.length > 0 ? `${changeRowsStatement(handle.atCommit)}; ` : '') + (handle.held.rows ? `${heldRowsStatement}; ` : '');
          const results = (await client.query(touches + rows + TAKE_WRITE_VERSION)) as unknown as pg.QueryResult<{ v: number }>[];
          this.writeVersion.took(Number(results.at(-1)!.rows[0]!.v));
        } else {
          await client.query('COMMIT');
        }
        return { done: true, value };
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => void (broken = e));
        // After a conflict the server refuses every statement of the transaction: what `fn` threw then is its echo.
        if (isConflict(err) || handle.conflict) return { done: false };
        throw err;
      }
    } finally {
      handle.end();
      client.off('error', lost);
      // A connection that was lost or could not roll back is closed rather than handed to the next transaction.
      client.release(broken);
    }
  }

  /**
   * One partial unique index per unique property of the schema (non-empty values), dropped when the schema no
   * longer has it: the database refuses a second holder whichever node writes it. Under the layout lock, so
   * nodes starting together do not create one index twice; building an index holds writes to props back
   * meanwhile, so this belongs to start-up, not to serving.
   */
  async enforceUnique(schema: Schema): Promise<void> {
    const wanted = new Map(uniqueProperties(schema).map((u) => [uniqueIndexName(u), u]));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [LAYOUT_LOCK]);
      const { rows } = await client.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'props' AND indexname LIKE 'props\\_unique\\_%'");
      for (const { name } of rows) if (!wanted.has(name)) await client.query(`DROP INDEX ${name}`);
      for (const [name, u] of wanted) {
        await client.query(
          `CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON props (value) WHERE class = ${pg.escapeLiteral(u.className)} AND ns = ${pg.escapeLiteral(u.ns)} AND name = ${pg.escapeLiteral(u.name)} AND value <> ''`,
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  async layout(): Promise<Layout> {
    return { version: await layoutVersion(this.pool), known: PG_MIGRATIONS.length };
  }

  migrate(): Promise<number> {
    return migratePg(this.pool);
  }

  async close(): Promise<void> {
    await this.jobs.close();
    await this.pool.end();
  }

  /** write-version.ts: moves when the write-version sequence passed a number another backend took. */
  externalVersion(): Promise<number> {
    return this.writeVersion.read();
  }

  tryExclusive<T>(name: string, fn: (lost: AbortSignal) => Promise<T>): Promise<Exclusive<T>> {
    return this.jobs.try(name, fn);
  }

  /** A REPEATABLE READ, READ ONLY transaction on one connection: one state, and nothing to conflict with. */
  async snapshot<T>(fn: (s: SnapshotHandle) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const lost = (err: Error) => void (broken ??= err);
    client.on('error', lost);
    let ended = false;
    const db: Queryable = {
      query: (config) => (ended ? Promise.reject(new Error('the snapshot has ended')) : client.query(config)),
    };
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY').catch((err: Error) => {
        broken = err;
        throw err;
      });
      try {
        const value = await fn({ objects: new PgObjects(db, this.matcher), transfer: new PgTransfer(db) });
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => void (broken = e));
        throw err;
      }
    } finally {
      ended = true;
      client.off('error', lost);
      client.release(broken);
    }
  }
}

/** The statements that write (every write of this backend is one of these). */
const WRITES = /^\s*(INSERT|UPDATE|DELETE|WITH)\b/i;

/** The handle of one transaction: its connection's rows; a conflict seen through it is remembered; refused once ended. */
class PgTxHandle implements TxHandle {
  readonly objects: PgObjects;
  readonly changes: PgChanges;
  readonly grants: PgGrants;
  readonly events: PgDeviceEvents;
  readonly transfer: PgTransfer;
  readonly defaults: PgDefaults;
  conflict: unknown;
  /** A statement that may have written ran: the commit takes a write version. */
  wrote = false;
  /** Change rows the COMMIT's message inserts (PgChanges.insertAtCommit), and whether it moves held ones (insertHeld). */
  readonly atCommit: NewChange[] = [];
  readonly held = { rows: false };
  /** The touches (updated_at) the COMMIT's message writes (PgObjects.touch); a savepoint rolled back takes its own back. */
  readonly touched = new Touches();
  private ended = false;
  private depth = 0;
  private readonly db: Queryable;

  constructor(client: pg.PoolClient, matcher: MatcherRef) {
    this.db = {
      query: async (config) => {
        if (this.ended) throw new Error('the transaction has ended');
        if (!this.wrote && WRITES.test(config.text)) this.wrote = true;
        try {
          return await client.query(config);
        } catch (err) {
          if (isConflict(err)) this.conflict ??= err;
          throw err;
        }
      },
    };
    [this.objects, this.changes, this.grants, this.events] = [new PgObjects(this.db, matcher, this.touched), new PgChanges(this.db, true, this.atCommit, this.held), new PgGrants(this.db), new PgDeviceEvents(this.db)];
    this.transfer = new PgTransfer(this.db);
    this.defaults = new PgDefaults(this.db);
  }

  end(): void {
    this.ended = true;
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${this.depth++}`;
    const touched = this.touched.mark();
    try {
      await this.db.query({ text: `SAVEPOINT ${name}` });
      try {
        const result = await fn();
        await this.db.query({ text: `RELEASE SAVEPOINT ${name}` });
        return result;
      } catch (err) {
        this.touched.rollbackTo(touched);
        await this.db.query({ text: `ROLLBACK TO SAVEPOINT ${name}` });
        await this.db.query({ text: `RELEASE SAVEPOINT ${name}` });
        throw err;
      }
    } finally {
      this.depth--;
    }
  }
}

/** A backend on the database at `url` (postgres://...): a pool, the layout migrated. */
export async function openPostgres(url: string, { max }: PgOptions = {}): Promise<PgBackend> {
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, ...(max !== undefined ? { max } : {}) });
  // An idle connection the server dropped (restart, network) is an error of the pool, not of the process.
  pool.on('error', () => {});
  const backend = new PgBackend(pool);
  try {
    await backend.migrate();
  } catch (err) {
    await pool.end();
    throw err;
  }
  return backend;
}
