/**
 * The SQLite backend: the store's port (../port.ts) on one better-sqlite3
 * connection. One backend per connection (sqliteBackend() hands out the same
 * one again), so the Store, the Writer and the change log of a connection
 * share its prepared statements. A file database also gets a second,
 * read-only connection for reads made while the Writer's transaction pauses
 * (reader.ts), and its checkpoints run on a thread of their own (checkpoints.ts).
 */
import type { Db } from './db.js';
import { WRITER_CACHE_KIB, migrate, openDb, type OpenOptions } from './db.js';
import { MIGRATIONS } from './migrations.js';
import type { Layout, StoreBackend } from '../port.js';
import { SqliteObjects } from './objects.js';
import { SqliteTransactions } from './transactions.js';
import { SqliteChanges } from './changes.js';
import { SqliteDefaults } from './defaults.js';
import { SqliteDeviceEvents } from './events.js';
import { SqliteGrants } from './grants.js';
import { SqliteTransfer } from './transfer.js';
import { SqliteSearchThreads } from './search-threads.js';
import { openReader, routed, type Routing } from './reader.js';
import { Checkpoints } from './checkpoints.js';
import { SqliteAsyncBackend, SqliteTxHandle, type TxParts } from './async-adapter.js';
import type { TxHandle } from '../async-port.js';

/** Every part prepares its statements at once: open the connection at the current layout (openSqlite migrates first). */
export class SqliteBackend implements StoreBackend {
  readonly objects: SqliteObjects;
  readonly tx: SqliteTransactions;
  readonly changes: SqliteChanges;
  readonly defaults: SqliteDefaults;
  readonly events: SqliteDeviceEvents;
  readonly grants: SqliteGrants;
  readonly transfer: SqliteTransfer;
  /** Finds with patterns, off the event loop: a second connection needs a file (none for :memory:). */
  readonly searches: SqliteSearchThreads | undefined;

  private readonly reader: Db | undefined;
  /** The writer connection's own parts, never routed: what the Writer's transaction reads and writes through. */
  private readonly own: TxParts;
  private asyncForm: SqliteAsyncBackend | undefined;
  /** The WAL checkpoint thread of a file database. */
  readonly checkpoints: Checkpoints | undefined;

  constructor(
    readonly db: Db,
    { reader, checkpoints }: { reader?: Db; checkpoints?: boolean } = {},
  ) {
    this.tx = new SqliteTransactions(db);
    [this.objects, this.changes, this.defaults] = [new SqliteObjects(db), new SqliteChanges(db), new SqliteDefaults(db)];
    [this.events, this.grants, this.transfer] = [new SqliteDeviceEvents(db), new SqliteGrants(db), new SqliteTransfer(db)];
    this.searches = db.memory || db.name === '' ? undefined : new SqliteSearchThreads(db.name);
    this.reader = reader;
    this.checkpoints = checkpoints ? new Checkpoints(db, this.tx) : undefined;
    this.tx.upkeep = this.checkpoints;
    this.own = { objects: this.objects, changes: this.changes, grants: this.grants, events: this.events, tx: this.tx, transfer: this.transfer, defaults: this.defaults };
    if (reader === undefined) return;
    const routing: Routing = { paused: false };
    this.tx.snapshot = {
      pause: () => void (routing.paused = true),
      resume: () => void (routing.paused = false),
      get paused() {
        return routing.paused;
      },
    };
    // The transaction's state and the writer's data_version are the writer connection's, paused or not; so are the
    // writes the Writer's own jobs make beside the handle (the oid counter, the default fill, an import's moves).
    const objectsPinned = ['inTransaction', 'externalVersion', 'reserveOids'];
    this.objects = routed(this.objects, new SqliteObjects(reader), routing, { pinned: objectsPinned, both: ['useMatcher'], nested: ['find'] });
    this.changes = routed(this.changes, new SqliteChanges(reader), routing);
    this.defaults = routed(this.defaults, new SqliteDefaults(reader), routing, { pinned: ['fill', 'dropProperty'] });
    this.events = routed(this.events, new SqliteDeviceEvents(reader), routing, { pinned: ['add'] });
    this.grants = routed(this.grants, new SqliteGrants(reader), routing);
    this.transfer = routed(this.transfer, new SqliteTransfer(reader), routing, { pinned: ['snapshot', 'putCredential'] });
  }

  /** This database behind the asynchronous port; its reads go where this backend's (routed) parts send them. */
  get async(): SqliteAsyncBackend {
    return (this.asyncForm ??= new SqliteAsyncBackend(this));
  }

  /** A handle over the writer connection's own parts, for the transaction the Writer has just begun. */
  writerHandle(): TxHandle & { end(): void } {
    return new SqliteTxHandle(this.own, this.async.st);
  }

  layout(): Layout {
    return { version: this.db.pragma('user_version', { simple: true }) as number, known: MIGRATIONS.length };
  }

  migrate(): number {
    return migrate(this.db);
  }

  async close(): Promise<void> {
    const threads = [this.searches?.close(), this.checkpoints?.close()];
    this.reader?.close();
    this.db.close();
    await Promise.all(threads);
  }
}

const backends = new WeakMap<Db, SqliteBackend>();

/** The backend of an open connection (tests open their own; the daemon and the console go through openSqlite). */
export function sqliteBackend(db: Db): SqliteBackend {
  let b = backends.get(db);
  if (b === undefined) backends.set(db, (b = new SqliteBackend(db)));
  return b;
}

/** Opens (creating it if need be) and migrates the SQLite file of a store; a file gets its reader and checkpoint thread. */
export function openSqlite(file: string, options: OpenOptions = {}): SqliteBackend {
  if (file === ':memory:') return sqliteBackend(openDb(file, options));
  const db = openDb(file, { cacheKib: WRITER_CACHE_KIB, ...options });
  const b = new SqliteBackend(db, { reader: openReader(file), checkpoints: true });
  backends.set(db, b);
  return b;
}
