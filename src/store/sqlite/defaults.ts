/** DefaultRows on SQLite: the rows a schema extension's new properties need (see ../backfill.ts). */
import type { Db } from './db.js';
import type { DefaultRows } from '../port.js';
import { HOT_TABLE, hotColumn, type HotColumn } from './hot.js';

export class SqliteDefaults implements DefaultRows {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      dropDerived: db.prepare('DELETE FROM props WHERE class = ? AND ns = ? AND name = ?'),
      windowEnd: db.prepare('SELECT oid FROM objects WHERE class = ? AND oid > ? ORDER BY oid LIMIT 1 OFFSET ?').pluck(),
      insertMissing: db.prepare(
        'INSERT INTO props (oid, ns, name, class, value) SELECT o.oid, ?, ?, o.class, ? FROM objects o WHERE o.class = ? AND o.oid > ? AND o.oid <= ? ' +
          'AND NOT EXISTS (SELECT 1 FROM props p WHERE p.oid = o.oid AND p.ns = ? AND p.name = ?)',
      ),
    };
  }

  dropProperty(className: string, ns: string, name: string): void {
    const hot = hotColumn(className, ns, name);
    if (hot !== undefined) this.db.prepare(`UPDATE ${HOT_TABLE} SET ${hot} = NULL`).run();
    else this.st.dropDerived.run(className, ns, name);
  }

  windowEnd(className: string, from: number, offset: number): number | undefined {
    return this.st.windowEnd.get(className, from, offset) as number | undefined;
  }

  fill(className: string, ns: string, name: string, value: string, from: number, to: number): number {
    const hot = hotColumn(className, ns, name);
    if (hot !== undefined) return this.fillHot(hot, className, value, from, to);
    return this.st.insertMissing.run(ns, name, value, className, from, to, ns, name).changes;
  }

  /** The same for a heartbeat column (hot.ts): the objects' narrow rows, made or completed. */
  private fillHot(column: HotColumn, className: string, value: string, from: number, to: number): number {
    const sql =
      `INSERT INTO ${HOT_TABLE} (oid, ${column}) SELECT oid, ? FROM objects WHERE class = ? AND oid > ? AND oid <= ? ` +
      `ON CONFLICT (oid) DO UPDATE SET ${column} = excluded.${column} WHERE ${column} IS NULL`;
    return this.db.prepare(sql).run(value, className, from, to).changes;
  }
}
