/**
 * The SQLite backend: the store's port (../port.ts) on one better-sqlite3
 * connection. One backend per connection (sqliteBackend() hands out the same
 * one again), so the Store, the Writer and the change log of a connection
 * share its prepared statements.
 */
import type { Db } from './db.js';
import { migrate, openDb, type OpenOptions } from './db.js';
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

  constructor(readonly db: Db) {
    [this.objects, this.tx, this.changes, this.defaults] = [new SqliteObjects(db), new SqliteTransactions(db), new SqliteChanges(db), new SqliteDefaults(db)];
    [this.events, this.grants, this.transfer] = [new SqliteDeviceEvents(db), new SqliteGrants(db), new SqliteTransfer(db)];
    this.searches = db.memory || db.name === '' ? undefined : new SqliteSearchThreads(db.name);
  }

  layout(): Layout {
    return { version: this.db.pragma('user_version', { simple: true }) as number, known: MIGRATIONS.length };
  }

  migrate(): number {
    return migrate(this.db);
  }

  close(): void {
    this.searches?.close();
    this.db.close();
  }
}

const backends = new WeakMap<Db, SqliteBackend>();

/** The backend of an open connection (tests open their own; the daemon and the console go through openSqlite). */
export function sqliteBackend(db: Db): SqliteBackend {
  let b = backends.get(db);
  if (b === undefined) backends.set(db, (b = new SqliteBackend(db)));
  return b;
}

/** Opens (creating it if need be) and migrates the SQLite file of a store. */
export function openSqlite(file: string, options: OpenOptions = {}): SqliteBackend {
  return sqliteBackend(openDb(file, options));
}
