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
 */
import type { Durability, StoreBackend, Transactions } from './port.js';
import { CceError, badParameters, storageFailure } from '../errors.js';

/** Resolves an oid argument: digits, or `$n` inside a COMMIT (the oid created by queued command n). */
export interface TxScope {
  oid(ref: string): number;
}

export type Mutation<R> = (scope: TxScope) => R;

interface Job {
  run: () => unknown;
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
  /** Transactions committed so far (the metrics read it). */
  commits = 0;
  /**
   * Why writes are suspended (SUSPEND), or undefined. While set, every job
   * fails with 309 when its turn comes, whatever door submitted it, except
   * maintenance jobs. Kept in memory (src/state.ts sets it): no query per write.
   */
  suspension: string | undefined;
  /** Run in every transaction after its jobs, just before COMMIT (see Store.sealOids). */
  private readonly beforeCommit: (() => void)[] = [];

  constructor(
    backend: StoreBackend,
    private readonly onCommitError: (err: unknown) => void = () => {},
    { syncWal = false }: WriterOptions = {},
  ) {
    this.tx = backend.tx;
    this.wal = this.tx.durability(syncWal);
  }

  /** Releases the WAL descriptor (before the database is closed). */
  close(): void {
    this.wal?.close();
  }

  /** Runs `m` in the next group transaction; resolves after it committed. */
  submit<R>(m: Mutation<R>, scope: TxScope = DIRECT): Promise<R> {
    return this.enqueue(m, scope, false);
  }

  /**
   * The one exemption from SUSPEND: a write of the daemon's own upkeep that
   * must go through while writes are suspended (SUSPEND and RESUME recording
   * themselves, and the console's `cced set-admin`, the repair that lets an
   * administrator in again to RESUME). Never for a client's data.
   */
  maintenance<R>(m: Mutation<R>): Promise<R> {
    return this.enqueue(m, DIRECT, true);
  }

  /** Registers `fn` to run in every transaction just before its COMMIT (inside it: its writes commit with the batch). */
  onBeforeCommit(fn: () => void): void {
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
    const frame = this.staged.at(-1);
    if (frame) frame.push(work);
    else this.runStaged([work]);
  }

  private runStaged(work: readonly (() => void)[]): void {
    for (const fn of work) fn();
    for (const fn of this.beforeCommit) fn();
  }

  private enqueue<R>(m: Mutation<R>, scope: TxScope, maintenance: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ run: () => m(scope), maintenance, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.wal) this.wal.whenIdle(this.flushPending);
        else setImmediate(this.flushPending);
      }
    });
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction: if it throws, its
   * writes are undone, and so are the side effects it registered.
   */
  savepoint<R>(fn: () => R): R {
    const sp = this.tx.savepoint(this.depth++);
    sp.begin();
    this.effects.push([]);
    const staged: (() => void)[] = [];
    this.staged.push(staged);
    try {
      const r = fn();
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
    } catch (err) {
      sp.undo();
      sp.release();
      this.effects.pop();
      if (this.staged.at(-1) === staged) this.staged.pop();
      throw err;
    } finally {
      this.depth--;
    }
  }

  /**
   * Registers a side effect of the running mutation (an audit line, ending a
   * user's sessions) to happen only once its writes have committed; a mutation
   * that is rolled back, alone or with its COMMIT, leaves no trace.
   */
  afterCommit(effect: () => void): void {
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
    const effects: (() => void)[] = [];
    this.effects.push(effects);
    const staged: (() => void)[] = [];
    this.staged.push(staged);
    for (const job of jobs) {
      try {
        if (this.suspension !== undefined && !job.maintenance) throw suspendedError(this.suspension);
        job.value = this.savepoint(job.run);
        job.ok = true;
      } catch (err) {
        job.ok = false;
        job.value = err;
      }
    }
    this.staged.pop();
    try {
      // The effects frame stays open meanwhile: what the staged work registers happens after COMMIT too.
      this.runStaged(staged);
      this.effects.pop();
      this.tx.commit();
      this.commits++;
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
      if (this.effects.at(-1) === effects) this.effects.pop();
      if (this.tx.inTransaction) this.tx.rollback();
      this.onCommitError(err);
      for (const j of jobs) j.reject(storageFailure('the store could not commit'));
      return;
    }
    for (const effect of effects) effect();
    const settle = () => {
      this.settling = false;
      for (const fn of this.durable) fn();
      for (const j of jobs) (j.ok ? j.resolve : j.reject)(j.value);
    };
    if (!this.wal) return settle();
    this.settling = true;
    this.wal.after((err) => {
      if (err === undefined) return settle();
      this.onCommitError(err);
      for (const j of jobs) j.reject(storageFailure('the store could not sync to disk'));
    });
  }
}
