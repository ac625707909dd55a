/** Opens the store of a configuration: schema, SQLite file, Store and Writer. Used by the daemon and the admin CLI. */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { loadSchema } from '../schema/loader.js';
import { openDb, type Db } from './db.js';
import { Store } from './store.js';
import { Writer } from './writer.js';
import { planDefaults, storeDefaults, storeDefaultsNow, type UnstoredDefault } from './backfill.js';
import { ChangeLog } from './changes.js';

export interface OpenStore {
  db: Db;
  store: Store;
  writer: Writer;
  changes: ChangeLog;
  /** With `defaults: 'background'`: stores the defaults a schema extension added, then resolves; stopped by stopDefaults(). */
  storeDefaults(): Promise<void>;
  stopDefaults(): Promise<void>;
}

export interface OpenOptions {
  /**
   * `now` (the console): the defaults of properties a schema extension added are stored before
   * openStore returns. `background` (the daemon): storeDefaults() fills them while it serves.
   */
  defaults?: 'now' | 'background';
}

export function openStore(config: Config, log: Logger, { defaults = 'now' }: OpenOptions = {}): OpenStore {
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  const schema = loadSchema(config.schema_dir);
  const db = openDb(config.db_path, { synchronous: config.db_synchronous });
  const unstored = planDefaults(db, schema);
  const filled = { properties: [] as string[], rows: 0 };
  const stored = (u: UnstoredDefault, rows: number) => {
    store.defaultStored(u.prop);
    if (rows > 0) filled.properties.push(u.key);
    filled.rows += rows;
  };
  const told = () => {
    if (filled.rows > 0) log.info({ properties: filled.properties, rows: filled.rows }, 'stored the defaults of new schema properties for existing objects');
  };
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
  store.defaultsUnstored(unstored.map((u) => u.prop));
  if (defaults === 'now') {
    storeDefaultsNow(db, unstored, stored);
    told();
  }
  let stopped = false;
  let filling: Promise<void> = Promise.resolve();
  return {
    db,
    store,
    writer,
    changes,
    storeDefaults() {
      if (defaults === 'now' || unstored.length === 0) return filling;
      filling = storeDefaults(db, writer, unstored, stored, () => stopped).then(told, (err: unknown) => {
        // The next start resumes where this one stopped.
        log.error({ err }, 'storing the defaults of new schema properties failed');
      });
      return filling;
    },
    async stopDefaults() {
      stopped = true;
      await filling;
    },
  };
}
