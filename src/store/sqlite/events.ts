/**
 * DeviceEventRows on SQLite (migration 2): an append-only table, one row per
 * event, capped per device at `status_max_logs` (the oldest go first).
 */
import type { Db } from './db.js';
import type { DeviceEvent, DeviceEventRows } from '../port.js';

/** Rows an export reads at a time. */
const CHUNK = 1000;

export class SqliteDeviceEvents implements DeviceEventRows {
  private readonly st;

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
      count: db.prepare('SELECT count(*) FROM device_events').pluck(),
      countBefore: db.prepare('SELECT count(*) FROM device_events WHERE at < ?').pluck(),
      deleteBefore: db.prepare('DELETE FROM device_events WHERE at < ?'),
      chunk: db.prepare('SELECT id, device_oid, at, event, host, remote FROM device_events WHERE id > ? ORDER BY id LIMIT ?'),
    };
  }

  append(deviceOid: number, e: DeviceEvent, keep: number): void {
    this.st.insert.run(deviceOid, e.at, e.event, e.host, e.remote);
    this.st.trim.run(deviceOid, deviceOid, keep - 1);
  }

  list(deviceOid: number, limit: number): DeviceEvent[] {
    return this.st.list.all(deviceOid, limit) as DeviceEvent[];
  }

  latest(deviceOid: number): DeviceEvent | undefined {
    return this.st.latest.get(deviceOid) as DeviceEvent | undefined;
  }

  purge(deviceOid: number): number {
    return this.st.purge.run(deviceOid).changes;
  }

  count(): number {
    return this.st.count.get() as number;
  }

  countBefore(at: number): number {
    return this.st.countBefore.get(at) as number;
  }

  deleteBefore(at: number): number {
    return this.st.deleteBefore.run(at).changes;
  }

  *each(): Iterable<DeviceEvent & { device_oid: number }> {
    for (let after = 0; ; ) {
      const rows = this.st.chunk.all(after, CHUNK) as (DeviceEvent & { id: number; device_oid: number })[];
      for (const { id, ...e } of rows) {
        after = id;
        yield e;
      }
      if (rows.length < CHUNK) return;
    }
  }

  add(deviceOid: number, e: DeviceEvent): void {
    this.st.insert.run(deviceOid, e.at, e.event, e.host, e.remote);
  }
}
