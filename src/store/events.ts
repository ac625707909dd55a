/**
 * Device events (the Meeting API's "Connected" logs): an append-only table,
 * one row per event, capped per device at `status_max_logs` (the oldest go
 * first). The only SQL outside store.ts; writes run inside a Writer
 * transaction like every other store write.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export interface DeviceEvent {
  /** Milliseconds since the epoch. */
  at: number;
  event: string;
  /** The server that recorded it. */
  host: string;
  /** The device's address at that time. */
  remote: string;
}

export class DeviceEvents {
  private readonly st: Record<'insert' | 'trim' | 'list' | 'latest' | 'purge' | 'count', Statement>;

  constructor(db: Db) {
    this.st = {
      insert: db.prepare('INSERT INTO device_events (device_oid, at, event, host, remote) VALUES (?, ?, ?, ?, ?)'),
      // Everything older than the newest `keep` rows of the device; a NULL bound (fewer rows) deletes nothing.
      trim: db.prepare(
        'DELETE FROM device_events WHERE device_oid = ? AND id < (SELECT id FROM device_events WHERE device_oid = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
      list: db.prepare('SELECT at, event, host, remote FROM device_events WHERE device_oid = ? ORDER BY id DESC LIMIT ?'),
      latest: db.prepare('SELECT at, event, host, remote FROM device_events WHERE device_oid = ? ORDER BY id DESC LIMIT 1'),
      purge: db.prepare('DELETE FROM device_events WHERE device_oid = ?'),
      count: db.prepare('SELECT count(*) AS n FROM device_events'),
    };
  }

  /** Appends one event and drops the device's oldest beyond `keep`. Inside a transaction. */
  append(deviceOid: number, e: DeviceEvent, keep: number): void {
    this.st.insert.run(deviceOid, e.at, e.event, e.host, e.remote);
    this.st.trim.run(deviceOid, deviceOid, keep - 1);
  }

  /** Newest first, at most `limit`. */
  list(deviceOid: number, limit: number): DeviceEvent[] {
    return this.st.list.all(deviceOid, limit) as DeviceEvent[];
  }

  latest(deviceOid: number): DeviceEvent | undefined {
    return this.st.latest.get(deviceOid) as DeviceEvent | undefined;
  }

  /** Deletes every event of a device; returns how many. Inside a transaction. */
  purge(deviceOid: number): number {
    return this.st.purge.run(deviceOid).changes;
  }

  /** Rows in the table (metrics). */
  count(): number {
    return (this.st.count.get() as { n: number }).n;
  }
}
