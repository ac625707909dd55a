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
import type { ObjectRows, StoreBackend } from './port.js';
import type { PropertyDef, Schema } from '../schema/types.js';
import type { Writer, WriteTx } from './writer.js';

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
export function planDefaults(backend: StoreBackend, schema: Schema): UnstoredDefault[] {
  const { objects, defaults } = backend;
  return defaults.atomically(() => {
    const stored = objects.setting(KNOWN_PROPERTIES_KEY);
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
            if (!known.has(`${key}=derived`)) defaults.dropProperty(cls.name, ns.name, prop.name);
            current.push(`${key}=derived`);
          } else if (known.has(key) || objects.classCount(cls.name) === 0) {
            current.push(key);
          } else {
            unstored.push({ key, cls: cls.name, ns: ns.name, prop });
          }
        }
      }
    }
    writeKnown(objects, current);
    return unstored;
  });
}

/**
 * Stores the missing default rows of each property, in windows of oids through
 * the writer (upkeep: it goes on while writes are suspended), then records the
 * property as stored and tells `done`. Stops between windows once `stop()` says so.
 */
export async function storeDefaults(
  backend: StoreBackend,
  writer: Writer,
  unstored: readonly UnstoredDefault[],
  done: (u: UnstoredDefault, rows: number) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  const fill = filler(backend);
  for (const u of unstored) {
    let rows = 0;
    for (let from = 0; ; ) {
      if (stop()) return;
      const end = fill.windowEnd(u.cls, from);
      rows += await writer.maintenance(() => fill.insert(u, from, end));
      if (end === undefined) break;
      from = end;
    }
    await writer.maintenance((w) => knownIn(w, u));
    done(u, rows);
  }
}

/** The same at once, in one transaction (the console, which serves nobody meanwhile). */
export function storeDefaultsNow(backend: StoreBackend, unstored: readonly UnstoredDefault[], done: (u: UnstoredDefault, rows: number) => void): void {
  const fill = filler(backend);
  backend.defaults.atomically(() => {
    for (const u of unstored) {
      const rows = fill.insert(u, 0, undefined);
      fill.known(u);
      done(u, rows);
    }
  });
}

function filler({ objects, defaults }: StoreBackend) {
  return {
    windowEnd: (cls: string, from: number) => defaults.windowEnd(cls, from, FILL_WINDOW - 1),
    insert: (u: UnstoredDefault, from: number, end: number | undefined) =>
      defaults.fill(u.cls, u.ns, u.prop.name, u.prop.default, from, end ?? Number.MAX_SAFE_INTEGER),
    known(u: UnstoredDefault) {
      writeKnown(objects, withKey(objects.setting(KNOWN_PROPERTIES_KEY), u.key));
    },
  };
}

/** The stored list of properties whose defaults are stored, with `key` added. */
const withKey = (stored: string | undefined, key: string): string[] => [...new Set([...(JSON.parse(stored ?? '[]') as string[]), key])];

/** fill.known() inside a Writer job: through its handle. */
async function knownIn(w: WriteTx, u: UnstoredDefault): Promise<void> {
  const stored = await w.objects.setting(KNOWN_PROPERTIES_KEY);
  const next = JSON.stringify(withKey(stored, u.key).sort());
  if (next !== stored) await w.objects.putSetting(KNOWN_PROPERTIES_KEY, next);
}

function writeKnown(objects: ObjectRows, keys: string[]): void {
  const next = JSON.stringify([...keys].sort());
  if (next !== objects.setting(KNOWN_PROPERTIES_KEY)) objects.putSetting(KNOWN_PROPERTIES_KEY, next);
}
