/**
 * A find (port.ts FindSpec) as SQL: the driving index's rows as candidates,
 * one EXISTS per other term, `~` through the store's matcher (the cce_regexp
 * functions SqliteObjects registers). Statements are cached by their text.
 * A find driven by its class alone whose `~` pattern begins with a literal
 * (`^abc...`, ../prefix.ts) is driven by that term's range of props_find
 * instead of every object of the class; the matcher still decides each row.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { decodeArray } from '../../schema/values.js';
import type { FindRun, FindSpec } from '../port.js';
import { propRows } from './hot.js';
import { prefixRange } from '../prefix.js';

const MAX_FIND_STATEMENTS = 256;

/** Prepared statements by SQL text, bounded (a find's text depends on its criteria's shape, not values). */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  get(sql: string, pluck = false): Statement {
    const key = pluck ? `pluck\0${sql}` : sql;
    let s = this.statements.get(key);
    if (!s) {
      if (this.statements.size >= MAX_FIND_STATEMENTS) this.statements.clear();
      s = this.db.prepare(sql);
      if (pluck) s.pluck();
      this.statements.set(key, s);
    }
    return s;
  }
}

/**
 * The `~` functions a find's SQL calls, on the store's own connection
 * (objects.ts) and on each search thread's (search-worker.ts). On an array
 * property `~` means "any element matches", as `=` means "any element equals".
 */
export function registerMatcher(db: Db, test: (pattern: string, value: string) => boolean): void {
  db.function('cce_regexp', { deterministic: true }, (pattern, value) => (test(String(pattern), String(value)) ? 1 : 0));
  db.function('cce_regexp_any', { deterministic: true }, (pattern, value) => {
    const p = String(pattern);
    return (decodeArray(String(value)) ?? []).some((e) => test(p, e)) ? 1 : 0;
  });
}

export function compileFind(statements: StatementCache, spec: FindSpec): FindRun {
  const params: unknown[] = [];
  const conds: string[] = [];
  let candidates: string;
  const driver = spec.terms[spec.driver];
  const range = driver === undefined ? prefixRange(spec) : undefined;
  const driving = driver ?? range?.term;
  // The driver's rows: `props`, or a heartbeat column's narrow table in its shape (hot.ts).
  const driverRows = driving === undefined ? 'props' : propRows(spec.className, driving.ns, driving.name);
  if (driver !== undefined) {
    candidates = `FROM ${driverRows} WHERE class = ? AND ns = ? AND name = ? AND value = ?`;
    params.push(spec.className, driver.ns, driver.name, driver.value);
  } else if (range !== undefined) {
    // Text compares as its UTF-8 bytes (BINARY), the order prefix.ts's range is in.
    candidates = `FROM ${driverRows} WHERE class = ? AND ns = ? AND name = ? AND value >= ? AND value < ?`;
    params.push(spec.className, range.term.ns, range.term.name, range.from, range.to);
  } else {
    candidates = 'FROM objects WHERE class = ?';
    params.push(spec.className);
  }
  const candidateParams = [...params];
  let sql = `SELECT d.oid AS oid ${candidates.replace(`FROM ${driverRows}`, `FROM ${driverRows} d`).replace('FROM objects', 'FROM objects d')}`;
  spec.terms.forEach((c, i) => {
    if (i === spec.driver) return;
    let cond: string;
    if (c.op === '~') {
      cond = c.array ? 'cce_regexp_any(?, p.value)' : 'cce_regexp(?, p.value)';
      params.push(c.ns, c.name, c.value);
    } else if (c.array) {
      // Elements are URL-encoded, so '&' delimits them exactly: "any element equals".
      cond = "instr(p.value, '&' || ? || '&') > 0";
      params.push(c.ns, c.name, encodeURIComponent(c.value));
    } else {
      cond = 'p.value = ?';
      params.push(c.ns, c.name, c.value);
    }
    const rows = propRows(spec.className, c.ns, c.name);
    const stored = `EXISTS (SELECT 1 FROM ${rows} p WHERE p.oid = d.oid AND p.ns = ? AND p.name = ? AND ${cond})`;
    if (!c.orMissing) return void conds.push(stored);
    conds.push(`(${stored} OR NOT EXISTS (SELECT 1 FROM ${rows} p WHERE p.oid = d.oid AND p.ns = ? AND p.name = ?))`);
    params.push(c.ns, c.name);
  });
  if (conds.length) sql += ' AND ' + conds.join(' AND ');
  const sortParams = spec.sortBy ? [...params, spec.sortBy.ns, spec.sortBy.name] : params;
  const sorted = `SELECT m.oid AS oid, s.value AS sortvalue FROM (${sql}) m LEFT JOIN ${spec.sortBy ? propRows(spec.className, spec.sortBy.ns, spec.sortBy.name) : 'props'} s ON s.oid = m.oid AND s.ns = ? AND s.name = ? ORDER BY oid`;
  return {
    // Oids only: plucked numbers, no row object per hit.
    all: () => statements.get(sql + ' ORDER BY oid', true).all(...params) as number[],
    withSortValues: () => statements.get(sorted).all(...sortParams) as { oid: number; sortvalue: string | null }[],
    candidatesBeyond: (n) => statements.get(`SELECT oid ${candidates} LIMIT 1 OFFSET ?`, true).get(...candidateParams, n) !== undefined,
    windowEnd: (from, offset) => statements.get(`SELECT oid ${candidates} AND oid > ? ORDER BY oid LIMIT 1 OFFSET ?`, true).get(...candidateParams, from, offset) as number | undefined,
    range: (from, to, limit) => statements.get(`${sql} AND d.oid > ? AND d.oid <= ? ORDER BY oid LIMIT ?`, true).all(...params, from, to, limit) as number[],
  };
}
