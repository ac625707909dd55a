/** The long-lived parts of a running daemon, built once in src/app.ts. */
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { Store } from './store/store.js';
import type { Writer } from './store/writer.js';
import type { DeviceEvents } from './store/events.js';
import type { Auth } from './auth/auth.js';
import type { DaemonState } from './state.js';
import type { Grant } from './auth/secrets.js';
import type { RequestInfo } from './dispatch/dispatcher.js';
import type { RequestCounts } from './metrics/request-counts.js';

export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  writer: Writer;
  /** Device connection events (their own append-only table). */
  events: DeviceEvents;
  auth: Auth;
  state: DaemonState;
  /** Responses by verb and status (src/http/server.ts counts, /api/metrics reads). */
  requests: RequestCounts;
  /** May this request use this token? (It must come with the client secret of the entry it was issued to.) */
  tokenValid(grant: Grant, req: RequestInfo): boolean;
}
