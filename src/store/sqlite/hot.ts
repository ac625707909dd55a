/**
 * The narrow heartbeat table: a Device's last_seen and ip_address live in
 * `device_beats` (one small row per device, keyed by oid) instead of two
 * generic property rows (migration 6 moved them).
 *
 * Why: a heartbeat writes these two values, and as property rows each beat
 * rewrote four scattered B-tree pages (the device's property page, the
 * (class, ns, name, value) index entry of each value, the objects row).
 * Over a fleet larger than the page cache every beat then read and wrote
 * pages no other beat of its transaction shared, so the cost per beat grew
 * with the fleet. Here a beat rewrites one row of a table a few dozen bytes
 * per device wide, whose pages stay cached and are shared by the beats of a
 * transaction. ip_address keeps an index (FIND by address; it rarely changes,
 * and an unchanged value is not rewritten); last_seen has none: it changes at
 * every beat, sorting by it joins by oid, and a FIND by an exact last_seen
 * (a timestamp) scans this table (a few dozen bytes a row).
 *
 * Only this backend knows: every read of the port (GET, FIND, FINDX, sorting,
 * paging, export) sees these values as the property rows they were.
 */

export const HOT_TABLE = 'device_beats';
/** The class whose main namespace keeps these properties in HOT_TABLE. */
export const HOT_CLASS = 'Device';
/** Property names, each stored in the column of the same name. */
export const HOT_COLUMNS = ['last_seen', 'ip_address'] as const;
export type HotColumn = (typeof HOT_COLUMNS)[number];

const HOT_NAMES: ReadonlySet<string> = new Set(HOT_COLUMNS);

/** The column of HOT_TABLE holding this property, or undefined when it is stored as a property row. */
export function hotColumn(className: string, ns: string, name: string): HotColumn | undefined {
  return className === HOT_CLASS && ns === '' && HOT_NAMES.has(name) ? (name as HotColumn) : undefined;
}

/** Could this property of an object of unknown class be in HOT_TABLE? (Only a Device has a row there.) */
export function maybeHot(ns: string, name: string): name is HotColumn {
  return ns === '' && HOT_NAMES.has(name);
}

/**
 * Where one property's rows are, in the shape of `props` (oid, ns, name,
 * class, value): `props` itself, or for a heartbeat column its narrow table
 * as property rows. What a find's SQL names instead of `props`, so its terms
 * read the same either way.
 */
export function propRows(className: string, ns: string, name: string): string {
  const hot = hotColumn(className, ns, name);
  return hot === undefined ? 'props' : `(${hotRows(hot)})`;
}

/** The rows of one heartbeat column as property rows (oid, ns, name, class, value). */
function hotRows(column: HotColumn, where = 'TRUE'): string {
  return `SELECT oid, '' AS ns, '${column}' AS name, '${HOT_CLASS}' AS class, ${column} AS value FROM ${HOT_TABLE} WHERE ${column} IS NOT NULL AND (${where})`;
}

/** Every heartbeat column of the objects `where` selects (a condition on `oid`) as property rows. */
export function allHotRows(where: string): string {
  return HOT_COLUMNS.map((c) => hotRows(c, where)).join(' UNION ALL ');
}
