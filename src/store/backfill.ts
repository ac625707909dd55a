/**
 * Stored rows for properties a schema gained. CREATE stores a row for every
 * property of the new object (its default when not given), and FIND matches
 * stored rows only: after an `extend` adds a property, the objects created
 * before it would show the default in GET yet never be found by it. At start,
 * every property the store has not met before gets its default stored for the
 * objects of its class that lack it, in one transaction. The properties met
 * are remembered in the settings table, so a start with an unchanged schema
 * costs one read; a store that predates that record is checked whole, once.
 *
 * Derived properties (schema `derivedFrom`) are never stored: rows a store
 * kept for one before it became derived are dropped, so no stale copy remains.
 */
import type { Db } from './db.js';
import type { Schema } from '../schema/types.js';

export const KNOWN_PROPERTIES_KEY = 'schema.properties';

export interface Backfill {
  /** `Class.name` or `Class.Namespace.name` of each property whose default was stored for some objects. */
  properties: string[];
  /** Rows stored. */
  rows: number;
}

export function backfillDefaults(db: Db, schema: Schema): Backfill {
  const getKnown = db.prepare('SELECT value FROM settings WHERE key = ?').pluck();
  const putKnown = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const insertMissing = db.prepare(
    'INSERT INTO props (oid, ns, name, class, value) SELECT o.oid, ?, ?, o.class, ? FROM objects o WHERE o.class = ? ' +
      'AND NOT EXISTS (SELECT 1 FROM props p WHERE p.oid = o.oid AND p.ns = ? AND p.name = ?)',
  );
  const dropDerived = db.prepare('DELETE FROM props WHERE class = ? AND ns = ? AND name = ?');
  return db.transaction(() => {
    const stored = getKnown.get(KNOWN_PROPERTIES_KEY) as string | undefined;
    const known = new Set<string>(stored === undefined ? [] : (JSON.parse(stored) as string[]));
    const current: string[] = [];
    const out: Backfill = { properties: [], rows: 0 };
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
            continue;
          }
          current.push(key);
          if (known.has(key)) continue;
          const rows = insertMissing.run(ns.name, prop.name, prop.default, cls.name, ns.name, prop.name).changes;
          if (rows > 0) out.properties.push(key);
          out.rows += rows;
        }
      }
    }
    const next = JSON.stringify(current.sort());
    if (next !== stored) putKnown.run(KNOWN_PROPERTIES_KEY, next);
    return out;
  })();
}
