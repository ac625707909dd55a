/** The SQLite connection under a Store, for tests that look at the rows themselves (the daemon never does). */
import type { Store } from '../../src/store/store.js';
import { SqliteBackend } from '../../src/store/sqlite/backend.js';
import type { Db } from '../../src/store/sqlite/db.js';

export function sqliteOf(store: Store): Db {
  if (!(store.backend instanceof SqliteBackend)) throw new Error('not a store on SQLite');
  return store.backend.db;
}
