/**
 * What `cced export` and `cced import` (src/cli/cced-transfer.ts) need beyond
 * the Store API, on whichever backend, through the asynchronous port: one
 * consistent state to read (`snapshot()`: every object, property, device event
 * and credential read in chunks, so an export never holds the whole store),
 * and, inside the import's transaction (`w.transfer`), device events and
 * credentials as they were, and the oids moved back to those of the export
 * when the store was empty.
 */
import type { AsyncStoreBackend, SnapshotHandle } from './async-port.js';
import type { WriteTx } from './writer.js';

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

/**
 * Moves objects just created (export oid -> oid they got) to their export
 * oids, which the store, empty before, has not handed out, and keeps the oid
 * counter past the highest so none is handed out again. Inside the import's
 * transaction.
 */
export async function keepOids(w: WriteTx, created: ReadonlyMap<number, number>): Promise<void> {
  await w.transfer.moveOids(new Map([...created].map(([old, now]) => [now, old])));
  let top = 0;
  for (const old of created.keys()) if (old > top) top = old;
  if (top > 0) await w.transfer.reserveOids(top);
}
