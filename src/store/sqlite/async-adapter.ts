/**
 * The SQLite backend (backend.ts, synchronous) behind the asynchronous port
 * (../async-port.ts): each result is the synchronous one, already resolved.
 *
 * Transactions: SQLite has one writer, and better-sqlite3 waits for a lock by
 * blocking the thread, so two transactions of this process open at once on
 * one file would block the event loop until busy_timeout. The adapter queues
 * them instead, one after another, per database file (every connection of
 * this process to that file shares the queue): they never conflict, and
 * `attempts` has nothing to retry. A read through the backend (outside the
 * transaction) while one is open runs on the same connection and sees its
 * writes: one connection, as the synchronous store has always had.
 */
import type { Statement } from 'better-sqlite3';
import type { Schema } from '../../schema/types.js';
import type { FindSpec, Layout } from '../port.js';
import {
  uniqueIndexName,
  uniqueProperties,
  UniqueViolation,
  type AsyncChangeWrites,
  type AsyncDefaultWrites,
  type AsyncEventWrites,
  type AsyncFindRun,
  type AsyncGrantWrites,
  type AsyncObjectWrites,
  type AsyncStoreBackend,
  type AsyncTransferWrites,
  type Exclusive,
  type SnapshotHandle,
  type TxHandle,
} from '../async-port.js';
import { asyncTransfer, exclusiveOnFile, insertChanges } from './async-shared.js';
import type { SqliteBackend } from './backend.js';
import type { Db } from './db.js';

/** Each method of T, its result as a Promise. */
type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

/** The methods `keys` of `target`, each result (or throw) as a settled Promise; `check` runs before each call. */
function promised<T extends object, K extends keyof T>(target: T, keys: readonly K[], check?: () => void): Promised<Pick<T, K>> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const method = target[k] as (...args: unknown[]) => unknown;
    out[k as string] = (...args: unknown[]) => {
      try {
        check?.();
        return Promise.resolve(method.apply(target, args));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
  }
  return out as Promised<Pick<T, K>>;
}

const OBJECT_READS = [
  'classOf', 'classAndValues', 'values', 'classesOf', 'namespacesOf', 'value', 'firstWith', 'holderOf',
  'credential', 'setting', 'count', 'classCount', 'pageCount', 'pageRows',
] as const;
const CHANGE_READS = ['after', 'sequence', 'oldest', 'ageBound'] as const;
const GRANT_READS = ['get', 'ofOwner', 'expired'] as const;
const EVENT_READS = ['list', 'latest', 'count', 'countBefore'] as const;

type Queue = { tail: Promise<unknown> };

/** One queue of transactions per database file of this process; a memory database is its own. */
const fileQueues = new Map<string, Queue>();
const memoryQueues = new WeakMap<Db, Queue>();

function queueOf(db: Db): Queue {
  let q = db.memory ? memoryQueues.get(db) : fileQueues.get(db.name);
  if (q === undefined) {
    q = { tail: Promise.resolve() };
    if (db.memory) memoryQueues.set(db, q);
    else fileQueues.set(db.name, q);
  }
  return q;
}

/** The conditional updates, prepared once per connection. */
interface ConditionalStatements {
  decrement: Statement;
  claimEmpty: Statement;
  compareAndSet: Statement;
}

function isUniqueFailure(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class SqliteAsyncBackend implements AsyncStoreBackend {
  readonly kind = 'sqlite';
  readonly concurrentTransactions = false;
  readonly objects;
  readonly changes;
  readonly grants;
  readonly events;
  private readonly queue;
  /** The conditional updates on this connection (a handle of the Writer's transaction uses them too). */
  readonly st: ConditionalStatements;

  constructor(readonly sync: SqliteBackend) {
    const { objects } = sync;
    this.objects = { ...promised(objects, OBJECT_READS), find: (spec: FindSpec) => promisedFind(objects.find(spec)) };
    this.changes = promised(sync.changes, CHANGE_READS);
    this.grants = promised(sync.grants, GRANT_READS);
    this.events = promised(sync.events, EVENT_READS);
    this.queue = queueOf(sync.db);
    const db = sync.db;
    this.st = {
      // Only a text of digits (so the cast is exact) above zero is lowered: the check and the write in one statement.
      decrement: db
        .prepare(
          "UPDATE props SET value = CAST(CAST(value AS INTEGER) - 1 AS TEXT) WHERE oid = ? AND ns = ? AND name = ? AND value <> '' " +
            "AND value NOT GLOB '*[^0-9]*' AND length(value) <= 15 AND CAST(value AS INTEGER) > 0 RETURNING value",
        )
        .pluck(),
      // Expecting '' (a missing row counts as ''): inserted if missing, else updated if it is ''.
      claimEmpty: db.prepare(
        "INSERT INTO props (oid, ns, name, class, value) SELECT oid, ?, ?, class, ? FROM objects WHERE oid = ? ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value WHERE props.value = ''",
      ),
      compareAndSet: db.prepare('UPDATE props SET value = ? WHERE oid = ? AND ns = ? AND name = ? AND value = ?'),
    };
  }

  useMatcher(test: (pattern: string, value: string) => boolean): void {
    this.sync.objects.useMatcher(test);
  }

  transaction<T>(fn: (tx: TxHandle) => Promise<T>): Promise<T> {
    const run = this.queue.tail.then(() => this.runTransaction(fn));
    this.queue.tail = run.catch(() => undefined);
    return run;
  }

  private async runTransaction<T>(fn: (tx: TxHandle) => Promise<T>): Promise<T> {
    const { tx } = this.sync;
    tx.begin();
    const handle = new SqliteTxHandle(this.sync, this.st);
    try {
      const result = await fn(handle);
      tx.commit();
      return result;
    } catch (err) {
      if (tx.inTransaction) tx.rollback();
      // SQLite's oid counter rolled back with the rest: raise it again past every oid this transaction made.
      if (handle.highestOid > 0) this.sync.objects.reserveOids(handle.highestOid);
      throw err;
    } finally {
      handle.end();
    }
  }

  /** Partial unique indexes, one per unique property: SQLite refuses a second holder as PostgreSQL does. */
  enforceUnique(schema: Schema): Promise<void> {
    const db = this.sync.db;
    const wanted = new Map(uniqueProperties(schema).map((u) => [uniqueIndexName(u), u]));
    const existing = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name GLOB 'props_unique_*'").pluck().all() as string[];
    db.transaction(() => {
      for (const name of existing) if (!wanted.has(name)) db.exec(`DROP INDEX ${name}`);
      for (const [name, u] of wanted) {
        db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON props (value) WHERE class = ${literal(u.className)} AND ns = ${literal(u.ns)} AND name = ${literal(u.name)} AND value <> ''`);
      }
    })();
    return Promise.resolve();
  }

  layout(): Promise<Layout> {
    return Promise.resolve(this.sync.layout());
  }

  migrate(): Promise<number> {
    return Promise.resolve(this.sync.migrate());
  }

  close(): Promise<void> {
    return this.sync.close();
  }

  /** SQLite's data_version: moves when another connection (or process) commits to the file, not for this one's commits. */
  externalVersion(): Promise<number> {
    return Promise.resolve(this.sync.objects.externalVersion());
  }

  tryExclusive<T>(name: string, fn: (lost: AbortSignal) => Promise<T>): Promise<Exclusive<T>> {
    return exclusiveOnFile(this.sync.db, name, fn);
  }

  /** A read transaction (WAL: one state of the file while others write), queued as the transactions are. */
  snapshot<T>(fn: (s: SnapshotHandle) => Promise<T>): Promise<T> {
    const run = this.queue.tail.then(async () => {
      const db = this.sync.db;
      let ended = false;
      const live = () => {
        if (ended) throw new Error('the snapshot has ended');
      };
      const { objects } = this.sync;
      db.exec('BEGIN DEFERRED');
      try {
        return await fn({ objects: { ...promised(objects, OBJECT_READS, live), find: (spec) => (live(), promisedFind(objects.find(spec))) }, transfer: asyncTransfer(this.sync, live) });
      } finally {
        ended = true;
        if (db.inTransaction) db.exec('COMMIT');
      }
    });
    this.queue.tail = run.catch(() => undefined);
    return run;
  }
}

/** A string as an SQL literal (schema names: letters, digits and _; quoted anyway). */
function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function promisedFind(run: ReturnType<SqliteBackend['objects']['find']>): AsyncFindRun {
  return promised(run, ['all', 'withSortValues', 'candidatesBeyond', 'windowEnd', 'range']);
}

/** The writes one transaction may make, beside the reads. */
const OBJECT_WRITES = ['touch', 'deleteObject', 'putCredential', 'putSetting'] as const;

/** The parts of a backend a transaction's handle reads and writes through (one connection's own, never routed). */
export type TxParts = Pick<SqliteBackend, 'objects' | 'changes' | 'grants' | 'events' | 'tx' | 'transfer' | 'defaults'>;

/** The handle of one SQLite transaction: the connection's own rows, refused once the transaction ended. */
export class SqliteTxHandle implements TxHandle {
  /** The highest oid this transaction made (0: none): never to be handed out again, even if it is undone. */
  highestOid = 0;
  private ended = false;
  private depth = 0;
  readonly objects: AsyncObjectWrites;
  readonly changes: AsyncChangeWrites;
  readonly grants: AsyncGrantWrites;
  readonly events: AsyncEventWrites;
  readonly defaults: AsyncDefaultWrites;

  constructor(
    private readonly sync: TxParts,
    st: ConditionalStatements,
  ) {
    const live = () => {
      if (this.ended) throw new Error('the transaction has ended');
    };
    const o = sync.objects;
    /** A write as a settled Promise; one that may give a unique value a second holder names it (`held`). */
    const call = <R>(write: () => R, held?: [className: string, ns: string, name: string]): Promise<R> => {
      try {
        live();
        return Promise.resolve(write());
      } catch (err) {
        return Promise.reject(held && isUniqueFailure(err) ? new UniqueViolation(...held) : (err as Error));
      }
    };
    this.objects = {
      ...promised(o, [...OBJECT_READS, ...OBJECT_WRITES], live),
      find: (spec) => (live(), promisedFind(o.find(spec))),
      insertObject: (c, now, at) =>
        call(() => {
          const oid = o.insertObject(c, now, at);
          this.highestOid = Math.max(this.highestOid, oid);
          return oid;
        }),
      putValue: (oid, ns, name, c, v) => call(() => o.putValue(oid, ns, name, c, v), [c, ns, name]),
      putBeat: (oid, c, lastSeen, ip, now) => call(() => o.putBeat(oid, c, lastSeen, ip, now)),
      compareAndSet: (oid, ns, name, c, expected, value) =>
        call(() => (expected === '' ? st.claimEmpty.run(ns, name, value, oid) : st.compareAndSet.run(value, oid, ns, name, expected)).changes > 0, [c, ns, name]),
      decrement: (oid, ns, name) =>
        call(() => {
          const left = st.decrement.get(oid, ns, name) as string | undefined;
          return left === undefined ? undefined : Number(left);
        }),
    };
    this.changes = { ...promised(sync.changes, [...CHANGE_READS, 'insert', 'prune'], live), insertMany: (rows) => call(() => insertChanges(sync.changes, rows)) };
    this.grants = promised(sync.grants, [...GRANT_READS, 'put', 'remove', 'removeUser', 'extend', 'removeExpired'], live);
    this.events = promised(sync.events, [...EVENT_READS, 'append', 'purge', 'deleteBefore'], live);
    this.defaults = promised(sync.defaults, ['dropProperty', 'windowEnd', 'fill'], live);
  }

  end(): void {
    this.ended = true;
  }

  private transferRows: AsyncTransferWrites | undefined;

  /** Made on first use: an import's, never on the hot path. */
  get transfer(): AsyncTransferWrites {
    return (this.transferRows ??= asyncTransfer(this.sync, () => {
      if (this.ended) throw new Error('the transaction has ended');
    }));
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    if (this.ended) throw new Error('the transaction has ended');
    const sp = this.sync.tx.savepoint(this.depth++);
    sp.begin();
    try {
      const result = await fn();
      sp.release();
      return result;
    } catch (err) {
      sp.undo();
      sp.release();
      if (this.highestOid > 0) this.sync.objects.reserveOids(this.highestOid);
      throw err;
    } finally {
      this.depth--;
    }
  }
}
