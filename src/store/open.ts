/**
 * Opens the store of a configuration: schema, backend (the SQLite file, or the
 * PostgreSQL database of `db_url`), Store, Writer, change log and device
 * events. Used by the daemon and the admin CLI, which see no database handle:
 * they close the store through close().
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { loadSchema } from '../schema/loader.js';
import { openSqlite } from './sqlite/backend.js';
import type { Layout } from './port.js';
import type { AsyncStoreBackend } from './async-port.js';
import type { DeviceEvents } from './events.js';
import { Store, type AuditEntry } from './store.js';
import { Writer, type WriteTx } from './writer.js';
import { planDefaults, storeDefaults, storeDefaultsNow, type UnstoredDefault } from './backfill.js';
import { ChangeLog } from './changes.js';
import { StoreTransfer } from './transfer.js';
import { openPostgres } from './postgres/backend.js';
import { ConcurrentHost } from './concurrent-host.js';
import { storageFailure } from '../errors.js';

export interface OpenStore {
  store: Store;
  writer: Writer;
  changes: ChangeLog;
  events: DeviceEvents;
  /** What the console's export reads beyond the Store API (an import writes through its transaction's w.transfer). */
  transfer: StoreTransfer;
  /** The database layout (migrations run, and known). */
  layout(): Promise<Layout>;
  /** Runs the migrations not yet run (openStore ran them already: 0 unless another process set the layout back). */
  migrate(): Promise<number>;
  /** Releases the writer's descriptors and closes the database. */
  close(): Promise<void>;
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

export function openStore(config: Config, log: Logger, options: OpenOptions = {}): Promise<OpenStore> {
  // The state folder holds more than the SQLite file (access secrets, keys, firmware): made on either backend.
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  return config.db_url === '' ? openSqliteStore(config, log, options) : openPgStore(config, log, options);
}

/**
 * The store on PostgreSQL: the migrations run (an empty database gets the layout), the database refuses a
 * second holder of every unique property of the schema (enforceUnique), and the Writer runs each write in
 * a transaction of its own (writer.ts). The URL is never logged: a failure to connect names the host only.
 */
async function openPgStore(config: Config, log: Logger, options: OpenOptions): Promise<OpenStore> {
  const schema = loadSchema(config.schema_dir);
  const url = new URL(config.db_url);
  let backend;
  try {
    backend = await openPostgres(config.db_url);
  } catch (err) {
    log.error({ err: { message: String((err as Error).message ?? err).replaceAll(config.db_url, '<db_url>') }, host: url.host }, 'PostgreSQL: could not open the database');
    throw storageFailure(`could not open the PostgreSQL database at ${url.host}`);
  }
  const pg = backend;
  await pg.enforceUnique(schema);
  const host = new ConcurrentHost(pg, (err) => log.warn({ err }, 'reading the database version failed'));
  const writer = new Writer(host, (err) => log.error({ err }, 'commit failed'));
  const store = new Store(host, schema, auditLine(log));
  // Ends each batch's span of new oids: the class of an oid below it is remembered inside mutations (Store.className).
  writer.onBeforeCommit(() => store.sealOids());
  const changes = new ChangeLog(host, writer, config.event_heartbeat_interval * 1000);
  store.onWrite(changes.record);
  const defaults = await schemaDefaults(pg, { store, writer, log }, options);
  let closing: Promise<void> | undefined;
  return {
    store,
    writer,
    changes,
    events: pg.events,
    transfer: new StoreTransfer(pg),
    layout: () => pg.layout(),
    migrate: () => pg.migrate(),
    // Once: a daemon whose start failed half-way closes what it opened, and its caller may close it again.
    close: () => (closing ??= pg.close()),
    ...defaults,
  };
}

/**
 * An audit line says what was written, so it is written only once the write committed. A bulk transaction
 * (an import) gets one line when it commits, its writes counted per operation and class, instead of one a
 * write: a million lines held until the COMMIT would be the import's memory.
 */
function auditLine(log: Logger) {
  const bulks = new WeakMap<WriteTx, BulkAudit>();
  // Routine writes (heartbeats, thousands a second) are audited at debug level: their request lines remain.
  return (e: AuditEntry, w: WriteTx) => {
    if (e.routine && !log.isLevelEnabled('debug')) return;
    if (!w.bulk) {
      w.afterCommit(() => (e.routine ? log.debug({ audit: e.op, ...e }, 'write') : log.info({ audit: e.op, ...e }, 'write')));
      return;
    }
    let bulk = bulks.get(w);
    if (bulk === undefined) {
      const counts: BulkAudit = { by: new Set(), writes: {} };
      bulks.set(w, (bulk = counts));
      // Registered once: a bulk transaction never keeps part of itself (Writer.submitBulk), so this line sees every write.
      w.afterCommit(() => log.info({ audit: 'BULK', by: [...counts.by], writes: counts.writes }, 'bulk write'));
    }
    bulk.by.add(e.by);
    const byClass = (bulk.writes[e.op] ??= {});
    byClass[e.class] = (byClass[e.class] ?? 0) + 1;
  };
}

/** What a bulk transaction's one audit line says: who wrote, and how many writes per operation and class. */
interface BulkAudit {
  by: Set<number>;
  writes: Partial<Record<AuditEntry['op'], Record<string, number>>>;
}

async function openSqliteStore(config: Config, log: Logger, options: OpenOptions): Promise<OpenStore> {
  const schema = loadSchema(config.schema_dir);
  const backend = openSqlite(config.db_path, { synchronous: config.db_synchronous });
  // FULL: commits are fsynced off the event loop, and acknowledged only once durable (see WalSync in writer.ts).
  const syncWal = config.db_synchronous === 'FULL' && config.db_path !== ':memory:';
  const writer = new Writer(backend, (err) => log.error({ err }, 'commit failed'), { syncWal });
  const store = new Store(backend, schema, auditLine(log));
  writer.onBeforeCommit(() => store.sealOids());
  // Every committed write, whatever the door, in the change log (src/store/changes.ts).
  const changes = new ChangeLog(backend, writer, config.event_heartbeat_interval * 1000);
  store.onWrite(changes.record);
  const defaults = await schemaDefaults(backend.async, { store, writer, log }, options);
  return {
    store,
    writer,
    changes,
    events: backend.async.events,
    transfer: new StoreTransfer(backend.async),
    layout: () => Promise.resolve(backend.layout()),
    migrate: () => Promise.resolve(backend.migrate()),
    close() {
      writer.close();
      return backend.close();
    },
    ...defaults,
  };
}

/**
 * The defaults of the properties a schema extension added, for the objects made before (backfill.ts): planned
 * now, the store told to treat their missing rows as the default; stored before this returns (`now`), or by
 * storeDefaults() while the daemon serves (`background`).
 */
async function schemaDefaults(
  backend: AsyncStoreBackend,
  { store, writer, log }: { store: Store; writer: Writer; log: Logger },
  { defaults = 'now' }: OpenOptions,
): Promise<Pick<OpenStore, 'storeDefaults' | 'stopDefaults'>> {
  const unstored = await planDefaults(backend, store.schema);
  store.defaultsUnstored(unstored.map((u) => u.prop));
  const filled = { properties: [] as string[], rows: 0 };
  const stored = (u: UnstoredDefault, rows: number) => {
    store.defaultStored(u.prop);
    if (rows > 0) filled.properties.push(u.key);
    filled.rows += rows;
  };
  const told = () => {
    if (filled.rows > 0) log.info({ properties: filled.properties, rows: filled.rows }, 'stored the defaults of new schema properties for existing objects');
  };
  if (defaults === 'now') {
    await storeDefaultsNow(backend, unstored, stored);
    told();
  }
  let stopped = false;
  let filling: Promise<void> = Promise.resolve();
  return {
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
