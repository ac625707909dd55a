/**
 * Bans shared by several nodes on one PostgreSQL (src/auth/bans.ts with
 * src/store/postgres/shared-bans.ts): each node is a Bans on its own pool,
 * as two daemons on one database are. Failures spread over the nodes add up
 * to one count, a ban one node starts is refused on the others, a node that
 * starts later knows the bans in force, and a node whose listening connection
 * is cut listens again. Skipped (with the reason) without a PostgreSQL; CI
 * never skips it (TEST_REQUIRE_POSTGRES=1).
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import { Writable } from 'node:stream';
import { Bans } from '../src/auth/bans.js';
import { claim } from '../src/auth/claims.js';
import { createLogger } from '../src/log.js';
import { migratePg } from '../src/store/postgres/migrations.js';
import { PgBanSharing } from '../src/store/postgres/shared-bans.js';
import { testDatabase } from './helpers/postgres.js';

const LIMITS = { pairFails: 3, addressFails: 5, banSeconds: 60 };

interface Node {
  bans: Bans;
  sharing: PgBanSharing;
  lines: Record<string, unknown>[];
}

/** A node: its own pool, its own listening connection, its own ban list. */
async function node(t: Test, url: string): Promise<Node> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ logging: true, debuglog: false }, sink);
  const sharing = new PgBanSharing(pool, url, (err) => log.error({ err }, 'ban sharing failed'));
  const bans = new Bans(LIMITS, log, Date.now, sharing);
  await bans.follow();
  t.teardown(async () => {
    await sharing.close();
    await pool.end();
  });
  return { bans, sharing, lines };
}

/** Asks `check` until it holds (bounded: a notification crosses a loopback connection). */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

t.test('bans shared on PostgreSQL', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) {
    t.comment(`skipped: ${db.skip}`);
    return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  }
  const setup = new pg.Pool({ connectionString: db.url, max: 1 });
  await migratePg(setup);
  await setup.end();
  const a = await node(t, db.url!);
  const b = await node(t, db.url!);

  t.test('failures of one pair on two nodes add up to one ban, refused on both', async (t) => {
    const alice = claim('password', '10.0.0.1', 'alice');
    await a.bans.failed(alice);
    await b.bans.failed(alice);
    t.equal(a.bans.pairBanLeft(alice), undefined, 'two failures: no ban yet');
    t.equal(b.bans.pairBanLeft(alice), undefined, 'on either node');
    await a.bans.failed(alice);
    const left = a.bans.pairBanLeft(alice);
    t.ok(left !== undefined && left > 55 && left <= 60, `the third failure (on A) bans the pair on A: ${left} s`);
    t.ok(await eventually(() => b.bans.pairBanLeft(alice) !== undefined), 'and on B, which counted only one of them');
    t.throws(() => b.bans.refuse(alice), { name: 'Refusal' }, "B refuses alice's claims from that address");
    t.equal(b.bans.pairBanLeft(claim('password', '10.0.0.1', 'bob')), undefined, 'another identity is untouched');
    t.equal(b.bans.pairBanLeft(claim('password', '10.0.0.9', 'alice')), undefined, 'so is another address');
    t.equal(b.bans.pairBanLeft(claim('device-token', '10.0.0.1', 'alice')), undefined, 'and another kind of credential');
    t.ok(a.lines.some((l) => l.audit === 'BAN' && l.outcome === 'start' && l.scope === 'pair'), 'A, which started it, logs the ban');
  });

  t.test('failures of many identities from one address, spread over the nodes, ban the address on both', async (t) => {
    const ip = '10.0.0.2';
    for (let i = 0; i < LIMITS.addressFails; i++) await (i % 2 === 0 ? a : b).bans.failed(claim('password', ip, `user${i}`));
    t.ok(a.bans.addressBanLeft(ip) !== undefined, 'A counted the fifth failure and banned the address');
    t.ok(await eventually(() => b.bans.addressBanLeft(ip) !== undefined), 'B refuses the address too');
    t.equal(a.bans.addressBanLeft('10.0.0.3'), undefined, 'another address is not banned on A');
    t.equal(b.bans.addressBanLeft('10.0.0.3'), undefined, 'nor on B');
  });

  t.test('a node started later knows the bans in force once it follows', async (t) => {
    const c = await node(t, db.url!);
    t.ok(c.bans.pairBanLeft(claim('password', '10.0.0.1', 'alice')) !== undefined, 'the pair ban');
    t.ok(c.bans.addressBanLeft('10.0.0.2') !== undefined, 'the address ban');
    t.equal(c.bans.addressBanLeft('10.0.0.1'), undefined, 'and nothing else');
  });

  t.test('a node whose listening connection is cut listens again and hears later bans', async (t) => {
    const admin = new pg.Pool({ connectionString: db.url, max: 1 });
    t.teardown(() => admin.end());
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
    );
    t.ok(rows[0]!.n >= 2, `the listening connections are cut (${rows[0]!.n})`);
    const carol = claim('password', '10.0.0.4', 'carol');
    for (let i = 0; i < LIMITS.pairFails; i++) await a.bans.failed(carol);
    t.ok(await eventually(() => b.bans.pairBanLeft(carol) !== undefined), 'B listens again and learns the new ban');
    t.ok(b.lines.some((l) => l.level === 50 && l.msg === 'ban sharing failed'), 'B logged that its connection was lost');
  });
});
