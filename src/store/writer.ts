/**
 * Group commit. Every write is a synchronous `Mutation`; mutations submitted
 * in the same turn of the event loop run in one SQLite transaction, each in its
 * own savepoint (a failing one is rolled back alone), and every promise settles
 * only after that transaction committed: an acknowledged write is on disk
 * (synchronous=FULL), yet a burst of writes costs one fsync, not one each.
 */
import type { Db } from './db.js';
import { CceError, badParameters } from '../errors.js';

/** Resolves an oid argument: digits, or `$n` inside a COMMIT (the oid created by queued command n). */
export interface TxScope {
  oid(ref: string): number;
}

export type Mutation<R> = (scope: TxScope) => R;

interface Job {
  run: () => unknown;
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

const DIRECT: TxScope = {
  oid(ref) {
    if (ref.startsWith('$')) throw badParameters(`${ref} is only valid inside BEGIN ... COMMIT`);
    return plainOid(ref);
  },
};

export class Writer {
  private pending: Job[] = [];
  private scheduled = false;
  private depth = 0;
  /** Side effects of the open savepoints, innermost last; they run only if everything around them commits. */
  private effects: (() => void)[][] = [];
  private readonly begin;
  private readonly commit;
  private readonly rollback;
  /** Transactions committed so far (the metrics read it). */
  commits = 0;

  constructor(
    private readonly db: Db,
    private readonly onCommitError: (err: unknown) => void = () => {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Runs `m` in the next group transaction; resolves after it committed. */
  submit<R>(m: Mutation<R>, scope: TxScope = DIRECT): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ run: () => m(scope), resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction: if it throws, its
   * writes are undone, and so are the side effects it registered.
   */
  savepoint<R>(fn: () => R): R {
    const name = `sp${this.depth++}`;
    this.db.exec(`SAVEPOINT ${name}`);
    this.effects.push([]);
    try {
      const r = fn();
      this.db.exec(`RELEASE ${name}`);
      const done = this.effects.pop()!;
      const outer = this.effects.at(-1);
      // With no transaction around it, this RELEASE was the commit: its effects are due now.
      if (outer) outer.push(...done);
      else for (const effect of done) effect();
      return r;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      this.effects.pop();
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

  private flush(): void {
    const jobs = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      this.begin.run();
    } catch (err) {
      for (const j of jobs) j.reject(err);
      return;
    }
    const effects: (() => void)[] = [];
    this.effects.push(effects);
    for (const job of jobs) {
      try {
        job.value = this.savepoint(job.run);
        job.ok = true;
      } catch (err) {
        job.ok = false;
        job.value = err;
      }
    }
    this.effects.pop();
    try {
      this.commit.run();
      this.commits++;
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
      if (this.db.inTransaction) this.rollback.run();
      this.onCommitError(err);
      for (const j of jobs) j.reject(new CceError(306, 'the store could not commit'));
      return;
    }
    for (const effect of effects) effect();
    for (const j of jobs) (j.ok ? j.resolve : j.reject)(j.value);
  }
}
