/**
 * The bans several nodes share on PostgreSQL (../ban-sharing.ts, for
 * src/auth/bans.ts): the failure counters are rate-limiter-flexible's
 * PostgreSQL store in `ban_counts`, and the bans in force are rows of `bans`,
 * which a node starting one writes before it NOTIFYs `cced_bans`.
 *
 * Every node LISTENs on a connection of its own; a notification carries
 * nothing (a payload is limited to 8000 bytes, and a key holds a client's
 * identity), it says "read the bans in force again", a handful of rows. The
 * node reads them once it listens, so a ban started before it did is kept,
 * and again each time the connection is made anew after a failure.
 *
 * Keys are stored base64url-encoded: a ban's key separates its parts with NUL,
 * which a PostgreSQL text value cannot hold.
 */
import pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { BanSharing, FailureCounter, SharedBan } from '../ban-sharing.js';
import { PG_TYPES, rowsOf } from './query.js';

const CHANNEL = 'cced_bans';
/** How long a node waits before it listens again after its connection failed. */
const RELISTEN_MS = 1000;

const encode = (key: string | number) => Buffer.from(String(key)).toString('base64url');
// until: a bigint, which node-postgres gives as a string unless the pool parses it.
const BanRow = z.object({ scope: z.enum(['pair', 'address']), key: z.string(), until: z.coerce.number() });

export class PgBanSharing implements BanSharing {
  private listener: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  counter(scope: SharedBan['scope'], points: number, duration: number): FailureCounter {
    // The table is the layout's (migrations.ts), made once for every node.
    const limiter = new RateLimiterPostgres({ storeClient: this.pool, storeType: 'pool', tableName: 'ban_counts', tableCreated: true, keyPrefix: scope, points, duration });
    return {
      consume: (key, points, options) => limiter.consume(encode(key), points, options),
      block: (key, seconds) => limiter.block(encode(key), seconds),
    };
  }

  async announce(ban: SharedBan): Promise<void> {
    await rowsOf(
      this.pool,
      `WITH gone AS (DELETE FROM bans WHERE until < $4),
            kept AS (INSERT INTO bans (scope, key, until) VALUES ($1, $2, $3)
                     ON CONFLICT (scope, key) DO UPDATE SET until = greatest(bans.until, excluded.until))
       SELECT pg_notify('${CHANNEL}', '')`,
      [ban.scope, encode(ban.key), ban.until, Date.now()],
    );
  }

  async follow(heard: (ban: SharedBan) => void): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, types: PG_TYPES });
    client.on('error', (err) => this.lost(client, err, heard));
    client.on('end', () => this.lost(client, new Error('the ban listener connection ended'), heard));
    client.on('notification', () => void this.readBans(heard).catch(this.onError));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) return void (await client.end());
    this.listener = client;
    // Listening first: a ban announced from now on is heard, one announced before is read now.
    await this.readBans(heard);
  }

  private async readBans(heard: (ban: SharedBan) => void): Promise<void> {
    const rows = await rowsOf(this.pool, 'SELECT scope, key, until FROM bans WHERE until > $1', [Date.now()]);
    for (const row of rows) {
      const ban = BanRow.parse(row);
      heard({ ...ban, key: Buffer.from(ban.key, 'base64url').toString() });
    }
  }

  /** The listening connection failed (late events of an earlier one are ignored): listen again on a new one. */
  private lost(client: pg.Client, err: unknown, heard: (ban: SharedBan) => void): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    this.onError(err);
    this.relisten(heard);
  }

  private relisten(heard: (ban: SharedBan) => void): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.follow(heard).catch((err: unknown) => {
        this.onError(err);
        this.relisten(heard);
      });
    }, RELISTEN_MS);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.listener;
    this.listener = undefined;
    await client?.end();
  }
}
