/**
 * How a node learns that another node committed (AsyncStoreBackend.externalVersion on PostgreSQL).
 *
 * Every write transaction takes a number from `write_version_seq` in the same message to the server as its
 * COMMIT, just after it ("COMMIT; SELECT nextval(...)"), and transaction() returns only once that number came
 * back. A node reads the sequence's last value (one statement) once per event-loop turn. Why this order:
 * - a number is taken only after its transaction is visible, so a node that read the new number reads the
 *   new rows after it: nothing it caches under that number predates the write;
 * - a write is acknowledged only after its number was taken, so a node that reads after the acknowledgement
 *   reads a number past every one it read before: its caches are invalidated;
 * - nextval is outside transactions: no row every writer updates, so no SERIALIZABLE conflict between
 *   writers of unrelated rows, and a rolled-back transaction takes none (it wrote nothing).
 * The one gap: the server stopping between the COMMIT and the nextval of one message (a node killed after
 * sending it does not stop the server from running both).
 *
 * A node's own commits are not news to it (the store counts its writes itself, as SQLite's data_version does
 * not move for the connection's own commits): the numbers this node took are remembered, and the version
 * moves only when the sequence passed a number another node took.
 */
import { scalar, type Queryable } from './query.js';

/** Own numbers remembered at most (a node that never reads the version): past it they count as another's. */
const MAX_OWN = 10_000;

export const TAKE_WRITE_VERSION = "COMMIT; SELECT nextval('write_version_seq') AS v";

export class WriteVersion {
  /** Numbers this backend took, above the last value read. */
  private readonly own = new Set<number>();
  /** The sequence's value at the last read (undefined: never read). */
  private seen: number | undefined;
  private version = 0;

  constructor(private readonly db: Queryable) {}

  /** A number this backend's transaction took after its COMMIT. */
  took(n: number): void {
    if (this.seen !== undefined && n <= this.seen) return; // already counted, as another's: a spurious change only
    if (this.own.size >= MAX_OWN) this.own.clear();
    this.own.add(n);
  }

  async read(): Promise<number> {
    const now = (await scalar<number>(this.db, 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM write_version_seq', [])) ?? 0;
    if (this.seen === undefined) {
      // The first read is the baseline: nothing was cached before it.
      this.seen = now;
    } else if (now > this.seen) {
      let mine = 0;
      for (const n of this.own) if (n > this.seen && n <= now) mine++;
      if (mine < now - this.seen) this.version++;
      this.seen = now;
    }
    for (const n of this.own) if (n <= this.seen) this.own.delete(n);
    return this.version;
  }
}
