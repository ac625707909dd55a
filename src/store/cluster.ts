/**
 * What the daemon's shared pieces (src/cluster/) need of the database the
 * store is on, so that nothing outside src/store reaches its backend: whether
 * several nodes may share it, background jobs run once across them, and the
 * bans' sharing.
 *
 * SQLite is one node's file: nothing is shared, a job is held within this
 * process (async-shared.ts), and the bans stay in memory. PostgreSQL is what
 * several nodes share (docs/postgresql.md, "What several nodes share").
 */
import type { BanSharing } from './ban-sharing.js';
import type { Store } from './store.js';
import { PgBackend } from './postgres/backend.js';
import { PgBanSharing } from './postgres/shared-bans.js';

export interface Cluster {
  /** Several nodes may write this database (PostgreSQL): state kept in one node's memory is not the truth. */
  readonly shared: boolean;
  /**
   * Runs `job` unless a job of this name runs now on any node of the database (that node's run is enough);
   * returns whether it ran. `lost` aborts when the hold ends while it runs.
   */
  once(name: string, job: (lost: AbortSignal) => Promise<unknown>): Promise<boolean>;
  /** The bans' sharing across nodes (none on SQLite); closed by its user. */
  banSharing(onError: (err: unknown) => void): BanSharing | undefined;
}

/** One Cluster per store, whoever asks (the app, the dispatcher, the tunnel runtime). */
const clusters = new WeakMap<Store, Cluster>();

export function clusterOf(store: Store): Cluster {
  let cluster = clusters.get(store);
  if (cluster === undefined) clusters.set(store, (cluster = newCluster(store)));
  return cluster;
}

function newCluster(store: Store): Cluster {
  const backend = store.backend.async;
  const pg = backend instanceof PgBackend ? backend : undefined;
  return {
    shared: pg !== undefined,
    async once(name, job) {
      return (await backend.tryExclusive(name, job)).ran;
    },
    banSharing(onError) {
      if (pg === undefined) return undefined;
      const url = pg.pool.options.connectionString;
      if (url === undefined) throw new Error('the PostgreSQL pool has no connection string: the ban listener cannot connect');
      return new PgBanSharing(pg.pool, url, onError);
    },
  };
}
