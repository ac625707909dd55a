/**
 * What `cced export` and `cced import` (src/cli/cced-transfer.ts) need beyond
 * the Store API, on whichever backend: one consistent state to read, every
 * object, property, device event and credential read in chunks (an export
 * never holds the whole store), and, for an import into an empty store, the
 * oids moved back to those of the export.
 */
import type { CredentialRecord, DeviceEvent, StoreBackend } from './port.js';

export type { CredentialRecord } from './port.js';

export class StoreTransfer {
  constructor(private readonly backend: StoreBackend) {}

  /** The database layout version (an export's header records it). */
  layout(): number {
    return this.backend.layout().version;
  }

  /** Objects in the store (inside snapshot(): in that state). */
  count(): number {
    return this.backend.objects.count();
  }

  /** Runs `fn` on one state of the store: writes committed meanwhile by others are not seen. */
  snapshot<R>(fn: () => R): R {
    return this.backend.transfer.snapshot(fn);
  }

  /** Every object (soft-deleted ones too), in oid order. */
  objects(): Iterable<{ oid: number; className: string }> {
    return this.backend.transfer.objects();
  }

  /** Every stored property of an object, by namespace and name. */
  properties(oid: number): { ns: string; name: string; value: string }[] {
    return this.backend.transfer.properties(oid);
  }

  /** Every device event, oldest first. */
  events(): Iterable<DeviceEvent & { device_oid: number }> {
    return this.backend.events.each();
  }

  /** Every stored password or token hash. */
  credentials(): Iterable<CredentialRecord> {
    return this.backend.transfer.credentials();
  }

  /** Inside a Writer transaction, as every write below. */
  addEvent(deviceOid: number, e: DeviceEvent): void {
    this.backend.events.add(deviceOid, e);
  }

  putCredential(c: CredentialRecord): void {
    this.backend.transfer.putCredential(c);
  }

  /**
   * Moves objects just created (export oid -> oid they got) to their export
   * oids, which the store, empty before, has not handed out, and keeps the
   * oid counter past the highest so none is handed out again.
   */
  keepOids(created: ReadonlyMap<number, number>): void {
    this.backend.transfer.moveOids(new Map([...created].map(([old, now]) => [now, old])));
    let top = 0;
    for (const old of created.keys()) if (old > top) top = old;
    if (top > 0) this.backend.objects.reserveOids(top);
  }
}
