/**
 * WAL checkpoints off the event loop (port.ts Upkeep).
 *
 * SQLite's own checkpoint runs inside the COMMIT that takes the WAL past
 * 1,000 pages: it copies the WAL's pages into the database file and fsyncs
 * both, synchronously, on the connection that commits; here that is the
 * event loop, in the middle of some client's write (after a COMMIT of 10,000
 * SETs, tens of thousands of pages). So the writer connection runs with
 * wal_autocheckpoint=0, and a thread of its own (THREAD below, its own
 * connection) checkpoints, at most once per CHECKPOINT_EVERY_MS (at once
 * while the WAL is past half of RESTART_ABOVE_FRAMES), started by a commit.
 * The thread starts with the connection (it does not keep a console
 * command's process alive; closing the last connection checkpoints).
 *
 * A checkpoint is done in rounds. The first copies, while the Writer goes on
 * committing, every frame the WAL held when it started (at a fleet's pace,
 * tens of thousands of frames and an fsync of the database file: a fifth of a
 * second). Each further round copies only what was committed during the one
 * before, so the rounds shrink. A round during which nothing was committed has
 * copied everything: it ends the checkpoint, and the next transaction writes
 * the WAL from its start again. Under a steady stream of commits that never
 * happens: once a round copied fewer than HOLD_BELOW_FRAMES (or after
 * FREE_ROUNDS), the checkpoint either ends there, everything copied but what
 * the last round raced (the WAL goes on growing, the next checkpoint copies
 * on from there), or, once the WAL holds more than RESTART_ABOVE_FRAMES, runs
 * a last round with the Writer's next batch held back (whenIdle) and no batch
 * open: a round no commit races copies every frame, so the WAL starts over.
 * Writes wait only for that last, small round, and only once per
 * RESTART_ABOVE_FRAMES frames written (the round's fsync of the database file
 * is what they wait for: the fewer such rounds, the fewer writes see it).
 * Reads go on throughout. Durability is SQLite's: the thread's connection
 * syncs the WAL before copying and the database file after, and the WAL is
 * only restarted after such a complete checkpoint (see WalSync).
 *
 * If the thread fails, SQLite's own checkpoints are turned back on.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import type { Transactions, Upkeep, UpkeepTotals } from '../port.js';

/** The least time between two checkpoints: each round costs one fsync of the WAL and one of the database file. */
export const CHECKPOINT_EVERY_MS = 1000;
/** A round that copied fewer frames than this is followed by the held round (it will copy fewer still). */
export const HOLD_BELOW_FRAMES = 1000;
/** Rounds run beside the Writer's commits at most, before the held one. */
export const FREE_ROUNDS = 3;
/**
 * A WAL holding more frames than this (128 MiB of 4 KiB pages) starts over after the checkpoint: its last round
 * holds the writes back. Below it a checkpoint holds nothing: at a fleet's pace the WAL starts over every few
 * checkpoints rather than after each. The price is disk: the -wal file grows past this by what is written
 * during a checkpoint (it is not shrunk when the WAL starts over).
 */
export const RESTART_ABOVE_FRAMES = 32_768;
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

/**
 * The checkpoint sequence number in the WAL's header (bytes 12-15, big-endian): SQLite adds one each time the
 * WAL starts over. 0 for a WAL not written yet (or no -wal file).
 */
function walSequence(db: Db): number {
  const header = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(`${db.name}-wal`, 'r');
    return readSync(fd, header, 0, 4, 12) === 4 ? header.readUInt32BE(0) : 0;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What the thread answers (SQLite's figures: frames in the WAL, frames copied) or its error. */
type Answer = { busy: number; log: number; checkpointed: number } | { error: string };

export interface CheckpointOptions {
  /** The least time between two checkpoints (ms). */
  everyMs?: number;
  /** A WAL with more frames than this starts over after a checkpoint (0: after every one). */
  restartAboveFrames?: number;
}

export class Checkpoints implements Upkeep {
  private readonly worker: Worker;
  /** A checkpoint is under way (in any of its rounds). */
  private running = false;
  /** The Writer's next batch waits: the held round runs, or waits for the open batch to end. */
  private holding = false;
  private idle: (() => void)[] = [];
  private lastEnd = -Infinity;
  /** The WAL's frames at the last round's end (0 once it starts over). */
  private walFrames = 0;
  private failed = false;
  private onError: (err: unknown) => void = () => {};
  private started = 0;
  private heldSince = 0;
  /**
   * Of the running checkpoint: rounds answered, frames copied so far, the WAL's copied frames after the last
   * round (SQLite's figure), whether anything committed during this round.
   */
  private rounds = 0;
  private copied = 0;
  private backfilled = 0;
  private committedDuring = false;
  private readonly exited: Promise<void>;
  private closing = false;
  /**
   * Of the last checkpoint completed: the WAL frames it copied, how long it took and how long of it the
   * Writer's batches were held back, in ms, and its rounds (the tests read them).
   */
  lastCopied = 0;
  lastMs = 0;
  lastHeldMs = 0;
  lastRounds = 0;
  private readonly counts = { runs: 0, heldMs: 0, longestHeldMs: 0 };
  /** The WAL's sequence number when this started: restarts are counted from it. */
  private readonly sequenceAtStart: number;
  private restartsSeen = 0;
  private readonly everyMs: number;
  private readonly restartAboveFrames: number;

  /** Checkpoints completed. */
  get runs(): number {
    return this.counts.runs;
  }

  /**
   * The WAL's restarts are read from its header, not counted here: a checkpoint that ends with a commit racing
   * its last round may still have copied every frame, and the WAL then starts over all the same.
   */
  get totals(): UpkeepTotals {
    // Below the start's number only once the database closed (its -wal file removed): the last count stands.
    const sequence = walSequence(this.db);
    if (sequence >= this.sequenceAtStart) this.restartsSeen = sequence - this.sequenceAtStart;
    return { ...this.counts, restarts: this.restartsSeen };
  }

  /** `batches`: the Writer's transactions on `db`, whose end the held round waits for. */
  constructor(
    private readonly db: Db,
    private readonly batches: Pick<Transactions, 'inTransaction' | 'settled'>,
    { everyMs = CHECKPOINT_EVERY_MS, restartAboveFrames = RESTART_ABOVE_FRAMES }: CheckpointOptions = {},
  ) {
    this.everyMs = everyMs;
    this.restartAboveFrames = restartAboveFrames;
    db.pragma('wal_autocheckpoint = 0');
    this.sequenceAtStart = walSequence(db);
    // Started now, so the first checkpoint does not wait for the thread to load.
    this.worker = this.spawn();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  committed(onError: (err: unknown) => void): void {
    this.onError = onError;
    if (this.running) {
      this.committedDuring = true;
      return;
    }
    if (this.failed) return;
    // A WAL past half the bound is checkpointed again at once: it reaches the bound (and starts over) one
    // checkpoint's frames past it, not one interval's.
    if (performance.now() - this.lastEnd < this.everyMs && this.walFrames <= this.restartAboveFrames / 2) return;
    this.running = true;
    this.started = performance.now();
    this.rounds = 0;
    this.copied = 0;
    // Held while a checkpoint runs: a batch may be waiting for its last round.
    this.worker.ref();
    this.round();
  }

  whenIdle(fn: () => void): void {
    if (this.holding) this.idle.push(fn);
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
    w.on('message', (a: Answer) => this.answered(a));
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

  private round(): void {
    this.committedDuring = false;
    this.worker.postMessage('checkpoint');
  }

  /** A round ended: the checkpoint is complete, or the next round runs (beside the commits, or held). */
  private answered(a: Answer): void {
    if ('error' in a) {
      this.onError(new Error(`WAL checkpoint failed: ${a.error}`));
      return this.done();
    }
    this.rounds++;
    // `checkpointed` counts the frames copied since the WAL last started over (a commit during a round may start
    // it over, when the round before had copied everything).
    const copiedNow = a.checkpointed >= this.backfilled ? a.checkpointed - this.backfilled : a.checkpointed;
    this.backfilled = a.checkpointed;
    this.walFrames = a.log;
    this.copied += copiedNow;
    const complete = this.holding || (!this.committedDuring && a.checkpointed === a.log);
    if (complete || this.closing || this.failed) {
      if (complete) this.finished(true);
      return this.done();
    }
    if (copiedNow >= HOLD_BELOW_FRAMES && this.rounds < FREE_ROUNDS) return this.round();
    if (a.log <= this.restartAboveFrames) {
      this.finished(false);
      return this.done();
    }
    this.holding = true;
    this.heldSince = performance.now();
    void this.holdWhenNoBatchOpen();
  }

  /** The held round starts once no batch is open (one paused in the middle of its slices ends first). */
  private async holdWhenNoBatchOpen(): Promise<void> {
    // No new batch opens while holding: this waits for the open one alone.
    while (this.batches.inTransaction) await this.batches.settled();
    if (this.closing || this.failed) this.done();
    else this.round();
  }

  /** `restarts`: every frame is copied, the next transaction starts the WAL over. */
  private finished(restarts: boolean): void {
    const now = performance.now();
    this.lastCopied = this.copied;
    this.lastMs = now - this.started;
    this.lastHeldMs = this.holding ? now - this.heldSince : 0;
    this.lastRounds = this.rounds;
    // Frames are counted from the WAL's start: after a restart, from 0 again.
    if (restarts) this.backfilled = this.walFrames = 0;
    const t = this.counts;
    t.runs++;
    t.heldMs += this.lastHeldMs;
    t.longestHeldMs = Math.max(t.longestHeldMs, this.lastHeldMs);
  }

  private done(): void {
    this.lastEnd = performance.now();
    this.running = false;
    this.holding = false;
    if (!this.closing) this.worker.unref();
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }
}
