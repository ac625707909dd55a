/**
 * What the Store and the Writer need of a backend whose transactions run side
 * by side (PostgreSQL), besides its asynchronous port: the synchronous
 * `StoreBackend`'s few synchronous answers (port.ts), given without a
 * database round trip.
 *
 * - `inTransaction`: whether a write transaction of this process is open. A
 *   read outside it never sees its writes (another connection), but a read
 *   made while one is open may come back after it committed, with the state
 *   before it, under a write count that already counts it: the Store caches
 *   nothing read then (Store.readStamp), as on SQLite while the Writer's batch
 *   is open.
 * - `externalVersion()`: the backend's external version as last read; one
 *   read at a time is kept in flight (at most one per event-loop turn).
 * - `catchUp()`: resolves once the version has been read by a read that
 *   started after the call: a request that awaits it before it reads (the
 *   HTTP server does, src/http/server.ts) sees every write another node had
 *   acknowledged when the request arrived. Calls made in one turn of the
 *   event loop share one read.
 * - `reserveOids`: nothing to do: oids come from a sequence, never handed out
 *   twice, even by a transaction that rolled back.
 */
import type { AsyncStoreBackend, TransactionOptions, TxHandle } from './async-port.js';
import type { PatternTest } from './port.js';

export class ConcurrentHost {
  readonly concurrentTransactions = true;
  readonly searches = undefined;
  /** Write transactions of this process open now. */
  private open = 0;
  private version = 0;
  private reading = false;

  constructor(
    readonly async: AsyncStoreBackend,
    /** A failed read of the version (the database unreachable): logged, the last one kept. */
    private readonly failed: (err: unknown) => void = () => {},
  ) {}

  get inTransaction(): boolean {
    return this.open > 0;
  }

  useMatcher(test: PatternTest, current?: () => PatternTest): void {
    this.async.useMatcher(test, current);
  }

  reserveOids(): void {}

  externalVersion(): number {
    if (!this.reading) {
      this.reading = true;
      this.async.externalVersion().then(
        (v) => {
          if (v > this.version) this.version = v;
          this.reading = false;
        },
        (err: unknown) => {
          this.reading = false;
          this.failed(err);
        },
      );
    }
    return this.version;
  }

  /** A version read not started yet: the calls of this turn join it (see catchUp()). */
  private next: Promise<void> | undefined;

  catchUp(): Promise<void> {
    return (this.next ??= new Promise<void>((resolve) => {
      // Started once this turn's I/O callbacks ran: each caller arrived before it started.
      setImmediate(() => {
        this.next = undefined;
        this.async.externalVersion().then(
          (v) => {
            // Reads may come back out of order; the version only grows.
            if (v > this.version) this.version = v;
            resolve();
          },
          (err: unknown) => {
            // The database unreachable: the request's own reads will say so.
            this.failed(err);
            resolve();
          },
        );
      });
    }));
  }

  /** The backend's transaction, counted while it is open (see inTransaction). */
  async transaction<T>(fn: (tx: TxHandle) => Promise<T>, options?: TransactionOptions): Promise<T> {
    this.open++;
    try {
      return await this.async.transaction(fn, options);
    } finally {
      this.open--;
    }
  }
}
