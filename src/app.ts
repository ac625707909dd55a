/**
 * Assembles a daemon from a Config: store, schema, auth, dispatcher, server.
 * main.ts runs it; tests build one per test on an ephemeral port.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { openStore } from './store/open.js';
import { DeviceEvents } from './store/events.js';
import { Auth } from './auth/auth.js';
import { Gate } from './auth/gate.js';
import { Bans } from './auth/bans.js';
import { ClientSecrets } from './auth/client-secrets.js';
import { ACCESS_FILE, syncAccessFile } from './auth/access-file.js';
import { ensureApiAdmin } from './auth/api-admin.js';
import { DaemonState } from './state.js';
import { RequestCounts } from './metrics/request-counts.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { buildServer } from './http/server.js';
import { COMMAND_TABLE } from '../commands/index.js';
import type { Services } from './services.js';
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import { installRules } from './rules.js';
import { watchCatalog } from './flash/catalog.js';
import { FlashStorage } from './flash/storage.js';
import { passwordJobs } from './auth/passwords.js';
import { EventHub, registerHub } from './events/hub.js';

export interface App {
  services: Services;
  server: FastifyInstance;
  dispatcher: Dispatcher;
  gate: Gate;
  bootstrapped: BootstrapResult;
  close(): Promise<void>;
}

export interface AppOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Where the first-start admin password is told (default: stderr). */
  tell?: (line: string) => void;
}

export async function createApp(config: Config, { log, env = process.env, tell = (l) => process.stderr.write(l + '\n') }: AppOptions): Promise<App> {
  passwordJobs.limit = config.password_hash_jobs;
  const gate = new Gate(config.local_addresses, config.api_access);
  const opened = openStore(config, log, { defaults: 'background' });
  const { db, store, writer, changes } = opened;
  // The change log's readers (EVENT, /v2/events) and its pruning.
  const hub = new EventHub(changes, store.schema, writer, {
    retention: { count: config.event_retention, seconds: config.event_retention_age },
    onPruneError: (err) => log.error({ err }, 'pruning the change log failed'),
  });
  registerHub(store, hub);
  let auth: Auth | undefined;
  try {
    return await assemble();
  } catch (err) {
    // A start that fails half-way (a damaged master.key, a bad certificate) leaves nothing open behind it.
    auth?.close();
    writer.close();
    db.close();
    throw err;
  }

  async function assemble(): Promise<App> {
    const bans = new Bans(
      { pairFails: config.api_auth_fails, addressFails: config.api_auth_fails_per_address ?? 10 * config.api_auth_fails, banSeconds: config.api_ban_time },
      log,
    );
    const secrets = syncAccessFile(path.join(config.state_dir, ACCESS_FILE), gate.access.map((e) => e.entry));
    const clients = new ClientSecrets(gate.access, secrets, bans, log);
    auth = new Auth(store, config, { bans, clients });
    const events = new DeviceEvents(db);
    const grants = auth;
    installRules({ store, writer, events, endGrants: (oid, keep) => grants.endGrants(oid, keep) });
    const services: Services = {
      config,
      log,
      store,
      writer,
      events,
      auth,
      state: new DaemonState(store, writer),
      requests: new RequestCounts(),
      tokenValid: (grant, req) => clients.tokenValid(grant, req.ip, req.headers),
    };
    const dispatcher = new Dispatcher(services, COMMAND_TABLE);
    // Firmware folders follow the catalog whatever the door (creations, renames).
    watchCatalog(services, new FlashStorage(config.flash_storage_root));
    const bootstrapped = await bootstrap(services, env, tell);
    await ensureApiAdmin(services);
    // Start-up's own writes are done: a suspension recorded by an earlier run is in force again.
    services.state.restore();
    hub.start();
    const server = buildServer({ services, dispatcher, gate });
    // Objects that predate a schema extension get its defaults stored while the daemon serves (finds already see them).
    void opened.storeDefaults();
    return {
      services,
      server,
      dispatcher,
      gate,
      bootstrapped,
      async close() {
        hub.close();
        await server.close();
        await opened.stopDefaults();
        auth!.close();
        writer.close();
        db.close();
      },
    };
  }
}
