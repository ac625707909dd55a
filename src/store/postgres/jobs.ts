/**
 * Background jobs once across nodes (AsyncStoreBackend.tryExclusive on PostgreSQL): a job runs only while
 * its node holds a session advisory lock named by the store's schema and the job, taken with
 * pg_try_advisory_lock (never waiting: a node that finds it held skips that run).
 *
 * The locks live on one connection of their own, not the pool's: a job's transactions use the pool, and
 * with a pool of one a lock held on a pooled connection would wait for itself. If that connection dies the
 * server releases its locks, so another node may start the job: the running job's `lost` signal aborts,
 * and the next tryExclusive opens a new connection. A session lock is re-entrant for its session, so two
 * runs of one job on this node are kept apart here.
 */
import pg from 'pg';
import type { Exclusive } from '../async-port.js';
import { JOB_LOCK } from './migrations.js';

const LOCK = `SELECT pg_try_advisory_lock(${JOB_LOCK}, hashtext(current_schema() || '/' || $1)) AS got`;
const UNLOCK = `SELECT pg_advisory_unlock(${JOB_LOCK}, hashtext(current_schema() || '/' || $1))`;

export class ExclusiveJobs {
  private connection: Promise<pg.Client> | undefined;
  /** Jobs running on this node, and how each learns its lock is gone. */
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly config: pg.ClientConfig) {}

  async try<T>(name: string, fn: (lost: AbortSignal) => Promise<T>): Promise<Exclusive<T>> {
    if (this.running.has(name)) return { ran: false };
    const held = new AbortController();
    this.running.set(name, held);
    try {
      const client = await this.client();
      const { rows } = await client.query<{ got: boolean }>(LOCK, [name]);
      if (!rows[0]!.got) return { ran: false };
      try {
        return { ran: true, value: await fn(held.signal) };
      } finally {
        // A lost connection released the lock with itself.
        if (!held.signal.aborted) await client.query(UNLOCK, [name]).catch(() => undefined);
      }
    } finally {
      this.running.delete(name);
    }
  }

  /** The lock connection, opened on first use and again after it was lost. */
  private client(): Promise<pg.Client> {
    this.connection ??= (async () => {
      const client = new pg.Client(this.config);
      const lost = () => {
        if (this.connection === opened) this.connection = undefined;
        for (const held of this.running.values()) held.abort(new Error('the job lock connection was lost'));
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      return client;
    })();
    const opened = this.connection;
    opened.catch(() => {
      if (this.connection === opened) this.connection = undefined;
    });
    return opened;
  }

  async close(): Promise<void> {
    const opened = this.connection;
    this.connection = undefined;
    const client = await opened?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
