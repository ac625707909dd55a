/**
 * Stored rows for properties a schema gained. CREATE stores a row for every
 * property of the new object (its default when not given), and FIND matches
 * stored rows: after an `extend` adds a property, the objects created before
 * it lack its row. At start, planDefaults() (one read when the schema is
 * unchanged) names the properties whose defaults are not stored yet; the
 * store treats a missing row of those as the default (Store.defaultsUnstored),
 * and storeDefaults() fills the rows in the background, a window of oids per
 * group commit, so a start does not wait for a large store. The properties
 * whose rows are complete are remembered in the settings table; a fill cut
 * short by a stop resumes at the next start.
 *
 * Derived properties (schema `derivedFrom`) are never stored: rows a store
 * kept for one before it became derived are dropped, so no stale copy remains.
 */
import type { Db } from './db.js';
import type { PropertyDef, Schema } from '../schema/types.js';
import type { Writer } from './writer.js';

export const KNOWN_PROPERTIES_KEY = 'schema.properties';

export interface UnstoredDefault {
  /** `Class.name` or `Class.Namespace.name`. */
  key: string;
  cls: string;
  ns: string;
  prop: PropertyDef;
}

/** Objects per transaction of the fill: a short write between the daemon's own. */
const FILL_WINDOW = 5000;

/**
 * Drops the rows of newly derived properties and names the properties whose
 * default rows may be missing. A class without objects needs none: its
 * properties count as stored at once.
 */
export function planDefaults(db: Db, schema: Schema): UnstoredDefault[] {
  const getKnown = db.prepare('SELECT value FROM settings WHERE key = ?').pluck();
  const objectsOf = db.prepare('SELECT n FROM class_counts WHERE class = ?').pluck();
  const dropDerived = db.prepare('DELETE FROM props WHERE class = ? AND ns = ? AND name = ?');
  return db.transaction(() => {
    const stored = getKnown.get(KNOWN_PROPERTIES_KEY) as string | undefined;
    const known = new Set<string>(stored === undefined ? [] : (JSON.parse(stored) as string[]));
    const current: string[] = [];
    const unstored: UnstoredDefault[] = [];
    for (const cls of schema.classes.values()) {
      for (const ns of cls.namespaces.values()) {
        for (const prop of ns.properties.values()) {
          // Write-only values (passwords) live in the credentials table, never as rows.
          if (prop.writeOnly) continue;
          const key = [cls.name, ns.name, prop.name].filter((part) => part !== '').join('.');
          if (prop.derived) {
            // Known as stored: its rows go once (a derived property is remembered under its own mark).
            if (!known.has(`${key}=derived`)) dropDerived.run(cls.name, ns.name, prop.name);
            current.push(`${key}=derived`);
          } else if (known.has(key) || !((objectsOf.get(cls.name) as number | undefined) ?? 0)) {
            current.push(key);
          } else {
            unstored.push({ key, cls: cls.name, ns: ns.name, prop });
          }
        }
      }
    }
    writeKnown(db, current);
    return unstored;
  })();
}

/**
 * Stores the missing default rows of each property, in windows of oids through
 * the writer (upkeep: it goes on while writes are suspended), then records the
 * property as stored and tells `done`. Stops between windows once `stop()` says so.
 */
export async function storeDefaults(
  db: Db,
  writer: Writer,
  unstored: readonly UnstoredDefault[],
  done: (u: UnstoredDefault, rows: number) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  const fill = filler(db);
  for (const u of unstored) {
    let rows = 0;
    for (let from = 0; ; ) {
      if (stop()) return;
      const end = fill.windowEnd(u.cls, from);
      rows += await writer.maintenance(() => fill.insert(u, from, end));
      if (end === undefined) break;
      from = end;
    }
    await writer.maintenance(() => fill.known(u));
    done(u, rows);
  }
}

/** The same at once, in one transaction (the console, which serves nobody meanwhile). */
export function storeDefaultsNow(db: Db, unstored: readonly UnstoredDefault[], done: (u: UnstoredDefault, rows: number) => void): void {
  const fill = filler(db);
  db.transaction(() => {
    for (const u of unstored) {
      const rows = fill.insert(u, 0, undefined);
      fill.known(u);
      done(u, rows);
    }
  })();
}

function filler(db: Db) {
  const windowEnd = db.prepare('SELECT oid FROM objects WHERE class = ? AND oid > ? ORDER BY oid LIMIT 1 OFFSET ?').pluck();
  const insertMissing = db.prepare(
    'INSERT INTO props (oid, ns, name, class, value) SELECT o.oid, ?, ?, o.class, ? FROM objects o WHERE o.class = ? AND o.oid > ? AND o.oid <= ? ' +
      'AND NOT EXISTS (SELECT 1 FROM props p WHERE p.oid = o.oid AND p.ns = ? AND p.name = ?)',
  );
  const getKnown = db.prepare('SELECT value FROM settings WHERE key = ?').pluck();
  return {
    windowEnd: (cls: string, from: number) => windowEnd.get(cls, from, FILL_WINDOW - 1) as number | undefined,
    insert: (u: UnstoredDefault, from: number, end: number | undefined) =>
      insertMissing.run(u.ns, u.prop.name, u.prop.default, u.cls, from, end ?? Number.MAX_SAFE_INTEGER, u.ns, u.prop.name).changes,
    known(u: UnstoredDefault) {
      const known = JSON.parse((getKnown.get(KNOWN_PROPERTIES_KEY) as string | undefined) ?? '[]') as string[];
      writeKnown(db, [...new Set([...known, u.key])]);
    },
  };
}

function writeKnown(db: Db, keys: string[]): void {
  const next = JSON.stringify([...keys].sort());
  const stored = db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(KNOWN_PROPERTIES_KEY);
  if (next !== stored) db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(KNOWN_PROPERTIES_KEY, next);
}
