/**
 * WAL checkpoints off the event loop (port.ts Upkeep).
 *
 * SQLite's own checkpoint runs inside the COMMIT that takes the WAL past
 * 1,000 pages: it copies the WAL's pages into the database file and fsyncs
 * both, synchronously, on the connection that commits; here that is the
 * event loop, in the middle of some client's write (after a COMMIT of 10,000
 * SETs, tens of thousands of pages). So the writer connection runs with
 * wal_autocheckpoint=0, and a thread of its own (THREAD below, its own
 * connection) checkpoints, at most once per CHECKPOINT_EVERY_MS, started
 * by a commit. The thread starts with the connection (it does not keep a
 * console command's process alive; closing the last connection checkpoints).
 *
 * While a checkpoint runs, the Writer holds its next batch back (whenIdle),
 * as it does while the WAL's fsync is in flight: reads go on, and a
 * checkpoint no commit races copies every frame, so the next transaction
 * writes the WAL from its start again and the file stays as small as with
 * SQLite's own checkpoints (a PASSIVE checkpoint racing a steady stream of
 * commits would never let it restart). Durability is SQLite's: the thread's
 * connection syncs the WAL before copying and the database file after, and
 * the WAL is only restarted after such a complete checkpoint (see WalSync).
 *
 * If the thread fails, SQLite's own checkpoints are turned back on.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import type { Upkeep } from '../port.js';

/** The least time between two checkpoints: each costs one fsync of the WAL and one of the database file. */
export const CHECKPOINT_EVERY_MS = 1000;
/** SQLite's default, restored if the thread fails. */
const SQLITE_AUTOCHECKPOINT = 1000;

/**
 * The thread: its own connection to the file, one PASSIVE checkpoint per
 * message, answered with SQLite's figures ('close': it closes its connection
 * and ends). Plain JavaScript run with no
 * loader and no flags (execArgv []): a module loader of the parent (a test
 * runner's TypeScript hooks) must not be asked to load it, which can
 * deadlock with the main thread's own imports. `synchronous=FULL`: the
 * checkpoint syncs the WAL before it copies and the database file after.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (m) => {
  if (m === 'close') return void (db.close(), parentPort.close());
  try {
    const { busy, log, checkpointed } = checkpoint.get();
    parentPort.postMessage({ busy, log, checkpointed });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

/** What the thread answers (SQLite's figures: frames in the WAL, frames copied) or its error. */
type Answer = { busy: number; log: number; checkpointed: number } | { error: string };

export class Checkpoints implements Upkeep {
  private readonly worker: Worker;
  private running = false;
  private idle: (() => void)[] = [];
  private lastEnd = -Infinity;
  private failed = false;
  private onError: (err: unknown) => void = () => {};
  private started = 0;
  private readonly exited: Promise<void>;
  private closing = false;
  /** Checkpoints completed, the WAL frames the last one copied and how long it took in ms (tests read them). */
  runs = 0;
  lastCopied = 0;
  lastMs = 0;

  constructor(
    private readonly db: Db,
    private readonly everyMs = CHECKPOINT_EVERY_MS,
  ) {
    db.pragma('wal_autocheckpoint = 0');
    // Started now, so the first checkpoint does not wait for the thread to load.
    this.worker = this.spawn();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  committed(onError: (err: unknown) => void): void {
    this.onError = onError;
    if (this.running || this.failed || performance.now() - this.lastEnd < this.everyMs) return;
    this.running = true;
    this.started = performance.now();
    // Held while a checkpoint runs: a batch may be waiting for its end.
    this.worker.ref();
    this.worker.postMessage('checkpoint');
  }

  whenIdle(fn: () => void): void {
    if (this.running) this.idle.push(fn);
    else fn();
  }

  /**
   * Ends the thread once a checkpoint it is running is over; a batch held back for a checkpoint stays held (the
   * database is closing). Resolves when the thread has closed its connection and ended. It is asked, not
   * terminated: a thread stopped inside one of its SQLite calls (opening the file, say) aborts the process.
   */
  async close(): Promise<void> {
    this.failed = true;
    this.closing = true;
    this.idle = [];
    // Held until it has ended (done() leaves it so): the process would not wait for an unreferenced thread's exit.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }

  private spawn(): Worker {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(THREAD, { eval: true, execArgv: [], workerData: { file: this.db.name, sqlite } });
    w.on('message', (a: Answer) => {
      if ('error' in a) this.onError(new Error(`WAL checkpoint failed: ${a.error}`));
      else {
        this.runs++;
        this.lastCopied = a.checkpointed;
        this.lastMs = performance.now() - this.started;
      }
      this.lastEnd = performance.now();
      this.done();
    });
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => {
      if (!this.failed) this.fail(new Error(`the WAL checkpoint thread exited (${code})`));
    });
    // A console command may end while the thread idles: it must not keep the process alive (after the listeners,
    // which would take a reference again).
    w.unref();
    return w;
  }

  /** The thread is gone: SQLite checkpoints in COMMIT again, as by default. */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.onError(err);
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`);
    this.done();
  }

  private done(): void {
    this.running = false;
    if (!this.closing) this.worker.unref();
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }
}
