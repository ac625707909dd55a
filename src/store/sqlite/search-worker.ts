/**
 * A search thread (see search-threads.ts): runs the statements of finds with
 * client patterns on its own read-only connection to the store's file (WAL
 * lets it read beside the writer), so that a long search holds this thread,
 * never the event loop. Each statement runs within what is left of its
 * search's time limit, and says what it spent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ClientPatterns, SearchStopped, threadCpuClock, type SearchSpent } from '../safe-regex.js';
import { compileFind, registerMatcher, StatementCache } from './find.js';
import type { SearchCall, SearchResult } from './search-threads.js';

const { file, limits } = workerData as { file: string; limits: SearchSpent };
const db = open();
db.pragma('busy_timeout = 5000');
const patterns = new ClientPatterns(limits.cpuMs, threadCpuClock(), limits.wallMs);
registerMatcher(db, (pattern, value) => patterns.test(pattern, value));
const statements = new StatementCache(db);
const cpuNow = threadCpuClock();
const port = parentPort!;

/** The connection; a failure as a plain Error, which reaches the main thread whole (a SqliteError arrives as its code alone). */
function open(): Database.Database {
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error((err as Error).message);
  }
}

function answer(call: SearchCall): SearchResult {
  try {
    patterns.startSearch(Infinity, call.spent);
    const run = compileFind(statements, call.spec) as unknown as Record<string, (...args: unknown[]) => unknown>;
    return { value: run[call.method]!(...call.args) };
  } catch (err) {
    if (err instanceof SearchStopped) return { stoppedAfterMs: err.afterMs };
    return { failed: err instanceof Error ? err.message : String(err) };
  }
}

port.on('message', (call: SearchCall | 'close') => {
  // The store closes: the connection first, then the thread ends of itself.
  if (call === 'close') return void (db.close(), port.close());
  const cpu = cpuNow();
  const wall = performance.now();
  const done = answer(call);
  port.postMessage({ ...done, cpuMs: cpuNow() - cpu, wallMs: performance.now() - wall });
});
port.postMessage('ready');
