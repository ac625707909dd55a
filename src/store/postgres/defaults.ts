/**
 * The default fill of a schema extension on PostgreSQL (../backfill.ts; sqlite/defaults.ts in PostgreSQL's
 * terms): a window of a class's oids, then one INSERT ... SELECT for the objects of that window lacking the
 * property's row. Every property is a row of props here (no heartbeat columns). Inside a transaction
 * (the plan at start, a window through the Writer), so SERIALIZABLE orders it against other nodes' writes.
 */
import type { AsyncDefaultWrites } from '../async-port.js';
import { changed, scalar, type Queryable } from './query.js';

export class PgDefaults implements AsyncDefaultWrites {
  constructor(private readonly db: Queryable) {}

  async dropProperty(className: string, ns: string, name: string): Promise<void> {
    await changed(this.db, 'DELETE FROM props WHERE class = $1 AND ns = $2 AND name = $3', [className, ns, name]);
  }

  windowEnd(className: string, from: number, offset: number): Promise<number | undefined> {
    return scalar<number>(this.db, 'SELECT oid FROM objects WHERE class = $1 AND oid > $2 ORDER BY oid LIMIT 1 OFFSET $3', [className, from, offset]);
  }

  /** A row written meanwhile (a SET, another node's fill) is kept: the primary key's conflict skips that object. */
  fill(className: string, ns: string, name: string, value: string, from: number, to: number): Promise<number> {
    return changed(
      this.db,
      'INSERT INTO props (oid, ns, name, class, value) SELECT oid, $1, $2, class, $3 FROM objects WHERE class = $4 AND oid > $5 AND oid <= $6 ' +
        'ON CONFLICT (oid, ns, name) DO NOTHING',
      [ns, name, value, className, from, to],
    );
  }
}
