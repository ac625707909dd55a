/**
 * A find (port.ts FindSpec) on PostgreSQL: the driving index's rows as
 * candidates and one EXISTS per `=` term, as on SQLite (sqlite/find.ts).
 * `~` runs in this process: PostgreSQL's own regular expressions are not the
 * store's matcher (its linear-time engine, its syntax), so each `~` term's
 * stored value comes back with the candidate and the store's matcher filters
 * it here. A find driven by its class alone whose `~` pattern begins with a
 * literal (`^abc...`, ../prefix.ts) is driven by that term instead: its
 * candidates are the values in the prefix's range of props_find (and the few
 * values too long for it, props_long), not every object of the class.
 */
import { decodeArray } from '../../schema/values.js';
import type { FindSpec, FindTerm, PatternTest } from '../port.js';
import type { AsyncFindRun } from '../async-port.js';
import { rowsOf, valueEquals, type Queryable } from './query.js';
import type { MatcherRef } from './objects.js';
import { prefixRange } from '../prefix.js';

type Row = Record<string, unknown> & { oid: number };

/** How long the `~` filter runs before it lets the event loop serve others (one value's test is never cut). */
const YIELD_AFTER_MS = 10;

export function compilePgFind(db: Queryable, spec: FindSpec, matcher: MatcherRef): AsyncFindRun {
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const driver = spec.terms[spec.driver];
  const range = driver === undefined ? prefixRange(spec) : undefined;
  const candidates =
    driver !== undefined
      ? `FROM props d WHERE d.class = ${p(spec.className)} AND d.ns = ${p(driver.ns)} AND d.name = ${p(driver.name)} AND ${valueEquals('d.value', p(driver.value), driver.value)}`
      : range !== undefined
        ? `FROM props d WHERE d.class = ${p(spec.className)} AND d.ns = ${p(range.term.ns)} AND d.name = ${p(range.term.name)} AND ${inRange('d.value', p(range.from), p(range.to))}`
        : `FROM objects d WHERE d.class = ${p(spec.className)}`;
  const candidateParams = [...params];
  const conds: string[] = [];
  const columns: string[] = [];
  const filtered: FindTerm[] = [];
  spec.terms.forEach((c, i) => {
    if (i === spec.driver) return;
    if (c.op === '~') {
      columns.push(`, (SELECT p.value FROM props p WHERE p.oid = d.oid AND p.ns = ${p(c.ns)} AND p.name = ${p(c.name)}) AS t${filtered.length}`);
      return void filtered.push(c);
    }
    // Array elements are URL-encoded, so '&' delimits them exactly: "any element equals".
    const cond = c.array ? `strpos(p.value, '&' || ${p(encodeURIComponent(c.value))} || '&') > 0` : `p.value = ${p(c.value)}`;
    const stored = `EXISTS (SELECT 1 FROM props p WHERE p.oid = d.oid AND p.ns = ${p(c.ns)} AND p.name = ${p(c.name)} AND ${cond})`;
    conds.push(c.orMissing ? `(${stored} OR NOT EXISTS (SELECT 1 FROM props p WHERE p.oid = d.oid AND p.ns = ${p(c.ns)} AND p.name = ${p(c.name)}))` : stored);
  });
  const where = `${candidates}${conds.length ? ' AND ' + conds.join(' AND ') : ''}`;
  const select = `SELECT d.oid${columns.join('')}`;

  /** Does the row match every `~` term (a missing row: as the term says)? */
  const matches = (r: Row, test: PatternTest) =>
    filtered.every((c, i) => {
      const v = r[`t${i}`] as string | null;
      if (v === null) return c.orMissing;
      return c.array ? (decodeArray(v) ?? []).some((e) => test(c.value, e)) : test(c.value, v);
    });
  /**
   * The rows every `~` term matches. The patterns run on the event loop, so the filter gives it back every
   * YIELD_AFTER_MS: other requests (other searches too) are answered between a long search's values, not after it.
   */
  const keep = async (rows: Row[], test: PatternTest): Promise<Row[]> => {
    const out: Row[] = [];
    let since = performance.now();
    for (const r of rows) {
      if (matches(r, test)) out.push(r);
      if (performance.now() - since < YIELD_AFTER_MS) continue;
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
    return out;
  };
  // Prepared: a find's text depends on the shape of its criteria, not their values, so the texts are few.
  const run = (sql: string, values: unknown[]) => rowsOf<Row>(db, sql, values);
  /**
   * A statement's rows that every `~` term matches: tested with the matcher of the search current when the
   * statement starts, as other searches may run before its rows come back.
   */
  const matching = (sql: string, values: unknown[]): Promise<Row[]> => {
    if (filtered.length === 0) return run(sql, values);
    const test = matcher.current?.() ?? matcher.test;
    return run(sql, values).then((rows) => keep(rows, test));
  };
  const more = (...extra: unknown[]) => {
    const all = [...params, ...extra];
    return { all, at: (i: number) => `$${params.length + i + 1}` };
  };

  return {
    all: async () => (await matching(`${select} ${where} ORDER BY d.oid`, params)).map((r) => r.oid),
    async withSortValues() {
      const m = more(spec.sortBy?.ns ?? '', spec.sortBy?.name ?? '');
      const sort = spec.sortBy ? `, (SELECT s.value FROM props s WHERE s.oid = d.oid AND s.ns = ${m.at(0)} AND s.name = ${m.at(1)}) AS sortvalue` : ', NULL AS sortvalue';
      const rows = await matching(`${select}${sort} ${where} ORDER BY d.oid`, spec.sortBy ? m.all : params);
      return rows.map((r) => ({ oid: r.oid, sortvalue: r.sortvalue as string | null }));
    },
    async candidatesBeyond(n) {
      const rows = await run(`SELECT d.oid ${candidates} LIMIT 1 OFFSET $${candidateParams.length + 1}`, [...candidateParams, n]);
      return rows.length > 0;
    },
    async windowEnd(from, offset) {
      const k = candidateParams.length;
      const rows = await run(`SELECT d.oid ${candidates} AND d.oid > $${k + 1} ORDER BY d.oid LIMIT 1 OFFSET $${k + 2}`, [...candidateParams, from, offset]);
      return rows[0]?.oid;
    },
    async range(from, to, limit) {
      // With a `~` term the limit applies after the filter, here.
      const m = more(from, to, limit);
      const limited = filtered.length === 0 ? ` LIMIT ${m.at(2)}` : '';
      const rows = await matching(`${select} ${where} AND d.oid > ${m.at(0)} AND d.oid <= ${m.at(1)} ORDER BY d.oid${limited}`, filtered.length === 0 ? m.all : m.all.slice(0, -1));
      return rows.slice(0, limit).map((r) => r.oid);
    },
  };
}

/**
 * `from <= value < to` (byte order: the column is COLLATE "C"), said once per partial index (props_find: up
 * to 2000 bytes; props_long: the rest), so the planner scans the range of each and nothing else.
 */
function inRange(column: string, from: string, to: string): string {
  const r = `${column} >= ${from} AND ${column} < ${to}`;
  return `((octet_length(${column}) <= 2000 AND ${r}) OR (octet_length(${column}) > 2000 AND ${r}))`;
}
