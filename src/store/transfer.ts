/**
 * What `cced export` and `cced import` (src/cli/cced-transfer.ts) need beyond
 * the Store API, on whichever backend, through the asynchronous port: one
 * consistent state to read (`snapshot()`: every object, property, device event
 * and credential read in chunks, so an export never holds the whole store),
 * and, inside the import's transaction (`w.transfer`), device events and
 * credentials as they were, and the oid counter moved past the oids an
 * import into an empty store kept (it creates each object at its export oid).
 */
import type { AsyncStoreBackend, SnapshotHandle } from './async-port.js';

export type { CredentialRecord } from './port.js';
export type { SnapshotHandle } from './async-port.js';

export class StoreTransfer {
  constructor(private readonly backend: AsyncStoreBackend) {}

  /** The database layout version (an export's header records it). */
  async layout(): Promise<number> {
    return (await this.backend.layout()).version;
  }

  /** Runs `fn` on one state of the store: writes committed meanwhile by others are not seen. */
  snapshot<R>(fn: (s: SnapshotHandle) => Promise<R>): Promise<R> {
    return this.backend.snapshot(fn);
  }
}
