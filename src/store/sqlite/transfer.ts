/** TransferRows on SQLite: what `cced export` and `cced import` read and write beyond the Store API. */
import type { Db } from './db.js';
import type { CredentialRecord, TransferRows } from '../port.js';
import { allHotRows } from './hot.js';

/** Rows read at a time: an export holds one chunk, never the whole store. */
const CHUNK = 1000;

export class SqliteTransfer implements TransferRows {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      objects: db.prepare('SELECT oid, class FROM objects WHERE oid > ? ORDER BY oid LIMIT ?').raw(),
      // With a Device's heartbeat columns (hot.ts) among them, as the property rows they were.
      props: db.prepare(`SELECT ns, name, value FROM props WHERE oid = @oid UNION ALL SELECT ns, name, value FROM (${allHotRows('oid = @oid')}) ORDER BY ns, name`),
      credentials: db.prepare('SELECT oid, name, hash, updated_at FROM credentials WHERE (oid, name) > (?, ?) ORDER BY oid, name LIMIT ?'),
      putCredential: db.prepare(
        'INSERT INTO credentials (oid, name, hash, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (oid, name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
      ),
    };
  }

  snapshot<R>(fn: () => R): R {
    // A deferred transaction that only reads: one state of the file, while the daemon goes on writing.
    return this.db.inTransaction ? fn() : this.db.transaction(fn).deferred();
  }

  *objects(): Iterable<{ oid: number; className: string }> {
    for (let after = 0; ; ) {
      const rows = this.st.objects.all(after, CHUNK) as [number, string][];
      for (const [oid, className] of rows) yield { oid, className };
      if (rows.length < CHUNK) return;
      after = rows[rows.length - 1]![0];
    }
  }

  properties(oid: number): { ns: string; name: string; value: string }[] {
    return this.st.props.all({ oid }) as { ns: string; name: string; value: string }[];
  }

  *credentials(): Iterable<CredentialRecord> {
    for (let after: [number, string] = [0, '']; ; ) {
      const rows = this.st.credentials.all(...after, CHUNK) as CredentialRecord[];
      yield* rows;
      if (rows.length < CHUNK) return;
      const last = rows[rows.length - 1]!;
      after = [last.oid, last.name];
    }
  }

  putCredential(c: CredentialRecord): void {
    this.st.putCredential.run(c.oid, c.name, c.hash, c.updated_at);
  }

  /** Through negative oids first, so a move onto an oid another move frees never collides. */}
