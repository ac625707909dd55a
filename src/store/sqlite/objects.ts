/**
 * ObjectRows on SQLite: objects, their properties (one row per object,
 * namespace and property, the class repeated so a FIND on a value is one
 * index range), a Device's heartbeat values in their narrow table (hot.ts),
 * credentials apart, settings. Statements are prepared once.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { FindRun, FindSpec, ObjectRows, PageStart } from '../port.js';
import { compileFind, registerMatcher, StatementCache } from './find.js';
import { HOT_CLASS as HOT_CLASS_NAME, HOT_COLUMNS, HOT_TABLE, hotColumn, maybeHot, propRows, type HotColumn } from './hot.js';

type HotStatements = Record<HotColumn, Statement>;
const hotStatements = (make: (c: HotColumn) => Statement): HotStatements =>
  Object.fromEntries(HOT_COLUMNS.map((c) => [c, make(c)])) as HotStatements;
const HOT_LIST = HOT_COLUMNS.join(', ');

export class SqliteObjects implements ObjectRows {
  private readonly st;
  private readonly dataVersion: Statement;
  private readonly statements: StatementCache;
  private test: (pattern: string, value: string) => boolean = () => false;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
    // The matcher is set later (useMatcher): the SQL functions call whichever is current.
    registerMatcher(db, (pattern, value) => this.test(pattern, value));
    this.st = {
      classOf: db.prepare('SELECT class FROM objects WHERE oid = ?').pluck(),
      propsOf: db.prepare('SELECT name, value FROM props WHERE oid = ? AND ns = ?').raw(),
      // One statement and one string out of SQLite instead of two statements and a row object per property:
      // a 29-property GET went from ~19 to ~7 µs of SQLite work.
      // With the heartbeat columns of a Device's main namespace as more columns (NULL: no value; hot.ts).
      classAndNs: db.prepare(
        `SELECT o.class, (SELECT json_group_object(p.name, p.value) FROM props p WHERE p.oid = o.oid AND p.ns = ?), ${HOT_COLUMNS.map((c) => `h.${c}`).join(', ')} ` +
          `FROM objects o LEFT JOIN ${HOT_TABLE} h ON h.oid = o.oid AND ? = '' WHERE o.oid = ?`,
      ).raw(),
      hotOf: db.prepare(`SELECT ${HOT_LIST} FROM ${HOT_TABLE} WHERE oid = ?`).raw(),
      hotOfMany: db.prepare(`SELECT oid, ${HOT_LIST} FROM ${HOT_TABLE} WHERE oid IN (SELECT value FROM json_each(?))`).raw(),
      // One JSON object per (object, namespace) rather than a row object per property (as classAndNs).
      allProps: db.prepare(
        'SELECT oid, ns, json_group_object(name, value) FROM props WHERE oid IN (SELECT value FROM json_each(?)) GROUP BY oid, ns',
      ).raw(),
      classesOf: db.prepare('SELECT oid, class FROM objects WHERE oid IN (SELECT value FROM json_each(?)) ORDER BY oid').raw(),
      insertObject: db.prepare('INSERT INTO objects (class, created_at, updated_at) VALUES (?, ?, ?)'),
      insertObjectAt: db.prepare('INSERT INTO objects (oid, class, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      touch: db.prepare('UPDATE objects SET updated_at = ? WHERE oid = ?'),
      upsertProp: db.prepare(
        'INSERT INTO props (oid, ns, name, class, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value',
      ),
      uniqueHolder: db.prepare('SELECT oid FROM props WHERE class = ? AND ns = ? AND name = ? AND value = ? AND oid <> ? LIMIT 1').pluck(),
      deleteProps: db.prepare('DELETE FROM props WHERE oid = ?'),
      deleteHot: db.prepare(`DELETE FROM ${HOT_TABLE} WHERE oid = ?`),
      // An unchanged value is not written: the page stays clean and an index entry (ip_address) unmoved.
      putHot: hotStatements((c) => db.prepare(`INSERT INTO ${HOT_TABLE} (oid, ${c}) VALUES (?, ?) ON CONFLICT (oid) DO UPDATE SET ${c} = excluded.${c} WHERE ${c} IS NOT excluded.${c}`)),
      // A heartbeat (putBeat): last_seen alone when the address is the one stored, so its index entry stays.
      beatClock: db.prepare(`UPDATE ${HOT_TABLE} SET last_seen = ? WHERE oid = ?`),
      beatBoth: db.prepare(
        `INSERT INTO ${HOT_TABLE} (oid, last_seen, ip_address) VALUES (?, ?, ?) ON CONFLICT (oid) DO UPDATE SET last_seen = excluded.last_seen, ip_address = excluded.ip_address`,
      ),
      beatBefore: db.prepare(`SELECT last_seen, ip_address FROM ${HOT_TABLE} WHERE oid = ?`).raw(),
      // An object of unknown class: its row in the narrow table if it is a Device, else its property row.
      hotValue: hotStatements((c) =>
        db.prepare(`SELECT coalesce((SELECT ${c} FROM ${HOT_TABLE} WHERE oid = ?), (SELECT value FROM props WHERE oid = ? AND ns = '' AND name = '${c}'))`).pluck(),
      ),
      hotHolder: hotStatements((c) => db.prepare(`SELECT oid FROM ${HOT_TABLE} WHERE ${c} = ? AND oid <> ? LIMIT 1`).pluck()),
      hotFirst: hotStatements((c) => db.prepare(`SELECT oid FROM ${HOT_TABLE} WHERE ${c} = ? ORDER BY oid LIMIT 1`).pluck()),
      fieldsOf: db.prepare("SELECT json_group_object(name, value) FROM props WHERE oid = ? AND ns = '' AND name IN (SELECT value FROM json_each(?))").pluck(),
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
    const row = this.st.classAndNs.get(ns, ns, oid) as [string, string, ...(string | null)[]] | undefined;
    if (row === undefined) return undefined;
    const values = JSON.parse(row[1]) as Record<string, unknown>;
    HOT_COLUMNS.forEach((c, i) => {
      if (row[i + 2] !== null) values[c] = row[i + 2];
    });
    return { className: row[0], values };
  }

  values(oid: number, ns: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of this.st.propsOf.all(oid, ns) as [string, string][]) out[name] = value;
    if (ns === '') addHot(out, this.st.hotOf.get(oid) as (string | null)[] | undefined);
    return out;
  }

  classesOf(oids: readonly number[]): { oid: number; className: string }[] {
    return (this.st.classesOf.all(JSON.stringify(oids)) as [number, string][]).map(([oid, className]) => ({ oid, className }));
  }

  namespacesOf(oids: readonly number[]): [number, string, Record<string, unknown>][] {
    const json = JSON.stringify(oids);
    const out = (this.st.allProps.all(json) as [number, string, string][]).map(([oid, ns, values]): [number, string, Record<string, unknown>] => [oid, ns, JSON.parse(values) as Record<string, unknown>]);
    const hot = this.st.hotOfMany.all(json) as [number, ...(string | null)[]][];
    if (hot.length === 0) return out;
    const main = new Map(out.filter(([, ns]) => ns === '').map(([oid, , values]) => [oid, values]));
    for (const [oid, ...columns] of hot) {
      let values = main.get(oid);
      if (values === undefined) out.push([oid, '', (values = {})]);
      addHot(values, columns);
    }
    return out;
  }

  value(oid: number, ns: string, name: string): string | undefined {
    if (maybeHot(ns, name)) return (this.st.hotValue[name].get(oid, oid) as string | null) ?? undefined;
    return this.st.propValue.get(oid, ns, name) as string | undefined;
  }

  firstWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): { oid: number; values: Record<string, unknown> } | undefined {
    const hot = hotColumn(className, ns, name);
    let found: { oid: number; values: Record<string, unknown> } | undefined;
    if (hot === undefined) {
      const row = this.st.findOneFields.get(JSON.stringify(fields), className, ns, name, value) as [number, string] | undefined;
      found = row && { oid: row[0], values: JSON.parse(row[1]) as Record<string, unknown> };
    } else {
      const oid = this.st.hotFirst[hot].get(value) as number | undefined;
      found = oid === undefined ? undefined : { oid, values: JSON.parse(this.st.fieldsOf.get(oid, JSON.stringify(fields)) as string) as Record<string, unknown> };
    }
    if (found !== undefined && className === HOT_CLASS_NAME && fields.some((f) => maybeHot('', f))) {
      const all: Record<string, unknown> = {};
      addHot(all, this.st.hotOf.get(found.oid) as (string | null)[] | undefined);
      for (const f of fields) if (typeof all[f] === 'string') found.values[f] = all[f];
    }
    return found;
  }

  holderOf(className: string, ns: string, name: string, value: string, except: number): number | undefined {
    const hot = hotColumn(className, ns, name);
    if (hot !== undefined) return this.st.hotHolder[hot].get(value, except) as number | undefined;
    return this.st.uniqueHolder.get(className, ns, name, value, except) as number | undefined;
  }

  insertObject(className: string, now: number, at?: number): number {
    if (at !== undefined) return Number(this.st.insertObjectAt.run(at, className, now, now).lastInsertRowid);
    return Number(this.st.insertObject.run(className, now, now).lastInsertRowid);
  }

  /**
   * updated_at is the time of the last write of an object's property rows: a
   * write of only the narrow table's values (a heartbeat) leaves it, as the
   * page it would rewrite is the one per beat the narrow table saves (nothing
   * reads updated_at; last_seen is that write's time).
   */
  touch(oid: number, now: number): void {
    if (this.rowsWritten !== oid) return;
    this.rowsWritten = 0;
    this.st.touch.run(now, oid);
  }

  /** The oid of the last property row written since the last touch() (0: none). */
  private rowsWritten = 0;

  putValue(oid: number, ns: string, name: string, className: string, value: string): void {
    const hot = hotColumn(className, ns, name);
    if (hot !== undefined) return void this.st.putHot[hot].run(oid, value);
    this.rowsWritten = oid;
    this.st.upsertProp.run(oid, ns, name, className, value);
  }

  /**
   * A heartbeat: the row of the narrow table read once (the previous last_seen, and whether the address moved),
   * then one write (no touch: see touch()). Outside the narrow table's class, the two property rows, touched.
   */
  putBeat(oid: number, className: string, lastSeen: string, ipAddress: string, now: number): string | undefined {
    if (className !== HOT_CLASS_NAME) {
      const before = this.value(oid, '', 'last_seen');
      this.putValue(oid, '', 'last_seen', className, lastSeen);
      this.putValue(oid, '', 'ip_address', className, ipAddress);
      this.touch(oid, now);
      return before;
    }
    const row = this.st.beatBefore.get(oid) as [string | null, string | null] | undefined;
    if (row !== undefined && row[1] === ipAddress) this.st.beatClock.run(lastSeen, oid);
    else this.st.beatBoth.run(oid, lastSeen, ipAddress);
    return row?.[0] ?? undefined;
  }

  deleteObject(oid: number): void {
    this.st.deleteProps.run(oid);
    this.st.deleteHot.run(oid);
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
    return this.statements.get(`SELECT oid, value ${where} AND ${past} ORDER BY value, oid LIMIT ? OFFSET ?`).all(...params, start.value, start.oid, limit, start.skip ?? 0) as {
      oid: number;
      value: string;
    }[];
  }
}

function pageWhere(className: string, by: string, prefix: string): { where: string; params: unknown[] } {
  const range = prefix === '' ? '' : ' AND value >= ? AND value < ?';
  // A heartbeat column (hot.ts) has no index in value order: its page is sorted from the narrow table.
  return { where: `FROM ${propRows(className, '', by)} WHERE class = ? AND ns = ? AND name = ?${range}`, params: [className, '', by, ...(prefix === '' ? [] : [prefix, prefixEnd(prefix)])] };
}

/** The narrow table's columns (in HOT_COLUMNS order; null: no value) into a namespace's values. */
function addHot(values: Record<string, unknown>, columns: readonly (string | null)[] | undefined): void {
  columns?.forEach((v, i) => {
    if (v !== null) values[HOT_COLUMNS[i]!] = v;
  });
}

/** The smallest string greater than every string starting with `prefix` (its last code point plus one). */
export function prefixEnd(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop()!.codePointAt(0)!;
  return chars.join('') + String.fromCodePoint(last + 1);
}
