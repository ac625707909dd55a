/**
 * The core's rules that are code rather than schema declarations, installed
 * on the store of every process that opens it (the daemon in src/app.ts, the
 * `cced` console), so every door gets the same answer. The schema declares the
 * rest (references, derived properties, soft delete: src/store), and the
 * Writer refuses every write while suspended.
 */
import type { Store } from './store/store.js';
import type { Writer } from './store/writer.js';
import type { DeviceEvents } from './store/events.js';
import { installRenameCascade } from './devices/catalog.js';
import { installDeviceCascade } from './devices/cascade.js';
import { installUserLifecycle, type EndGrants } from './users/lifecycle.js';

export interface RuleParts {
  store: Store;
  writer: Writer;
  events: DeviceEvents;
  /** The daemon's in-memory half of the user-lifecycle rule (the console has no grants to end). */
  endGrants?: EndGrants;
}

export function installRules({ store, endGrants }: RuleParts): void {
  installRenameCascade(store);
  installDeviceCascade(store);
  installUserLifecycle(store, endGrants);
}
