/**
 * Assembles a daemon from a Config: store, schema, auth, dispatcher, server.
 * main.ts runs it; tests build one per test on an ephemeral port.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { openStore } from './store/open.js';
import { clusterOf } from './store/cluster.js';
import { Auth } from './auth/auth.js';
import { Bans } from './auth/bans.js';
import type { BanSharing } from './store/ban-sharing.js';
import { AccessReloader, accessSecrets, ReloadableClientSecrets, ReloadableGate, type AccessChange } from './access-reload.js';
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
import { CredentialChain } from './auth/credentials/index.js';
import { addSecretKeys } from './log.js';
import type { Schema } from './schema/types.js';
import { EventHub } from './events/hub.js';
import { Heartbeats } from './devices/heartbeats.js';
import { PantahubLimits } from './devices/pantahub-limits.js';

export interface App {
  services: Services;
  server: FastifyInstance;
  dispatcher: Dispatcher;
  gate: ReloadableGate;
  bootstrapped: BootstrapResult;
  /** Puts new api_access entries, and the access file's secrets for them, in force (SIGHUP). */
  reloadAccess(apiAccess: readonly string[]): AccessChange;
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
  const gate = new ReloadableGate(config.local_addresses, config.api_access, config.device_access);
  const opened = await openStore(config, log, { defaults: 'background' });
  const { store, writer, changes, events } = opened;
  // What several nodes on one database share (nothing on SQLite): src/store/cluster.ts.
  const cluster = clusterOf(store);
  // The change log's readers (EVENT, /v2/events) and its pruning.
  const hub = new EventHub(changes, store.schema, writer, {
    retention: { count: config.event_retention, seconds: config.event_retention_age },
    onPruneError: (err) => log.error({ err }, 'pruning the change log failed'),
    onReadError: (err) => log.error({ err }, 'reading the change log for its live readers failed'),
    once: cluster.once,
  });
  let auth: Auth | undefined;
  let banSharing: BanSharing | undefined;
  let state: DaemonState | undefined;
  try {
    return await assemble();
  } catch (err) {
    // A start that fails half-way (a damaged master.key, a bad certificate) leaves nothing open behind it.
    auth?.close();
    state?.close();
    await banSharing?.close().catch(() => undefined);
    await opened.close();
    throw err;
  }

  async function assemble(): Promise<App> {
    banSharing = cluster.banSharing((err) => log.error({ err }, 'sharing the bans with the other nodes failed'));
    const bans = new Bans(
      { pairFails: config.api_auth_fails, addressFails: config.api_auth_fails_per_address ?? 10 * config.api_auth_fails, banSeconds: config.api_ban_time },
      log,
      Date.now,
      banSharing,
    );
    // The bans other nodes hold now are in force here before the first request.
    await bans.follow();
    const secrets = accessSecrets(config.state_dir, gate);
    const clients = new ReloadableClientSecrets(gate.entries, secrets, bans, log);
    const access = new AccessReloader(config.state_dir, gate, clients, secrets);
    auth = new Auth(store, config, { bans, clients, writer, storeFailed: (err) => log.error({ err }, 'a grant could not be stored') });
    const grants = auth;
    state = new DaemonState(store, writer, cluster.shared);
    installRules({ store, writer, events, endGrants: (oid, keep) => grants.endGrants(oid, keep) });
    // The schema's secret properties are censored in every log line, whatever logs them.
    addSecretKeys(secretProperties(store.schema));
    const services: Services = {
      config,
      log,
      store,
      writer,
      events,
      changes: hub,
      auth,
      state,
      requests: new RequestCounts(),
      credentials: new CredentialChain({ config, store, writer, auth, log, devices: {} }),
      heartbeats: new Heartbeats({ config, store, writer, events }),
      pantahubLimits: new PantahubLimits({ claimFailsPerDevice: config.pantahub_claim_fails_per_device, registrationsPerAddress: config.pantahub_registrations_per_address }),
    };
    const dispatcher = new Dispatcher(services, COMMAND_TABLE);
    // Firmware folders follow the catalog whatever the door (creations, renames).
    watchCatalog(services, new FlashStorage(config.flash_storage_root));
    const bootstrapped = await bootstrap(services, env, tell);
    await ensureApiAdmin(services);
    // Start-up's own writes are done: a suspension recorded by an earlier run is in force again.
    await services.state.restore();
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
      reloadAccess: (apiAccess) => access.reload(apiAccess),
      async close() {
        hub.close();
        await server.close();
        // Beats still waiting for their batch are applied before the store closes.
        await services.heartbeats.close();
        await opened.stopDefaults();
        auth!.close();
        state!.close();
        await banSharing?.close();
        await opened.close();
      },
    };
  }
}

/** The names of the properties the schema flags secret (write-only passwords included). */
function secretProperties(schema: Schema): string[] {
  return [...schema.classes.values()].flatMap((c) => [...c.namespaces.values()].flatMap((ns) => [...ns.properties.values()].filter((p) => p.secret).map((p) => p.name)));
}
