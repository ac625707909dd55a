/**
 * What a refused request must leave untouched: every row of every table of the
 * daemon's SQLite file, read through a read-only connection of its own while
 * the daemon runs (WAL lets both read at once).
 *
 * PRAGMA data_version changes whenever another connection commits, so an
 * unchanged version proves an unchanged store without reading it; when it did
 * change, the rows are hashed and compared (a commit of a batch whose only
 * savepoint was rolled back bumps the version yet changes nothing).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';

export interface StoreDiff {
  /** Tables whose rows differ, each with a few of the rows that appeared or went. */
  tables: Record<string, { added: string[]; removed: string[] }>;
}

/**
 * A table's rows as compared. A sliding session's stored expiry moves forward
 * whenever the session is used (in steps: when it lags by more than a tenth
 * of its lifetime or a minute), and a request refused for what it asked still
 * used its session: on a run longer than a minute that is a write, not a
 * finding. Its expiry is left out; every other column of every row counts.
 */
function selectAll(db: Database.Database, table: string): string {
  if (table !== 'grants') return `SELECT * FROM "${table}"`;
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]).map((c) =>
    c === 'expires_at' ? 'CASE WHEN sliding = 1 THEN NULL ELSE expires_at END' : `"${c}"`,
  );
  return `SELECT ${columns.join(', ')} FROM grants`;
}

export class StoreWatch {
  private readonly db: Database.Database;
  private version: number;
  private rows: Map<string, string[]> | undefined;
  /** How many full digests were computed (the fuzz reports it). */
  digests = 0;

  constructor(readonly file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    this.version = this.dataVersion();
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private tables(): string[] {
    // Not sqlite_sequence: a refused COMMIT raises the oid counter past the oids its reply reported, by design, so
    // they are never handed to another object (Store.sealOids); no object, property or setting changes with it.
    return (this.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name").pluck().all() as string[]);
  }

  /** Every table's rows as JSON lines, sorted: one read transaction, so one consistent picture. */
  snapshot(): Map<string, string[]> {
    this.digests++;
    return this.db.transaction(() => {
      const out = new Map<string, string[]>();
      for (const t of this.tables()) {
        const rows = this.db.prepare(selectAll(this.db, t)).raw().all().map((r) => JSON.stringify(r));
        out.set(t, rows.sort());
      }
      return out;
    })();
  }

  static digestOf(rows: Map<string, string[]>): string {
    const h = createHash('sha256');
    for (const [t, lines] of rows) {
      h.update(`\u0000${t}\u0000`);
      for (const l of lines) h.update(l).update('\n');
    }
    return h.digest('hex');
  }

  /** Reads the baseline again if anything was committed since: call before each request that may be refused. */
  ready(): void {
    const v = this.dataVersion();
    if (this.rows !== undefined && v === this.version) return;
    this.rows = this.snapshot();
    this.version = v;
  }

  /**
   * Call after a request (ready() came before it): a `refused` request must
   * not have changed the store. Returns the difference when it did.
   */
  check(refused: boolean): StoreDiff | undefined {
    const v = this.dataVersion();
    if (v === this.version || !refused) return undefined;
    const before = this.rows!;
    const now = this.snapshot();
    this.rows = now;
    this.version = v;
    if (StoreWatch.digestOf(before) === StoreWatch.digestOf(now)) return undefined;
    return diffRows(before, now);
  }

  /** The digest of the store now. */
  digest(): string {
    this.ready();
    return StoreWatch.digestOf(this.rows!);
  }

  close(): void {
    this.db.close();
  }
}

export function diffRows(before: Map<string, string[]>, after: Map<string, string[]>, keep = 5): StoreDiff {
  const tables: StoreDiff['tables'] = {};
  for (const t of new Set([...before.keys(), ...after.keys()])) {
    const a = new Set(before.get(t) ?? []);
    const b = new Set(after.get(t) ?? []);
    const added = [...b].filter((r) => !a.has(r));
    const removed = [...a].filter((r) => !b.has(r));
    if (added.length || removed.length) tables[t] = { added: added.slice(0, keep), removed: removed.slice(0, keep) };
  }
  return { tables };
}

/** `PRAGMA integrity_check` of a database file: 'ok' or the problems it lists. */
export function integrityCheck(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
