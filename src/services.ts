/** The long-lived parts of a running daemon, built once in src/app.ts. */
import type { EventHub } from './events/hub.js';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { Store } from './store/store.js';
import type { Writer } from './store/writer.js';
import type { DeviceEvents } from './store/events.js';
import type { Auth } from './auth/auth.js';
import type { DaemonState } from './state.js';
import type { CredentialChain } from './auth/credentials/index.js';
import type { RequestCounts } from './metrics/request-counts.js';
import type { Heartbeats } from './devices/heartbeats.js';
import type { PantahubLimits } from './devices/pantahub-limits.js';

export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  writer: Writer;
  /** Device connection events (their own append-only table). */
  events: DeviceEvents;
  /** The change log's readers (EVENT, /v2/events) and its pruning (src/events/hub.ts). */
  changes: EventHub;
  auth: Auth;
  state: DaemonState;
  /** Responses by verb and status (src/http/server.ts counts, /api/metrics reads). */
  requests: RequestCounts;
  /** Who a request proves to be: every door asks this one chain (src/auth/credentials). */
  credentials: CredentialChain;
  /** The one heartbeat coalescer of the daemon (src/devices/heartbeats.ts): facades hand it their devices' beats. */
  heartbeats: Heartbeats;
  /** The Pantahub registry's claim and registration limits (src/devices/pantahub-claims.ts), one per daemon. */
  pantahubLimits: PantahubLimits;
}
