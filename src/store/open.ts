/** Opens the store of a configuration: schema, SQLite file, Store and Writer. Used by the daemon and the admin CLI. */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { loadSchema } from '../schema/loader.js';
import { openDb, type Db } from './db.js';
import { Store } from './store.js';
import { Writer } from './writer.js';

export interface OpenStore {
  db: Db;
  store: Store;
  writer: Writer;
}

export function openStore(config: Config, log: Logger): OpenStore {
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  const schema = loadSchema(config.schema_dir);
  const db = openDb(config.db_path, { synchronous: config.db_synchronous });
  // FULL: commits are fsynced off the event loop, and acknowledged only once durable (see WalSync in writer.ts).
  const syncWal = config.db_synchronous === 'FULL' && config.db_path !== ':memory:';
  const writer = new Writer(db, (err) => log.error({ err }, 'commit failed'), { syncWal });
  // An audit line says what was written, so it is written only once the write committed.
  const store = new Store(db, schema, (e) => writer.afterCommit(() => log.info({ audit: e.op, ...e }, 'write')));
  return { db, store, writer };
}
