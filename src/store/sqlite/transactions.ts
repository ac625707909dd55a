/**
 * Transactions on SQLite: BEGIN IMMEDIATE (the one writer takes the write lock
 * up front), savepoints prepared once per nesting depth, and WalSync.
 */
import { close, closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Durability, ReadSnapshot, Savepoint, Transactions, Upkeep } from '../port.js';

export class SqliteTransactions implements Transactions {
  private readonly beginSt: Statement;
  private readonly commitSt: Statement;
  private readonly rollbackSt: Statement;
  private readonly savepoints: Savepoint[] = [];
  /** Set by the backend when it has a reader connection (see reader.ts). */
  snapshot?: ReadSnapshot;
  /** Set by the backend for a file database: its checkpoints (see checkpoints.ts). */
  upkeep?: Upkeep;

  constructor(private readonly db: Db) {
    this.beginSt = db.prepare('BEGIN IMMEDIATE');
    this.commitSt = db.prepare('COMMIT');
    this.rollbackSt = db.prepare('ROLLBACK');
  }

  begin(): void {
    this.beginSt.run();
  }

  commit(): void {
    this.commitSt.run();
    this.ended();
  }

  rollback(): void {
    this.rollbackSt.run();
    this.ended();
  }

  /** Waiting for the open transaction to end (see settled()). */
  private waiting: { promise: Promise<void>; resolve: () => void } | undefined;

  settled(): Promise<void> {
    if (!this.db.inTransaction) return Promise.resolve();
    if (this.waiting === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  private ended(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** The statements of the savepoint at one nesting depth, prepared once (db.exec would parse them each time). */
  savepoint(depth: number): Savepoint {
    let sp = this.savepoints[depth];
    if (sp === undefined) {
      const name = `sp${depth}`;
      const begin = this.db.prepare(`SAVEPOINT ${name}`);
      const release = this.db.prepare(`RELEASE ${name}`);
      const undo = this.db.prepare(`ROLLBACK TO ${name}`);
      sp = this.savepoints[depth] = { begin: () => void begin.run(), release: () => void release.run(), undo: () => void undo.run() };
    }
    return sp;
  }

  durability(syncWal: boolean): Durability | undefined {
    return syncWal ? new WalSync(this.db) : undefined;
  }
}

/**
 * Durability of commits without blocking the event loop on fsync.
 *
 * The connection runs with synchronous=NORMAL in WAL mode: COMMIT appends the
 * transaction's frames to the -wal file with write() and returns without an
 * fsync. This class then fsyncs the -wal file on the libuv thread pool, and
 * the batch's promises settle only when that fsync has completed. Why an
 * acknowledged write is then on disk, as with synchronous=FULL:
 * - fsync(2) flushes the file (the inode), whichever descriptor wrote to it:
 *   every frame written before the fsync started, the WAL header included, is
 *   durable once it returns. We acknowledge only batches committed before the
 *   fsync started (later ones wait for the next fsync).
 * - The WAL is only ever appended to, so a durable later commit implies the
 *   earlier ones are durable too; recovery replays a valid prefix of it.
 * - Checkpoints (on their own thread and connection, see checkpoints.ts):
 *   SQLite fsyncs the WAL before a checkpoint and the database file after
 *   it, and restarts the WAL (writes from its start again) only after a
 *   complete, synced checkpoint. So a
 *   commit whose frames a restart overwrote is already in the synced database
 *   file; the WAL file is truncated or rewritten in place, never replaced
 *   while this connection is open, so the descriptor stays the right inode.
 * - The directory entry of the -wal file is synced once, at start.
 * What differs from synchronous=FULL: another request may read a committed
 * write during the milliseconds before its fsync completes (FULL blocked the
 * whole daemon meanwhile); a power loss in that window loses it, as it would
 * lose the unacknowledged write itself. Afterwards effects (audit lines,
 * revoked sessions) run at COMMIT, so the daemon's memory follows what
 * readers see. An fsync error leaves durability unknown: the batch is
 * refused (500 STORAGE FAILURE) and so is every later write until restart.
 *
 * While an fsync is in flight the Writer holds the next batch back and
 * commits it when the fsync ends (whenIdle): a write arriving meanwhile would
 * wait for the next fsync anyway, so its acknowledgement comes no later, and
 * under load the batches grow instead of the commits multiplying (each commit
 * appends whole pages to the WAL: ten one-row commits write the same B-tree
 * pages ten times, and each is one more fsync to do).
 */
class WalSync implements Durability {
  private readonly fd: number;
  private running = false;
  private waiting: ((err: unknown) => void)[] = [];
  private idle: (() => void)[] = [];
  private failed: unknown;

  constructor(db: Db) {
    // The -wal file exists once the connection has read (openDb ran the migrations' checks).
    this.fd = openSync(`${db.name}-wal`, 'r');
    const dir = openSync(path.dirname(db.name), 'r');
    try {
      fsyncSync(this.fd);
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    db.pragma('synchronous = NORMAL');
  }

  get broken(): unknown {
    return this.failed;
  }

  /** Calls `done` once everything committed so far is durable (with the error if that failed). */
  after(done: (err: unknown) => void): void {
    this.waiting.push(done);
    if (!this.running) this.start();
  }

  /** Calls `fn` when no fsync is in flight: on the next turn of the event loop, or when the running one ends. */
  whenIdle(fn: () => void): void {
    if (this.running) this.idle.push(fn);
    else setImmediate(fn);
  }

  close(): void {
    close(this.fd, () => {});
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = true;
    fsync(this.fd, (err) => {
      this.running = false;
      if (err) this.failed ??= err;
      for (const done of batch) done(this.failed);
      if (this.waiting.length) return this.start();
      const idle = this.idle;
      this.idle = [];
      for (const fn of idle) fn();
    });
  }
}

