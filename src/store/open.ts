/** Opens the store of a configuration: schema, SQLite file, Store and Writer. Used by the daemon and the admin CLI. */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { loadSchema } from '../schema/loader.js';
import { openDb, type Db } from './db.js';
import { Store } from './store.js';
import { Writer } from './writer.js';
import { backfillDefaults } from './backfill.js';
import { ChangeLog } from './changes.js';

export interface OpenStore {
  db: Db;
  store: Store;
  writer: Writer;
  changes: ChangeLog;
}

export function openStore(config: Config, log: Logger): OpenStore {
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  const schema = loadSchema(config.schema_dir);
  const db = openDb(config.db_path, { synchronous: config.db_synchronous });
  const filled = backfillDefaults(db, schema);
  if (filled.rows > 0) log.info({ properties: filled.properties, rows: filled.rows }, 'stored the defaults of new schema properties for existing objects');
  // FULL: commits are fsynced off the event loop, and acknowledged only once durable (see WalSync in writer.ts).
  const syncWal = config.db_synchronous === 'FULL' && config.db_path !== ':memory:';
  const writer = new Writer(db, (err) => log.error({ err }, 'commit failed'), { syncWal });
  // An audit line says what was written, so it is written only once the write committed.
  // Routine writes (heartbeats, thousands a second) are audited at debug level: their request lines remain.
  const store = new Store(db, schema, (e) => {
    if (e.routine && !log.isLevelEnabled('debug')) return;
    writer.afterCommit(() => (e.routine ? log.debug({ audit: e.op, ...e }, 'write') : log.info({ audit: e.op, ...e }, 'write')));
  });
  writer.onBeforeCommit(() => store.sealOids());
  // Every committed write, whatever the door, in the change log (src/store/changes.ts).
  const changes = new ChangeLog(db, writer, config.event_heartbeat_interval * 1000);
  store.onWrite(changes.record);
  return { db, store, writer, changes };
}
