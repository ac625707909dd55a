/**
 * Reads that never see a transaction's uncommitted writes on a database with
 * no second connection (SQLite in memory: tests): while the Writer's
 * transaction is open, a read outside it waits until it has ended. A job's
 * `await` lets other requests run between two of its statements, and on one
 * connection they would read what the batch has not committed. A file
 * database reads from its reader connection instead (port.ts ReadSnapshot).
 */
import type { AsyncFindRun, AsyncObjectReads } from './async-port.js';
import type { Transactions } from './port.js';

type Method = (...args: unknown[]) => Promise<unknown>;

/** Each method of `target`, called at once outside a transaction, after it ended inside one. */
function afterTransactions<T extends object>(target: T, tx: Transactions): T {
  const out: Record<string, Method> = {};
  for (const [name, fn] of Object.entries(target as Record<string, Method>)) {
    if (typeof fn !== 'function' || name === 'find') continue;
    // Called at once when no transaction is open: a search's time (safe-regex.ts) covers the statement only then.
    out[name] = (...args) => (tx.inTransaction ? tx.settled().then(() => fn(...args)) : fn(...args));
  }
  return out as T;
}

export function settledReads(reads: AsyncObjectReads, tx: Transactions): AsyncObjectReads {
  return { ...afterTransactions(reads, tx), find: (spec): AsyncFindRun => afterTransactions(reads.find(spec), tx) };
}
