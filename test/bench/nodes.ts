/**
 * The daemon on PostgreSQL beside SQLite, and two nodes on one PostgreSQL
 * driven at once (docs/postgresql.md). Cases: PING, GET <oid>, SET of one
 * property, FIND on a unique (indexed) property, each with a session.
 *
 * - One node on SQLite and one on PostgreSQL, each measured paired with the
 *   bare handler (rows `... (SQLite)`, `... (PostgreSQL)`; the note gives
 *   PostgreSQL/SQLite).
 * - Two nodes on one PostgreSQL, both loaded at the same time with the same
 *   connections each: a row per node and the combined req/s.
 *
 * Every daemon runs with db_synchronous=NORMAL; the PostgreSQL is
 * TEST_POSTGRES_URL or a throwaway cluster on this machine with fsync=off
 * (test/helpers/postgres.ts): neither waits for the disk, so the figures
 * compare the code paths, not the disks. Without a PostgreSQL the section
 * says why and reports nothing.
 */
import type { BenchContext, BenchDaemon, BenchSection, CceBody, Measured } from './lib.js';
import { expectStatus, load } from './lib.js';
import { testDatabase } from '../helpers/postgres.js';

/** Users each SET and FIND variant names (one body per user, cycled by every connection). */
const USERS = 50;

interface Bodies {
  name: string;
  body: CceBody | CceBody[];
}

/** The cases against one daemon, its users created through it. */
async function casesOf(d: BenchDaemon, prefix: string): Promise<Bodies[]> {
  const s = await d.adminSession();
  const auth = { user: s.user, sessionid: s.sessionid };
  const oids: number[] = [];
  for (let i = 0; i < USERS; i++) {
    const created = await expectStatus(d, { cmd: 'CREATE', class: 'User', args: { name: `${prefix}${i}` }, ...auth }, 201);
    oids.push(Number(created.data!.oid));
  }
  return [
    { name: 'PING', body: { cmd: 'PING' } },
    { name: 'GET <oid> (session)', body: { cmd: `GET ${s.oid}`, ...auth } },
    { name: 'SET 1 prop (session)', body: oids.map((oid, i) => ({ cmd: `SET ${oid} fullName = "bench ${i}"`, ...auth })) },
    { name: 'FIND name = (session)', body: oids.map((_, i) => ({ cmd: `FIND User name = "${prefix}${i}"`, ...auth })) },
  ];
}

/** The sum of two nodes' figures measured over the same seconds. */
function combined(a: Measured, b: Measured): Measured {
  return {
    rps: a.rps + b.rps,
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    errors: a.errors + b.errors,
    non2xx: a.non2xx + b.non2xx,
    serverCpu: a.serverCpu + b.serverCpu,
    clientCpu: a.clientCpu + b.clientCpu,
    cpuPerRequest: (a.cpuPerRequest * a.rps + b.cpuPerRequest * b.rps) / (a.rps + b.rps),
  };
}

export const nodes: BenchSection = {
  name: 'nodes',
  async run(ctx) {
    const teardowns: (() => Promise<void>)[] = [];
    try {
      const db = await testDatabase({ teardown: (fn) => teardowns.push(fn) });
      if (db.skip !== undefined) return ctx.note(`nodes: skipped: ${db.skip}`);
      await sideBySide(ctx, db.url, teardowns);
      await twoNodes(ctx, db.url, teardowns);
    } finally {
      for (const fn of teardowns.reverse()) await fn();
    }
  },
};

async function sideBySide(ctx: BenchContext, url: string, teardowns: (() => Promise<void>)[]): Promise<void> {
  const sqlite = await ctx.startDaemon({ config: { db_synchronous: 'NORMAL' } });
  teardowns.push(() => sqlite.close());
  const pg = await ctx.startDaemon({ config: { db_synchronous: 'NORMAL', db_url: url } });
  teardowns.push(() => pg.close());
  const [onSqlite, onPg] = [await casesOf(sqlite, 'lite'), await casesOf(pg, 'pg')];
  for (const [i, c] of onSqlite.entries()) {
    const lite = await ctx.measure(sqlite, c.body);
    ctx.report(`${c.name} (SQLite)`, lite);
    const server = await ctx.measure(pg, onPg[i]!.body);
    ctx.report(`${c.name} (PostgreSQL)`, server, undefined, `PostgreSQL/SQLite ${(server.rps / lite.rps).toFixed(2)}`);
  }
}

async function twoNodes(ctx: BenchContext, url: string, teardowns: (() => Promise<void>)[]): Promise<void> {
  // The layout and the admin are made by the first node; the second starts on them (the database is the one above).
  const a = await ctx.startDaemon({ config: { db_synchronous: 'NORMAL', db_url: url, node_url: 'http://node-a.bench:1' } });
  teardowns.push(() => a.close());
  const b = await ctx.startDaemon({ config: { db_synchronous: 'NORMAL', db_url: url, node_url: 'http://node-b.bench:1' } });
  teardowns.push(() => b.close());
  const [onA, onB] = [await casesOf(a, 'na'), await casesOf(b, 'nb')];
  const o = { duration: ctx.options.duration, warmup: ctx.options.warmup, connections: ctx.options.connections, pipelining: ctx.options.pipelining };
  for (const [i, c] of onA.entries()) {
    const [ra, rb] = await Promise.all([load(a, c.body, o), load(b, onB[i]!.body, o)]);
    ctx.report(`${c.name} (2 nodes: A)`, ra, undefined, 'both nodes loaded at once');
    ctx.report(`${c.name} (2 nodes: B)`, rb);
    ctx.report(`${c.name} (2 nodes: A+B)`, combined(ra, rb), undefined, `${o.connections} connections per node`);
  }
}
