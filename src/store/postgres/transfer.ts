/**
 * What `cced export` reads and `cced import` writes beyond the Store API, on PostgreSQL (sqlite/transfer.ts in
 * PostgreSQL's terms): chunks in key order, properties in byte order of namespace and name (as SQLite
 * orders them), and the oid sequence raised past the oids an import kept.
 */
import type { CredentialRecord, DeviceEvent } from '../port.js';
import type { AsyncTransferReads, AsyncTransferWrites } from '../async-port.js';
import { changed, rowsOf, type Queryable } from './query.js';

/** Rows read at a time: an export holds one chunk, never the whole store. */
const CHUNK = 1000;

export class PgTransfer implements AsyncTransferReads, AsyncTransferWrites {
  constructor(private readonly db: Queryable) {}

  async *objects(): AsyncIterable<{ oid: number; className: string }> {
    for (let after = 0; ; ) {
      const rows = await rowsOf<{ oid: number; class: string }>(this.db, 'SELECT oid, class FROM objects WHERE oid > $1 ORDER BY oid LIMIT $2', [after, CHUNK]);
      for (const r of rows) yield { oid: r.oid, className: r.class };
      if (rows.length < CHUNK) return;
      after = rows[rows.length - 1]!.oid;
    }
  }

  properties(oid: number): Promise<{ ns: string; name: string; value: string }[]> {
    return rowsOf(this.db, 'SELECT ns, name, value FROM props WHERE oid = $1 ORDER BY ns COLLATE "C", name COLLATE "C"', [oid]);
  }

  async *credentials(): AsyncIterable<CredentialRecord> {
    for (let after: [number, string] = [0, '']; ; ) {
      const rows = await rowsOf<CredentialRecord>(
        this.db,
        'SELECT oid, name, hash, updated_at FROM credentials WHERE oid > $1 OR (oid = $1 AND name COLLATE "C" > $2) ORDER BY oid, name COLLATE "C" LIMIT $3',
        [...after, CHUNK],
      );
      yield* rows;
      if (rows.length < CHUNK) return;
      const last = rows[rows.length - 1]!;
      after = [last.oid, last.name];
    }
  }

  async *events(): AsyncIterable<DeviceEvent & { device_oid: number }> {
    for (let after = 0; ; ) {
      const rows = await rowsOf<DeviceEvent & { id: number; device_oid: number }>(
        this.db,
        'SELECT id, device_oid, at, event, host, remote FROM device_events WHERE id > $1 ORDER BY id LIMIT $2',
        [after, CHUNK],
      );
      for (const { id, ...e } of rows) {
        after = id;
        yield e;
      }
      if (rows.length < CHUNK) return;
    }
  }

  async putCredential(c: CredentialRecord): Promise<void> {
    await changed(
      this.db,
      'INSERT INTO credentials (oid, name, hash, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (oid, name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
      [c.oid, c.name, c.hash, c.updated_at],
    );
  }

  async addEvent(deviceOid: number, e: DeviceEvent): Promise<void> {
    await changed(this.db, 'INSERT INTO device_events (device_oid, at, event, host, remote) VALUES ($1, $2, $3, $4, $5)', [deviceOid, e.at, e.event, e.host, e.remote]);
  }

  /** setval is outside the transaction: kept even if the import rolls back, as an oid taken is. */
  async reserveOids(highest: number): Promise<void> {
    await rowsOf(this.db, "SELECT setval('objects_oid_seq', $1::bigint) FROM objects_oid_seq WHERE NOT is_called OR last_value < $1::bigint", [highest]);
  }
}
