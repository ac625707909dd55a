/**
 * Opens the store of a configuration: schema, backend (the SQLite file), Store,
 * Writer, change log and device events. Used by the daemon and the admin CLI,
 * which see no database handle: they close the store through close().
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { loadSchema } from '../schema/loader.js';
import { openSqlite } from './sqlite/backend.js';
import type { Layout } from './port.js';
import type { DeviceEvents } from './events.js';
import { Store } from './store.js';
import { Writer } from './writer.js';
import { planDefaults, storeDefaults, storeDefaultsNow, type UnstoredDefault } from './backfill.js';
import { ChangeLog } from './changes.js';
import { StoreTransfer } from './transfer.js';

export interface OpenStore {
  store: Store;
  writer: Writer;
  changes: ChangeLog;
  events: DeviceEvents;
  /** What the console's export and import read and write beyond the Store API. */
  transfer: StoreTransfer;
  /** The database layout (migrations run, and known). */
  layout(): Layout;
  /** Runs the migrations not yet run (openStore ran them already: 0 unless another process set the layout back). */
  migrate(): number;
  /** Releases the writer's descriptors and closes the database. */
  close(): void;
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
  const backend = openSqlite(config.db_path, { synchronous: config.db_synchronous });
  const unstored = planDefaults(backend, schema);
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
  const writer = new Writer(backend, (err) => log.error({ err }, 'commit failed'), { syncWal });
  // An audit line says what was written, so it is written only once the write committed.
  // Routine writes (heartbeats, thousands a second) are audited at debug level: their request lines remain.
  const store = new Store(backend, schema, (e, w) => {
    if (e.routine && !log.isLevelEnabled('debug')) return;
    w.afterCommit(() => (e.routine ? log.debug({ audit: e.op, ...e }, 'write') : log.info({ audit: e.op, ...e }, 'write')));
  });
  writer.onBeforeCommit(() => store.sealOids());
  // Every committed write, whatever the door, in the change log (src/store/changes.ts).
  const changes = new ChangeLog(backend, writer, config.event_heartbeat_interval * 1000);
  store.onWrite(changes.record);
  store.defaultsUnstored(unstored.map((u) => u.prop));
  if (defaults === 'now') {
    storeDefaultsNow(backend, unstored, stored);
    told();
  }
  let stopped = false;
  let filling: Promise<void> = Promise.resolve();
  return {
    store,
    writer,
    changes,
    events: backend.events,
    transfer: new StoreTransfer(backend),
    layout: () => backend.layout(),
    migrate: () => backend.migrate(),
    close() {
      writer.close();
      backend.close();
    },
    storeDefaults() {
      if (defaults === 'now' || unstored.length === 0) return filling;
      filling = storeDefaults(backend, writer, unstored, stored, () => stopped).then(told, (err: unknown) => {
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
