/**
 * ObjectRows on SQLite: objects, their properties (one row per object,
 * namespace and property, the class repeated so a FIND on a value is one
 * index range), credentials apart, settings. Statements are prepared once.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { decodeArray } from '../../schema/values.js';
import type { FindRun, FindSpec, ObjectRows, PageStart } from '../port.js';
import { compileFind, StatementCache } from './find.js';

export class SqliteObjects implements ObjectRows {
  private readonly st;
  private readonly dataVersion: Statement;
  private readonly statements: StatementCache;
  private test: (pattern: string, value: string) => boolean = () => false;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
    db.function('cce_regexp', { deterministic: true }, (pattern, value) => (this.test(String(pattern), String(value)) ? 1 : 0));
    // On an array property `~` means "any element matches", as `=` means "any element equals".
    db.function('cce_regexp_any', { deterministic: true }, (pattern, value) => {
      const p = String(pattern);
      return (decodeArray(String(value)) ?? []).some((e) => this.test(p, e)) ? 1 : 0;
    });
    this.st = {
      classOf: db.prepare('SELECT class FROM objects WHERE oid = ?').pluck(),
      propsOf: db.prepare('SELECT name, value FROM props WHERE oid = ? AND ns = ?').raw(),
      // One statement and one string out of SQLite instead of two statements and a row object per property:
      // a 29-property GET went from ~19 to ~7 µs of SQLite work.
      classAndNs: db.prepare('SELECT o.class, (SELECT json_group_object(p.name, p.value) FROM props p WHERE p.oid = o.oid AND p.ns = ?) FROM objects o WHERE o.oid = ?').raw(),
      // One JSON object per (object, namespace) rather than a row object per property (as classAndNs).
      allProps: db.prepare(
        'SELECT oid, ns, json_group_object(name, value) FROM props WHERE oid IN (SELECT value FROM json_each(?)) GROUP BY oid, ns',
      ).raw(),
      classesOf: db.prepare('SELECT oid, class FROM objects WHERE oid IN (SELECT value FROM json_each(?)) ORDER BY oid').raw(),
      insertObject: db.prepare('INSERT INTO objects (class, created_at, updated_at) VALUES (?, ?, ?)'),
      touch: db.prepare('UPDATE objects SET updated_at = ? WHERE oid = ?'),
      upsertProp: db.prepare(
        'INSERT INTO props (oid, ns, name, class, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value',
      ),
      uniqueHolder: db.prepare('SELECT oid FROM props WHERE class = ? AND ns = ? AND name = ? AND value = ? AND oid <> ? LIMIT 1').pluck(),
      deleteProps: db.prepare('DELETE FROM props WHERE oid = ?'),
      deleteCredentials: db.prepare('DELETE FROM credentials WHERE oid = ?'),
      deleteObject: db.prepare('DELETE FROM objects WHERE oid = ?'),
      upsertCredential: db.prepare(
        'INSERT INTO credentials (oid, name, hash, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (oid, name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
      ),
      credential: db.prepare('SELECT hash FROM credentials WHERE oid = ? AND name = ?').pluck(),
      propValue: db.prepare('SELECT value FROM props WHERE oid = ? AND ns = ? AND name = ?').pluck(),
      // The found object's oid and a few of its main-namespace values, in one statement.
      findOneFields: db.prepare(
        'SELECT d.oid, (SELECT json_group_object(p.name, p.value) FROM props p WHERE p.oid = d.oid AND p.ns = \'\' AND p.name IN (SELECT value FROM json_each(?))) ' +
          'FROM props d WHERE d.class = ? AND d.ns = ? AND d.name = ? AND d.value = ? ORDER BY d.oid LIMIT 1',
      ).raw(),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?').pluck(),
      putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      deleteSetting: db.prepare('DELETE FROM settings WHERE key = ?'),
      count: db.prepare('SELECT coalesce(sum(n), 0) FROM class_counts').pluck(),
      classCount: db.prepare('SELECT n FROM class_counts WHERE class = ?').pluck(),
      sealOids: db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'objects' AND seq < ?"),
      sealOidsFirst: db.prepare("INSERT INTO sqlite_sequence (name, seq) SELECT 'objects', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'objects')"),
    };
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  useMatcher(test: (pattern: string, value: string) => boolean): void {
    this.test = test;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  classOf(oid: number): string | undefined {
    return this.st.classOf.get(oid) as string | undefined;
  }

  classAndValues(oid: number, ns: string): { className: string; values: Record<string, unknown> } | undefined {
    const row = this.st.classAndNs.get(ns, oid) as [string, string] | undefined;
    return row && { className: row[0], values: JSON.parse(row[1]) as Record<string, unknown> };
  }

  values(oid: number, ns: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of this.st.propsOf.all(oid, ns) as [string, string][]) out[name] = value;
    return out;
  }

  classesOf(oids: readonly number[]): { oid: number; className: string }[] {
    return (this.st.classesOf.all(JSON.stringify(oids)) as [number, string][]).map(([oid, className]) => ({ oid, className }));
  }

  namespacesOf(oids: readonly number[]): [number, string, Record<string, unknown>][] {
    return (this.st.allProps.all(JSON.stringify(oids)) as [number, string, string][]).map(([oid, ns, json]) => [oid, ns, JSON.parse(json) as Record<string, unknown>]);
  }

  value(oid: number, ns: string, name: string): string | undefined {
    return this.st.propValue.get(oid, ns, name) as string | undefined;
  }

  firstWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): { oid: number; values: Record<string, unknown> } | undefined {
    const row = this.st.findOneFields.get(JSON.stringify(fields), className, ns, name, value) as [number, string] | undefined;
    return row && { oid: row[0], values: JSON.parse(row[1]) as Record<string, unknown> };
  }

  holderOf(className: string, ns: string, name: string, value: string, except: number): number | undefined {
    return this.st.uniqueHolder.get(className, ns, name, value, except) as number | undefined;
  }

  insertObject(className: string, now: number): number {
    return Number(this.st.insertObject.run(className, now, now).lastInsertRowid);
  }

  touch(oid: number, now: number): void {
    this.st.touch.run(now, oid);
  }

  putValue(oid: number, ns: string, name: string, className: string, value: string): void {
    this.st.upsertProp.run(oid, ns, name, className, value);
  }

  deleteObject(oid: number): void {
    this.st.deleteProps.run(oid);
    this.st.deleteCredentials.run(oid);
    this.st.deleteObject.run(oid);
  }

  putCredential(oid: number, name: string, hash: string, now: number): void {
    this.st.upsertCredential.run(oid, name, hash, now);
  }

  credential(oid: number, name: string): string | undefined {
    return this.st.credential.get(oid, name) as string | undefined;
  }

  setting(key: string): string | undefined {
    return this.st.getSetting.get(key) as string | undefined;
  }

  putSetting(key: string, value: string | undefined): void {
    if (value === undefined) this.st.deleteSetting.run(key);
    else this.st.putSetting.run(key, value);
  }

  count(): number {
    return this.st.count.get() as number;
  }

  classCount(className: string): number {
    return (this.st.classCount.get(className) as number | undefined) ?? 0;
  }

  /**
   * SQLite's AUTOINCREMENT counter is part of the transaction: raised here
   * inside it, so a rolled-back COMMIT (whose reply reported the oids it made)
   * cannot leave them free.
   */
  reserveOids(highest: number): void {
    if (this.st.sealOids.run(highest, highest).changes === 0) this.st.sealOidsFirst.run(highest);
  }

  externalVersion(): number {
    return this.dataVersion.get() as number;
  }

  find(spec: FindSpec): FindRun {
    return compileFind(this.statements, spec);
  }

  pageCount(className: string, by: string, prefix: string): number {
    const { where, params } = pageWhere(className, by, prefix);
    return this.statements.get(`SELECT count(*) ${where}`, true).get(...params) as number;
  }

  pageRows(className: string, by: string, prefix: string, start: PageStart, limit: number): { oid: number; value: string }[] {
    const { where, params } = pageWhere(className, by, prefix);
    if ('offset' in start) {
      return this.statements.get(`SELECT oid, value ${where} ORDER BY value, oid LIMIT ? OFFSET ?`).all(...params, limit, start.offset) as { oid: number; value: string }[];
    }
    // An entry right after (or at) the mark, in (value, oid) order: a range of the index.
    const past = start.inclusive ? '(value, oid) >= (?, ?)' : '(value, oid) > (?, ?)';
    return this.statements.get(`SELECT oid, value ${where} AND ${past} ORDER BY value, oid LIMIT ?`).all(...params, start.value, start.oid, limit) as { oid: number; value: string }[];
  }
}

function pageWhere(className: string, by: string, prefix: string): { where: string; params: unknown[] } {
  const range = prefix === '' ? '' : ' AND value >= ? AND value < ?';
  return { where: `FROM props WHERE class = ? AND ns = ? AND name = ?${range}`, params: [className, '', by, ...(prefix === '' ? [] : [prefix, prefixEnd(prefix)])] };
}

/** The smallest string greater than every string starting with `prefix` (its last code point plus one). */
export function prefixEnd(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop()!.codePointAt(0)!;
  return chars.join('') + String.fromCodePoint(last + 1);
}
