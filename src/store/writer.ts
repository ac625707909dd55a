/**
 * Group commit. Every write is a `Mutation`: an async function handed a
 * WriteTx (the transaction's handle, port TxHandle) that it reads and writes
 * through. Mutations submitted in the same turn of the event loop run in one
 * transaction of the backend (port.ts Transactions), one after another, each
 * in its own savepoint (a failing one is rolled back alone), and every promise
 * settles only after that transaction committed: an acknowledged write is on
 * disk (synchronous=FULL), yet a burst of writes costs one fsync, not one each.
 *
 * With `syncWal` (the daemon with db_synchronous=FULL), that fsync leaves the
 * event loop: see WalSync in sqlite/transactions.ts.
 *
 * While a batch is open, every read outside its handle sees the last
 * committed state (port.ts ReadSnapshot: SQLite's second, read-only
 * connection): a job's `await` lets other requests run between two of its
 * statements, and none of them may read what the batch has not committed.
 * A long batch does not hold the event loop: the Writer pauses between jobs,
 * and where a long job or hook awaits `w.yieldPoint()` (a COMMIT's queued
 * commands, the change log's rows), once a slice has run SLICE_MS, and lets
 * the event loop serve others before it goes on. Writes submitted meanwhile
 * wait for the next batch, in order: the batch stays one transaction,
 * all-or-nothing, acknowledged once durable. Without a ReadSnapshot (a memory
 * database) a batch runs in one go, and the store's reads outside it wait
 * for it to end (Transactions.settled).
 *
 * On a backend whose transactions run side by side (PostgreSQL,
 * `concurrentTransactions`) batches are kept too, one of this process at a
 * time, while other nodes commit theirs side by side: the database decides
 * between nodes (SERIALIZABLE, a conflict retried by the backend, so a batch
 * may run more than once), and jobs of one node never conflict with each
 * other (see flushTogether). Staged work and the onBeforeCommit hooks run
 * inside the transaction; effects and onDurable once it committed.
 */
import type { Durability, ReadSnapshot, StoreBackend, Transactions, Upkeep, UpkeepTotals } from './port.js';
import { TransactionConflict, type AsyncStoreBackend, type TxHandle } from './async-port.js';

/** A backend whose transactions run side by side (PostgreSQL; ConcurrentHost counts them). */
type ConcurrentBackend = Pick<AsyncStoreBackend, 'concurrentTransactions' | 'transaction'>;
import { CceError, badParameters, storageFailure } from '../errors.js';

/** Resolves an oid argument: digits, or `$n` inside a COMMIT (the oid created by queued command n). */
export interface TxScope {
  oid(ref: string): number;
}

/** Work staged by a mutation, or a hook, run inside the transaction just before COMMIT (see WriteTx.stage). */
export type StagedWork = (w: WriteTx) => void | Promise<void>;

/**
 * What a mutation reads and writes through: the handle of the batch's
 * transaction (port TxHandle: objects, change rows, grants, device events, on
 * the writer's connection), with the Writer's frames around it. Handed to the
 * mutation, the store's hooks and the onBeforeCommit hooks; unusable once the
 * batch ended. Its calls are made one after another (each awaited): two
 * savepoints open side by side would interleave.
 */
export interface WriteTx extends TxHandle {
  /**
   * Runs `fn` in a savepoint: if it throws, its writes are undone, and so are
   * the effects and staged work it registered; the error goes on.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Registers a side effect of the running mutation (an audit line, ending a
   * user's sessions) to happen only once its writes have committed; a
   * mutation that is rolled back, alone or with its COMMIT, leaves no trace.
   */
  afterCommit(effect: () => void): void;
  /**
   * Stages work of the running mutation to run inside its transaction just
   * before COMMIT, after every job of the batch and before the onBeforeCommit
   * hooks, only if the mutation's savepoint was kept: the change log
   * (src/store/changes.ts) merges a batch's writes there, and a rolled-back
   * write leaves nothing staged.
   */
  stage(work: StagedWork): void;
  /**
   * A point where the Writer may pause the batch (once its slice has run
   * SLICE_MS) and let the event loop serve others before it goes on: a long
   * mutation (a COMMIT's queued commands) awaits it between two steps.
   */
  yieldPoint(): Promise<void>;
  /**
   * The transaction of a bulk job (Writer.submitBulk, an import): what is told of its writes keeps nothing
   * per write for its COMMIT (the change log writes each row as the write is made, the audit sums its
   * writes in one line per class and operation, caches forget once).
   */
  readonly bulk: boolean;
}

/** A write: reads and writes through `w` only (never the shared Store's reads, which see the committed state). */
export type Mutation<R> = (w: WriteTx, scope: TxScope) => R | Promise<R>;

/** Work a batch runs before it pauses (when the backend can serve reads meanwhile): a GET waits at most about this long. */
export const SLICE_MS = 5;

interface Job {
  run: (w: WriteTx) => unknown;
  /** System maintenance: runs while writes are suspended (see Writer.maintenance). */
  maintenance: boolean;
  /** A bulk job (see Writer.submitBulk): alone in its transaction. */
  bulk?: true;
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

/** Work just before COMMIT (see Writer.onBeforeCommit): it may await w.yieldPoint() between its steps. */
export type BeforeCommit = (w: WriteTx) => void | Promise<void>;

export class Writer {
  private pending: Job[] = [];
  private scheduled = false;
  /** Called once a batch is durable (after its fsync, or its COMMIT without WalSync). */
  private readonly durable: (() => void)[] = [];
  /** A batch committed and not yet durable: readers may see writes whose acknowledgement is still due. */
  settling = false;
  /** SQLite's transactions (group commit); undefined on a backend with concurrent transactions. */
  private readonly tx: Transactions | undefined;
  /** A backend whose transactions run side by side (PostgreSQL): this node's batches take turns (see flushTogether). */
  private readonly concurrentBackend: ConcurrentBackend | undefined;
  private readonly wal: Durability | undefined;
  /** Where reads outside the batch's handle go while it is open; undefined: batches never pause. */
  private readonly snapshot: ReadSnapshot | undefined;
  /** Upkeep a batch waits for (the WAL checkpoint), as it waits for the fsync. */
  private readonly upkeep: Upkeep | undefined;
  /** A batch is under way (its transaction open, running or paused): submissions wait for the next one. */
  private flushing = false;
  /** The open transaction waits between slices: nothing may write now. */
  paused = false;
  /** The running batch has paused at least once. */
  private batchPaused = false;
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

  /**
   * The mode follows the backend: SQLite's one writer gets group commit on the synchronous port's
   * StoreBackend (paused between slices); a backend with `concurrentTransactions` (PostgreSQL) gets group
   * commit through its asynchronous transactions (flushTogether).
   */
  constructor(
    private readonly backend: StoreBackend | ConcurrentBackend,
    private readonly onCommitError: (err: unknown) => void = () => {},
    { syncWal = false }: WriterOptions = {},
  ) {
    if ('writerHandle' in backend) {
      this.tx = backend.tx;
      this.wal = this.tx.durability(syncWal);
      this.snapshot = this.tx.snapshot;
      this.upkeep = this.tx.upkeep;
    } else {
      if (!backend.concurrentTransactions) throw new Error('a backend without concurrent transactions needs its synchronous port (group commit)');
      this.concurrentBackend = backend;
    }
  }

  /** The backend's upkeep since the database opened (SQLite's checkpoints), or undefined where it has none. */
  get upkeepTotals(): UpkeepTotals | undefined {
    return this.upkeep?.totals;
  }

  /** Does each job run in a transaction of its own, concurrently with others (PostgreSQL)? */
  get concurrent(): boolean {
    return this.concurrentBackend !== undefined;
  }

  /** Releases the WAL descriptor (before the database is closed). */
  close(): void {
    this.wal?.close();
  }

  /** Runs `m` in the next group transaction; resolves after it committed. */
  submit<R>(m: Mutation<R>, scope: TxScope = DIRECT): Promise<R> {
    return this.enqueue((w) => m(w, scope), false);
  }

  /**
   * Runs `m` alone in a transaction of its own, in bulk (WriteTx.bulk): for a write too large for what
   * every write keeps until its COMMIT (an import of a million objects). All or nothing, and more: a
   * savepoint that fails inside it fails the whole job, even if the job caught the error, since what is
   * summed for the COMMIT cannot be taken back in part.
   */
  submitBulk<R>(m: Mutation<R>): Promise<R> {
    return this.enqueue((w) => m(w, DIRECT), false, true);
  }

  /**
   * The one exemption from SUSPEND: a write of the daemon's own upkeep that
   * must go through while writes are suspended (SUSPEND and RESUME recording
   * themselves, and the console's `cced set-admin`, the repair that lets an
   * administrator in again to RESUME). Never for a client's data.
   */
  maintenance<R>(m: Mutation<R>): Promise<R> {
    return this.enqueue((w) => m(w, DIRECT), true);
  }

  /**
   * Registers the check every job but maintenance passes first, inside its own transaction (and savepoint), before
   * it runs: on a database several nodes write, SUSPEND is a row another node may set at any moment, so a job reads
   * it there (src/state.ts). A check that throws refuses the job with that error.
   */
  admitWith(check: (w: WriteTx) => Promise<void>): void {
    this.admission = check;
  }

  private admission: ((w: WriteTx) => Promise<void>) | undefined;

  /** Refuses a job that may not run now: SUSPEND in force, or the admission check (once per transaction: one state). */
  private async admit(job: Job, w: BatchTx): Promise<void> {
    if (job.maintenance) return;
    if (this.suspension !== undefined) throw suspendedError(this.suspension);
    if (this.admission !== undefined) await (w.admitted ??= this.admission(w));
  }

  /**
   * Registers `fn` to run in every transaction just before its COMMIT (inside
   * it: its writes commit with the batch). Long work awaits w.yieldPoint()
   * between its steps, as a long job does.
   */
  onBeforeCommit(fn: BeforeCommit): void {
    this.beforeCommit.push(fn);
  }

  /** Registers `fn` to run after every batch that committed, once it is durable (when its writes are acknowledged). */
  onDurable(fn: () => void): void {
    this.durable.push(fn);
  }

  private enqueue<R>(run: (w: WriteTx) => unknown, maintenance: boolean, bulk = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const job: Job = { run, maintenance, resolve: resolve as (v: unknown) => void, reject, ...(bulk ? { bulk } : {}) };
      this.pending.push(job);
      // While a batch is under way, the next one is scheduled when it ends.
      if (!this.scheduled && !this.flushing) this.schedule();
    });
  }

  /** The jobs of the next batch: those submitted so far, up to a bulk job, which goes alone. */
  private takeBatch(): Job[] {
    const bulk = this.pending.findIndex((j) => j.bulk);
    const jobs = bulk === -1 ? this.pending : this.pending.slice(0, Math.max(bulk, 1));
    this.pending = bulk === -1 ? [] : this.pending.slice(jobs.length);
    this.scheduled = false;
    return jobs;
  }

  private schedule(): void {
    this.scheduled = true;
    const concurrent = this.concurrentBackend;
    if (concurrent) setImmediate(() => void this.flushTogether(concurrent));
    else if (this.wal) this.wal.whenIdle(this.afterUpkeep);
    else setImmediate(this.afterUpkeep);
  }

  private readonly afterUpkeep = () => (this.upkeep ? this.upkeep.whenIdle(this.flushPending) : this.flushPending());

  /** A failure here is a bug of the Writer or of an effect: thrown, as an exception of the event loop is. */
  private readonly flushPending = () => void this.flush();

  /**
   * The concurrent mode (PostgreSQL): the jobs submitted in one turn run in one transaction of the backend,
   * one batch of this node at a time (group commit, as on SQLite), while other nodes run theirs side by side.
   * Jobs of this node never meet each other (ten SETs of one object: one batch, in order, no conflict), the
   * database decides only between nodes, and a burst costs one BEGIN and one COMMIT. A lone job runs as the
   * transaction itself (no savepoint: its failure is the transaction's); several run each in a savepoint, a
   * failing one undone alone. A conflict the backend retries runs the whole batch again (so a job may run
   * more than once: a fresh WriteTx each time, and its effects, staged work and hooks belong to the run that
   * committed). Effects and the onDurable listeners run once the transaction returned (committed;
   * PostgreSQL's COMMIT is durable when it returns).
   */
  private async flushTogether(backend: ConcurrentBackend): Promise<void> {
    const jobs = this.takeBatch();
    this.flushing = true;
    try {
      // A batch that kept meeting other nodes' writes (SERIALIZABLE also sees two writes to one index page as a
      // conflict) runs again job by job: a small transaction meets fewer, and a job is refused with 409 only
      // when it kept conflicting alone.
      if (!(await this.commitTogether(backend, jobs, jobs.length > 1))) for (const job of jobs) await this.commitTogether(backend, [job], false);
    } finally {
      this.nextBatch();
    }
  }

  /** One transaction for `jobs`, settling them; false (nothing settled) when `splittable` and it kept conflicting. */
  private async commitTogether(backend: ConcurrentBackend, jobs: Job[], splittable: boolean): Promise<boolean> {
    let effects: (() => void)[] = [];
    /** What the lone job itself threw in its last run: its caller's answer (a refusal, a rolled-back COMMIT). */
    let own: { err: unknown } | undefined;
    /** A savepoint per job: once a job of this batch failed (see runOptimistic). */
    let careful = false;
    for (;;) {
      try {
        await backend.transaction(async (tx) => {
          own = undefined;
          const w = new BatchTx(tx, NO_PAUSE, undefined, jobs[0]!.bulk === true);
          try {
            // Checked in every run: a SUSPEND that came in while this batch waited for a retry holds it too.
            if (jobs.length === 1) await this.runLone(w, jobs[0]!).catch((err: unknown) => Promise.reject((own = { err }).err));
            else if (careful) await this.runJobs(w, jobs);
            else await this.runOptimistic(w, jobs);
            effects = await w.finish(this.beforeCommit);
          } finally {
            w.end();
          }
        });
        break;
      } catch (err) {
        if (err instanceof AJobFailed && !careful) {
          careful = true;
          continue;
        }
        if (splittable && err instanceof TransactionConflict) return false;
        const refusal = own !== undefined && own.err === err ? err : this.refusal(err);
        for (const j of jobs) j.reject(refusal);
        return true;
      }
    }
    this.commits++;
    for (const effect of effects) effect();
    for (const fn of this.durable) fn();
    for (const j of jobs) (j.ok ? j.resolve : j.reject)(j.value);
    return true;
  }

  /** A batch of one job: the transaction is its own (what it throws rolls the whole back). */
  private async runLone(w: BatchTx, job: Job): Promise<void> {
    await this.admit(job, w);
    job.value = await job.run(w);
    w.whole();
    job.ok = true;
  }

  /**
   * The jobs of a batch one after another with no savepoints (each is two round trips on PostgreSQL, as many
   * as a SET's own statements): when none fails, which is the rule, the batch is the same. When one does, the
   * whole transaction is rolled back and the batch runs again with a savepoint per job (runJobs), so that
   * job's failure is undone alone and answered as it is then.
   */
  private async runOptimistic(w: BatchTx, jobs: readonly Job[]): Promise<void> {
    for (const job of jobs) {
      try {
        await this.runLone(w, job);
      } catch (err) {
        throw new AJobFailed(err);
      }
    }
  }

  /**
   * What a client is told when its job's transaction failed: its own error (a CceError, a refusal), the
   * transaction failure (409) when the database kept seeing conflicts (a client may try again: nothing was
   * applied), or a storage failure (the database failed, not the request; the cause goes to the log).
   */
  private refusal(err: unknown): unknown {
    if (err instanceof CceError) return err;
    if (err instanceof TransactionConflict) return new CceError(409, `the write conflicted with concurrent writes ${err.attempts} times and was not applied; try again`);
    this.onCommitError(err);
    return storageFailure('the store could not commit');
  }

  private async flush(): Promise<void> {
    const tx = this.tx!;
    const jobs = this.takeBatch();
    if (this.wal?.broken) {
      for (const j of jobs) j.reject(storageFailure('the store could not sync to disk; restart the daemon'));
      return;
    }
    try {
      tx.begin();
    } catch (err) {
      // Nothing ran (the database is locked past busy_timeout by another process, or unreadable): the cause goes
      // to the log, the client learns that the store, not its request, failed.
      this.onCommitError(err);
      for (const j of jobs) j.reject(storageFailure('the store could not begin a transaction'));
      return;
    }
    this.flushing = true;
    this.batchPaused = false;
    this.sliceStart = performance.now();
    // From now until the transaction ends, a read outside its handle sees the last committed state: between two
    // statements of a job (an await) other requests run, and must never read what the batch has not committed.
    this.snapshot?.pause();
    const bulk = jobs[0]!.bulk === true;
    const w = new BatchTx((this.backend as StoreBackend).writerHandle(), this.breather, this.sliceDue, bulk);
    let effects: (() => void)[];
    /** What a bulk job threw: its own answer, and the whole transaction rolled back. */
    let own: { err: unknown } | undefined;
    try {
      if (bulk) await this.runLone(w, jobs[0]!).catch((err: unknown) => Promise.reject((own = { err }).err));
      else await this.runJobs(w, jobs);
      effects = await w.finish(this.beforeCommit);
      // The COMMIT writes the pages still in memory: it starts a slice of its own unless this one has just begun.
      if (performance.now() - this.sliceStart >= SLICE_MS / 2) await w.yieldPoint(0);
      tx.commit();
      this.commits++;
    } catch (err) {
      // The commit itself failed (disk full, I/O error), or work just before it: nothing of the batch is durable.
      if (tx.inTransaction) tx.rollback();
      if (own !== undefined && own.err === err) jobs[0]!.reject(err);
      else {
        this.onCommitError(err);
        for (const j of jobs) j.reject(storageFailure('the store could not commit'));
      }
      this.nextBatch();
      return;
    } finally {
      w.end();
      this.snapshot?.resume();
    }
    await this.committed(jobs, effects);
  }

  /** Each job in its own savepoint, a failing one undone alone; the batch may pause between two. */
  private async runJobs(w: BatchTx, jobs: readonly Job[]): Promise<void> {
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      // Asked first: a batch of beats is thousands of jobs, and a yield point that does not pause still costs a
      // promise and a microtask each.
      if (i > 0 && this.sliceOver(SLICE_MS)) await w.yieldPoint();
      try {
        job.value = await w.savepoint(async () => {
          await this.admit(job, w);
          return job.run(w);
        });
        job.ok = true;
      } catch (err) {
        job.ok = false;
        job.value = err;
      }
    }
  }

  private readonly sliceDue = (): boolean => this.sliceOver(SLICE_MS);

  /** Has the running slice had its time (and can the batch pause)? */
  private sliceOver(minMs: number): boolean {
    return this.snapshot !== undefined && performance.now() - this.sliceStart >= minMs;
  }

  /**
   * Lets the event loop serve others once the slice has run `minMs`. With
   * `inTransaction`, the transaction is paused meanwhile: nothing may write
   * into it (reads outside its handle see the last committed state anyway).
   */
  private readonly breather = async (minMs = SLICE_MS, inTransaction = true): Promise<void> => {
    if (!this.sliceOver(minMs)) return;
    if (inTransaction) {
      if (!this.batchPaused) this.slicedBatches++;
      this.batchPaused = true;
      this.paused = true;
    }
    await new Promise((resolve) => setImmediate(resolve));
    this.paused = false;
    this.sliceStart = performance.now();
  };

  /** Runs the batch's effects (audit lines) in slices; the jobs settle once they ran and the commit is durable. */
  private async committed(jobs: Job[], effects: (() => void)[]): Promise<void> {
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
    try {
      for (const effect of effects) {
        effect();
        await this.breather(SLICE_MS, false);
      }
    } finally {
      // An effect that throws is a bug: it is thrown (see flushPending) once the batch is released.
      this.nextBatch();
    }
    effectsRun = true;
    settle();
  }

  /** The batch is over: what was submitted meanwhile goes in the next one (after the fsync now in flight). */
  private nextBatch(): void {
    this.flushing = false;
    if (this.pending.length > 0 && !this.scheduled) this.schedule();
  }
}

/** A job of an optimistic batch failed: the batch runs again, a savepoint per job (Writer.runOptimistic). */
class AJobFailed extends Error {
  constructor(readonly failure: unknown) {
    super('a job of the batch failed');
  }
}

/** The effects and staged work of one open savepoint. */
interface Frame {
  effects: (() => void)[];
  staged: StagedWork[];
}

/** A transaction that never pauses (PostgreSQL: reads outside it go to other connections, and never wait for it). */
const NO_PAUSE = (): Promise<void> => Promise.resolve();

/**
 * The WriteTx of one batch (group commit) or one job (concurrent mode): its handle, and the frames of the
 * savepoints open in it (the transaction's own first).
 */
class BatchTx implements WriteTx {
  readonly objects;
  readonly changes;
  readonly grants;
  readonly events;
  private readonly frames: Frame[] = [{ effects: [], staged: [] }];
  private ended = false;
  /** The Writer's admission check as run in this transaction (its jobs share it: one snapshot, one answer). */
  admitted: Promise<void> | undefined;

  /** A savepoint of a bulk transaction failed: it may not commit (see Writer.submitBulk). */
  private failed: { err: unknown } | undefined;

  /** `due`: whether a yield point would pause now (never, where the transaction never pauses). */
  constructor(
    private readonly handle: TxHandle & { end?(): void },
    private readonly pause: (minMs?: number) => Promise<void>,
    private readonly due: () => boolean = () => false,
    readonly bulk = false,
  ) {
    ({ objects: this.objects, changes: this.changes, grants: this.grants, events: this.events } = handle);
  }

  /** Throws when the batch is over or paused: code outside the Writer must not write into it then. */
  private live(): Frame {
    if (this.ended) throw new Error('the transaction has ended');
    if (this.paused) throw new Error('a write outside the Writer while its transaction is paused');
    return this.frames.at(-1)!;
  }

  private paused = false;

  async yieldPoint(minMs?: number): Promise<void> {
    this.paused = true;
    try {
      await this.pause(minMs);
    } finally {
      this.paused = false;
    }
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    this.live();
    const frame: Frame = { effects: [], staged: [] };
    this.frames.push(frame);
    try {
      const r = await this.handle.savepoint(fn);
      this.frames.pop();
      const outer = this.frames.at(-1)!;
      // A loop, not push(...): a spread of a large savepoint's effects (an import's) overflows the call stack.
      for (const effect of frame.effects) outer.effects.push(effect);
      for (const work of frame.staged) outer.staged.push(work);
      return r;
    } catch (err) {
      if (this.frames.at(-1) === frame) this.frames.pop();
      if (this.bulk) this.failed ??= { err };
      throw err;
    }
  }

  /** Throws what a savepoint of a bulk transaction threw, if one did: the transaction may not commit then. */
  whole(): void {
    if (this.failed) throw this.failed.err;
  }

  afterCommit(effect: () => void): void {
    this.live().effects.push(effect);
  }

  stage(work: StagedWork): void {
    this.live().staged.push(work);
  }

  /** An import's writes (made on first use, never on the hot path). */
  get transfer(): TxHandle['transfer'] {
    this.live();
    return this.handle.transfer;
  }

  /** The default fill's rows (a start's upkeep, never on the hot path). */
  get defaults(): TxHandle['defaults'] {
    this.live();
    return this.handle.defaults;
  }

  /** The staged work, then the onBeforeCommit hooks, with a pause point after each; returns the batch's effects. */
  async finish(hooks: readonly BeforeCommit[]): Promise<(() => void)[]> {
    const batch = this.frames[0]!;
    // What the staged work registers happens after COMMIT too; what it stages goes after it. A batch of beats
    // stages thousands of synchronous steps: each is awaited, and yields, only when it has to.
    for (let i = 0; i < batch.staged.length; i++) {
      const step = batch.staged[i]!(this);
      if (step instanceof Promise) await step;
      if (this.due()) await this.yieldPoint();
    }
    for (const fn of hooks) {
      await fn(this);
      await this.yieldPoint();
    }
    return batch.effects;
  }

  end(): void {
    this.ended = true;
    this.handle.end?.();
  }
}
