/** ChangeRows on SQLite: the change log's table (migration 4; see ../changes.ts). */
import type { Db } from './db.js';
import type { ChangeRow, ChangeRows } from '../port.js';

export class SqliteChanges implements ChangeRows {
  private readonly st;

  constructor(db: Db) {
    this.st = {
      insert: db.prepare('INSERT INTO changes (at, class, oid, ns, props, created, destroyed) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      after: db.prepare('SELECT id, at, class, oid, ns, props, created, destroyed FROM changes WHERE id > ? AND id <= ? ORDER BY id LIMIT ?'),
      sequence: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").pluck(),
      oldest: db.prepare('SELECT min(id) FROM changes').pluck(),
      // Within one chunk from the oldest: the newest id older than the cutoff (rows are in time order).
      ageBound: db.prepare('SELECT max(id) FROM changes WHERE id < ? AND at < ?').pluck(),
      prune: db.prepare('DELETE FROM changes WHERE id <= ?'),
    };
  }

  insert(at: number, className: string, oid: number, ns: string, props: string, created: boolean, destroyed: boolean): number {
    return Number(this.st.insert.run(at, className, oid, ns, props, created ? 1 : 0, destroyed ? 1 : 0).lastInsertRowid);
  }

  after(from: number, to: number, limit: number): ChangeRow[] {
    return this.st.after.all(from, to, limit) as ChangeRow[];
  }

  sequence(): number {
    return (this.st.sequence.get() as number | undefined) ?? 0;
  }

  oldest(): number | null {
    return this.st.oldest.get() as number | null;
  }

  ageBound(below: number, before: number): number | null {
    return this.st.ageBound.get(below, before) as number | null;
  }

  prune(through: number): number {
    return this.st.prune.run(through).changes;
  }
}
