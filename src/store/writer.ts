/**
 * Group commit. Every write is a synchronous `Mutation`; mutations submitted
 * in the same turn of the event loop run in one transaction of the backend
 * (port.ts Transactions), each in its
 * own savepoint (a failing one is rolled back alone), and every promise settles
 * only after that transaction committed: an acknowledged write is on disk
 * (synchronous=FULL), yet a burst of writes costs one fsync, not one each.
 *
 * With `syncWal` (the daemon with db_synchronous=FULL), that fsync leaves the
 * event loop: see WalSync in sqlite/transactions.ts.
 *
 * A long batch does not hold the event loop: where the backend can serve
 * reads from the last committed state while a transaction is open (port.ts
 * ReadSnapshot: SQLite's second, read-only connection), the Writer pauses
 * between jobs, and between the steps of a sliced job (submitSliced: a
 * COMMIT's queued commands), once a slice has run SLICE_MS, and lets the
 * event loop serve others before it goes on. Meanwhile reads see the state
 * before the batch, and writes submitted wait for the next batch, in order:
 * the batch stays one transaction, all-or-nothing, acknowledged once durable.
 * Without a ReadSnapshot (a memory database) a batch runs in one go.
 */
import type { Durability, ReadSnapshot, Savepoint, StoreBackend, Transactions, Upkeep } from './port.js';
import { CceError, badParameters, storageFailure } from '../errors.js';

/** Resolves an oid argument: digits, or `$n` inside a COMMIT (the oid created by queued command n). */
export interface TxScope {
  oid(ref: string): number;
}

export type Mutation<R> = (scope: TxScope) => R;

/**
 * A mutation in steps: a generator whose every `yield` is a point where the
 * Writer may pause the transaction and let the event loop serve others (see
 * submitSliced). Its return value is the job's result; a throw undoes all of it.
 */
export type SlicedMutation<R> = (scope: TxScope) => Generator<void, R, void>;

/** Work a batch runs before it pauses (when the backend can serve reads meanwhile): a GET waits at most about this long. */
export const SLICE_MS = 5;

/** A savepoint opened by the Writer and the frames of effects and staged work that go with it. */
interface Frame {
  sp: Savepoint;
  staged: (() => void)[];
}

interface Job {
  /** The mutation; a sliced one returns its generator. */
  run: () => unknown;
  sliced: boolean;
  /** A sliced job under way: its steps and its savepoint. */
  steps?: Generator<void, unknown, void>;
  frame?: Frame;
  /** System maintenance: runs while writes are suspended (see Writer.maintenance). */
  maintenance: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  ok?: boolean;
  value?: unknown;
}

/** Digits only: an oid given directly. */
export function plainOid(ref: string): number {
  // Safe integers only: a larger number would silently round to another oid.
  if (!/^[1-9][0-9]{0,15}$/.test(ref) || !Number.isSafeInteger(Number(ref))) throw badParameters(`bad oid ${JSON.stringify(ref).slice(0, 40)}`);
  return Number(ref);
}

/** The refusal of every write while SUSPEND is in force: `309 SUSPENDED "reason"` (503 on the REST doors). */
export const suspendedError = (reason: string) => new CceError(309, JSON.stringify(reason));

const DIRECT: TxScope = {
  oid(ref) {
    if (ref.startsWith('$')) throw badParameters(`${ref} is only valid inside BEGIN ... COMMIT`);
    return plainOid(ref);
  },
};

export interface WriterOptions {
  /** fsync the WAL on the thread pool instead of in COMMIT (a file database in WAL mode; see WalSync). */
  syncWal?: boolean;
}

export class Writer {
  private pending: Job[] = [];
  private scheduled = false;
  private depth = 0;
  /** Side effects of the open savepoints, innermost last; they run only if everything around them commits. */
  private effects: (() => void)[][] = [];
  /**
   * Work staged by the open savepoints (see stage()), innermost last, kept
   * like `effects` (dropped with a rolled-back savepoint) but run inside the
   * transaction, just before its COMMIT.
   */
  private staged: (() => void)[][] = [];
  /** Called once a batch is durable (after its fsync, or its COMMIT without WalSync). */
  private readonly durable: (() => void)[] = [];
  /** A batch committed and not yet durable: readers may see writes whose acknowledgement is still due. */
  settling = false;
  private readonly tx: Transactions;
  private readonly wal: Durability | undefined;
  /** Where reads go while a batch pauses; undefined: batches never pause. */
  private readonly snapshot: ReadSnapshot | undefined;
  /** Upkeep a batch waits for (the WAL checkpoint), as it waits for the fsync. */
  private readonly upkeep: Upkeep | undefined;
  /** A batch is under way (its transaction open, running or paused): submissions wait for the next one. */
  private flushing = false;
  /** The open transaction waits between slices: nothing may write now. */
  private paused = false;
  /** When the running slice started (performance.now()). */
  private sliceStart = 0;
  /** Batches that paused at least once (the metrics and tests read it). */
  slicedBatches = 0;
  /** Transactions committed so far (the metrics read it). */
  commits = 0;
  /**
   * Why writes are suspended (SUSPEND), or undefined. While set, every job
   * fails with 309 when its turn comes, whatever door submitted it, except
   * maintenance jobs. Kept in memory (src/state.ts sets it): no query per write.
   */
  suspension: string | undefined;
  /** Run in every transaction after its jobs, just before COMMIT (see Store.sealOids). */
  private readonly beforeCommit: BeforeCommit[] = [];

  constructor(
    backend: StoreBackend,
    private readonly onCommitError: (err: unknown) => void = () => {},
    { syncWal = false }: WriterOptions = {},
  ) {
    this.tx = backend.tx;
    this.wal = this.tx.durability(syncWal);
    this.snapshot = this.tx.snapshot;
    this.upkeep = this.tx.upkeep;
  }

  /** Releases the WAL descriptor (before the database is closed). */
  close(): void {
    this.wal?.close();
  }

  /** Runs `m` in the next group transaction; resolves after it committed. */
  submit<R>(m: Mutation<R>, scope: TxScope = DIRECT): Promise<R> {
    return this.enqueue(m, scope, false, false);
  }

  /**
   * Runs a long mutation in the next group transaction, in slices: between
   * two of its steps the Writer may pause (see the top of this file). The
   * whole of it is one savepoint of that transaction: it lands entirely or,
   * if a step throws, not at all; resolves after it committed.
   */
  submitSliced<R>(m: SlicedMutation<R>, scope: TxScope = DIRECT): Promise<R> {
    return this.enqueue(m, scope, false, true);
  }

  /**
   * The one exemption from SUSPEND: a write of the daemon's own upkeep that
   * must go through while writes are suspended (SUSPEND and RESUME recording
   * themselves, and the console's `cced set-admin`, the repair that lets an
   * administrator in again to RESUME). Never for a client's data.
   */
  maintenance<R>(m: Mutation<R>): Promise<R> {
    return this.enqueue(m, DIRECT, true, false);
  }

  /**
   * Registers `fn` to run in every transaction just before its COMMIT (inside
   * it: its writes commit with the batch). Long work returns a generator: the
   * Writer may pause between its steps, as between a sliced job's.
   */
  onBeforeCommit(fn: BeforeCommit): void {
    this.beforeCommit.push(fn);
  }

  /** Registers `fn` to run after every batch that committed, once it is durable (when its writes are acknowledged). */
  onDurable(fn: () => void): void {
    this.durable.push(fn);
  }

  /**
   * Stages work of the running mutation to run inside its transaction just
   * before COMMIT, after every job of the batch and before the onBeforeCommit
   * hooks, only if the mutation's savepoint was kept: the change log
   * (src/store/changes.ts) merges a batch's writes there, and a rolled-back
   * write leaves nothing staged. Outside any transaction it runs at once,
   * followed by the onBeforeCommit hooks (as a commit would).
   */
  stage(work: () => void): void {
    this.mustRun();
    const frame = this.staged.at(-1);
    if (frame) frame.push(work);
    else this.runStaged([work]);
  }

  private runStaged(work: readonly (() => void)[]): void {
    const steps = this.stagedSteps(work);
    while (!steps.next().done);
  }

  /** The staged work, then the onBeforeCommit hooks, one step at a time. */
  private *stagedSteps(work: readonly (() => void)[]): Generator<void, void, void> {
    yield* eachOf(work);
    for (const fn of this.beforeCommit) {
      const steps = fn();
      if (steps) yield* steps;
    }
  }

  private enqueue<R>(m: Mutation<R> | SlicedMutation<R>, scope: TxScope, maintenance: boolean, sliced: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ run: () => m(scope), sliced, maintenance, resolve: resolve as (v: unknown) => void, reject });
      // While a batch is under way, the next one is scheduled when it ends.
      if (!this.scheduled && !this.flushing) this.schedule();
    });
  }

  private schedule(): void {
    this.scheduled = true;
    if (this.wal) this.wal.whenIdle(this.afterUpkeep);
    else setImmediate(this.afterUpkeep);
  }

  private readonly afterUpkeep = () => (this.upkeep ? this.upkeep.whenIdle(this.flushPending) : this.flush());

  /** Throws when the transaction is paused: code outside the Writer must not write into it then. */
  private mustRun(): void {
    if (this.paused) throw new Error('a write outside the Writer while its transaction is paused');
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction: if it throws, its
   * writes are undone, and so are the side effects it registered.
   */
  savepoint<R>(fn: () => R): R {
    const frame = this.openFrame();
    try {
      return this.keepFrame(frame, fn());
    } catch (err) {
      this.undoFrame(frame);
      throw err;
    } finally {
      this.depth--;
    }
  }

  private openFrame(): Frame {
    this.mustRun();
    const sp = this.tx.savepoint(this.depth++);
    sp.begin();
    this.effects.push([]);
    const staged: (() => void)[] = [];
    this.staged.push(staged);
    return { sp, staged };
  }

  /** Releases a savepoint whose work succeeded (the caller then leaves its depth). */
  private keepFrame<R>({ sp, staged }: Frame, r: R): R {
    this.staged.pop();
    const outerStaged = this.staged.at(-1);
    // With no transaction around it, the RELEASE below commits: the staged work goes in first.
    if (outerStaged) outerStaged.push(...staged);
    else this.runStaged(staged);
    sp.release();
    const done = this.effects.pop()!;
    const outer = this.effects.at(-1);
    // With no transaction around it, this RELEASE was the commit: its effects are due now.
    if (outer) outer.push(...done);
    else for (const effect of done) effect();
    return r;
  }

  /** Rolls a savepoint back with its effects and staged work (the caller then leaves its depth). */
  private undoFrame({ sp, staged }: Frame): void {
    sp.undo();
    sp.release();
    this.effects.pop();
    if (this.staged.at(-1) === staged) this.staged.pop();
  }

  /**
   * Registers a side effect of the running mutation (an audit line, ending a
   * user's sessions) to happen only once its writes have committed; a mutation
   * that is rolled back, alone or with its COMMIT, leaves no trace.
   */
  afterCommit(effect: () => void): void {
    this.mustRun();
    const frame = this.effects.at(-1);
    if (frame) frame.push(effect);
    else effect(); // outside any transaction (start-up, tests): nothing can undo it
  }

  private readonly flushPending = () => this.flush();

  private flush(): void {
    const jobs = this.pending;
    this.pending = [];
    this.scheduled = false;
    if (this.wal?.broken) {
      for (const j of jobs) j.reject(storageFailure('the store could not sync to disk; restart the daemon'));
      return;
    }
    try {
      this.tx.begin();
    } catch (err) {
      // Nothing ran (the database is locked past busy_timeout by another process, or unreadable): the cause goes
      // to the log, the client learns that the store, not its request, failed.
      this.onCommitError(err);
      for (const j of jobs) j.reject(storageFailure('the store could not begin a transaction'));
      return;
    }
    this.flushing = true;
    this.sliceStart = performance.now();
    const effects: (() => void)[] = [];
    this.effects.push(effects);
    const staged: (() => void)[] = [];
    this.staged.push(staged);
    this.runJobs({ jobs, effects, staged, paused: false }, 0);
  }

  /** Runs the batch's jobs from `i` on, pausing when a slice is over (see the top of this file), then commits it. */
  private runJobs(batch: Batch, i: number): void {
    for (; i < batch.jobs.length; i++) {
      const job = batch.jobs[i]!;
      if (job.sliced) {
        if (!this.step(job)) return this.pause(batch, i);
      } else {
        try {
          if (this.suspension !== undefined && !job.maintenance) throw suspendedError(this.suspension);
          job.value = this.savepoint(job.run);
          job.ok = true;
        } catch (err) {
          job.ok = false;
          job.value = err;
        }
      }
      if (i + 1 < batch.jobs.length && this.sliceOver()) return this.pause(batch, i + 1);
    }
    this.commit(batch);
  }

  /** Has the running slice had its time (and can the batch pause)? */
  private sliceOver(): boolean {
    return this.snapshot !== undefined && performance.now() - this.sliceStart >= SLICE_MS;
  }

  /**
   * Runs a sliced job's steps until it ends (true: its outcome is set) or the
   * slice is over (false: call again after a pause). The first call opens its
   * savepoint; the last one keeps it, or undoes it if a step threw.
   */
  private step(job: Job): boolean {
    try {
      if (job.frame === undefined) {
        if (this.suspension !== undefined && !job.maintenance) throw suspendedError(this.suspension);
        job.frame = this.openFrame();
        job.steps = job.run() as Generator<void, unknown, void>;
      }
    } catch (err) {
      job.ok = false;
      job.value = err;
      return true;
    }
    const frame = job.frame;
    try {
      for (;;) {
        const next = job.steps!.next();
        if (next.done) {
          job.value = this.keepFrame(frame, next.value);
          job.ok = true;
          break;
        }
        if (this.sliceOver()) return false;
      }
    } catch (err) {
      this.undoFrame(frame);
      job.ok = false;
      job.value = err;
    }
    this.depth--;
    return true;
  }

  /** Lets the event loop serve others (reads see the last committed state meanwhile), then goes on with job `i`. */
  private pause(batch: Batch, i: number): void {
    if (!batch.paused) this.slicedBatches++;
    batch.paused = true;
    this.yieldThen(true, () => this.runJobs(batch, i));
  }

  /**
   * Lets the event loop run, then calls `go`. With `inTransaction`, the
   * transaction is paused meanwhile: reads go to the last committed state and
   * nothing may write.
   */
  private yieldThen(inTransaction: boolean, go: () => void): void {
    if (inTransaction) {
      this.paused = true;
      this.snapshot!.pause();
    }
    setImmediate(() => {
      if (inTransaction) {
        this.snapshot!.resume();
        this.paused = false;
      }
      this.sliceStart = performance.now();
      go();
    });
  }

  /** Runs `steps` to their end in slices, then `done()`; a step that throws ends them with `failed(err)`. */
  private drive(steps: Iterator<void>, inTransaction: boolean, done: () => void, failed: (err: unknown) => void): void {
    try {
      while (!steps.next().done) {
        if (this.sliceOver()) return this.yieldThen(inTransaction, () => this.drive(steps, inTransaction, done, failed));
      }
    } catch (err) {
      return failed(err);
    }
    done();
  }

  /**
   * Ends a batch: its staged work and the onBeforeCommit hooks (the change
   * log's rows, one per object written), COMMIT, then the effects (an audit
   * line per write), each in slices as the jobs were; the jobs settle once
   * the effects ran and the commit is durable.
   */
  private commit({ jobs, effects, staged }: Batch): void {
    this.staged.pop();
    // The effects frame stays open meanwhile: what the staged work registers happens after COMMIT too.
    this.drive(this.stagedSteps(staged), true, () => {
      // The COMMIT writes the pages still in memory: it starts a slice of its own unless this one has just begun.
      if (performance.now() - this.sliceStart >= SLICE_MS / 2 && this.snapshot) return this.yieldThen(true, () => this.commitNow(jobs, effects));
      this.commitNow(jobs, effects);
    }, (err) => this.commitFailed(jobs, effects, err));
  }

  private commitNow(jobs: Job[], effects: (() => void)[]): void {
    try {
      this.effects.pop();
      this.tx.commit();
      this.commits++;
    } catch (err) {
      return this.commitFailed(jobs, effects, err);
    }
    this.committed(jobs, effects);
  }

  /** The commit itself failed (disk full, I/O error), or work just before it: nothing of the batch is durable. */
  private commitFailed(jobs: Job[], effects: (() => void)[], err: unknown): void {
    if (this.effects.at(-1) === effects) this.effects.pop();
    if (this.tx.inTransaction) this.tx.rollback();
    this.onCommitError(err);
    for (const j of jobs) j.reject(storageFailure('the store could not commit'));
    this.nextBatch();
  }

  private committed(jobs: Job[], effects: (() => void)[]): void {
    this.upkeep?.committed(this.onCommitError);
    // The fsync runs while the effects do; the jobs settle when both are over.
    let durable: { err: unknown } | undefined = this.wal ? undefined : { err: undefined };
    let effectsRun = false;
    const settle = () => {
      if (!durable || !effectsRun) return;
      if (durable.err !== undefined) {
        this.onCommitError(durable.err);
        for (const j of jobs) j.reject(storageFailure('the store could not sync to disk'));
        return;
      }
      this.settling = false;
      for (const fn of this.durable) fn();
      for (const j of jobs) (j.ok ? j.resolve : j.reject)(j.value);
    };
    if (this.wal) {
      this.settling = true;
      this.wal.after((err) => {
        durable = { err };
        settle();
      });
    }
    // An effect that throws is a bug: it is thrown, as it was before slicing, after the batch is released.
    this.drive(eachOf(effects), false, () => {
      effectsRun = true;
      this.nextBatch();
      settle();
    }, (err) => {
      this.nextBatch();
      throw err;
    });
  }

  /** The batch is over: what was submitted meanwhile goes in the next one (after the fsync now in flight). */
  private nextBatch(): void {
    this.flushing = false;
    if (this.pending.length > 0 && !this.scheduled) this.schedule();
  }
}

/** Calls each function in turn, a step each. */
function* eachOf(fns: readonly (() => void)[]): Generator<void, void, void> {
  for (const fn of fns) {
    fn();
    yield;
  }
}

/** Work just before COMMIT (see Writer.onBeforeCommit): nothing, or a generator to run in slices. */
export type BeforeCommit = () => void | Generator<void, void, void>;

/** A batch under way: its jobs and the frames of its transaction. */
interface Batch {
  jobs: Job[];
  effects: (() => void)[];
  staged: (() => void)[];
  /** Paused at least once. */
  paused: boolean;
}
