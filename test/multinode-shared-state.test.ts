/**
 * What several nodes on one database share (src/store/cluster.ts). Two daemons on one PostgreSQL: what each node remembers of the shared store follows the other node's
 * writes. Exact replies checked; bounded in count. Skipped, with the reason, without a PostgreSQL (never in
 * CI: TEST_REQUIRE_POSTGRES=1).
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { masterKey, MASTER_KEY_FILE, readApiAdminPassword } from '../src/auth/api-admin.js';
import { adminClient, startDaemon, CceClient as Client, type CceClient } from './helpers/daemon.js';
import { testDatabase } from './helpers/postgres.js';
import { failure, GOODBYE } from './helpers/replies.js';
import { openDb } from '../src/store/sqlite/db.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { Store } from '../src/store/store.js';
import { clusterOf } from '../src/store/cluster.js';
import { loadSchema } from '../src/schema/loader.js';

/** Node A, then node B, on one fresh database, an admin session on each; undefined when skipped. */
async function adminOnEach(t: Test): Promise<{ onA: CceClient; onB: CceClient; url: string } | undefined> {
  const db = await testDatabase(t);
  if (db.skip !== undefined) {
    t.pass('skipped: no PostgreSQL', { skip: db.skip });
    return undefined;
  }
  const a = await startDaemon({ config: { db_url: db.url, node_url: 'http://node-a.test:9092' } });
  t.teardown(() => a.close());
  const b = await startDaemon({ config: { db_url: db.url, node_url: 'http://node-b.test:9092' } });
  t.teardown(() => b.close());
  return { onA: await adminClient(a), onB: await adminClient(b), url: db.url };
}

// B remembers the class of the objects it wrote; A's writes move the version B follows, and of them only A's
// destructions make an entry wrong: B forgets those (read from the change log) and keeps the rest.
t.test('an object destroyed on A is unknown on B at once, while the objects B keeps writing stay known', async (t) => {
  const both = await adminOnEach(t);
  if (!both) return;
  const { onA, onB } = both;
  const oids: string[] = [];
  for (let i = 0; i < 6; i++) oids.push(String((await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: `user${i}` } })).body.data.oid));
  for (let round = 0; round < 3; round++) {
    // B writes each object (its class now remembered); A writes too, so the version moves under B.
    for (const oid of oids) t.strictSame((await onB.cmd({ cmd: 'SET', oid, args: { fullName: `B ${round}` } })).body, GOODBYE);
    t.strictSame((await onA.cmd({ cmd: 'SET', oid: oids[0]!, args: { fullName: `A ${round}` } })).body, GOODBYE);
    const gone = oids.pop()!;
    t.strictSame((await onA.cmd({ cmd: 'DESTROY', oid: gone })).body, GOODBYE, `DESTROY ${gone} on A`);
    t.strictSame((await onB.cmd({ cmd: 'SET', oid: gone, args: { fullName: 'too late' } })).body, failure([300, `UNKNOWN OBJECT ${gone}`]), `SET ${gone} on B: unknown`);
    t.strictSame((await onB.cmd({ cmd: 'DESTROY', oid: gone })).body, failure([300, `UNKNOWN OBJECT ${gone}`]), `DESTROY ${gone} on B: unknown`);
    for (const oid of oids) {
      const got = await onB.cmd({ cmd: 'GET', oid, format: 'json' });
      t.equal(got.body.data.DATA.fullName, oid === oids[0] ? `A ${round}` : `B ${round}`, `${oid} read on B after round ${round}`);
    }
  }
});

t.test('clusterOf(store) is one Cluster per store, whoever asks (the app, the dispatcher, the tunnel runtime)', async (t) => {
  const schema = loadSchema(['schema']);
  const [store, other] = [new Store(sqliteBackend(openDb(':memory:')), schema), new Store(sqliteBackend(openDb(':memory:')), schema)];
  t.equal(clusterOf(store), clusterOf(store), 'the same Cluster for the same store');
  t.not(clusterOf(store), clusterOf(other), 'another for another store');
  t.equal(clusterOf(store).shared, false, 'SQLite: one node, nothing shared');
  t.equal(clusterOf(store).banSharing(() => {}), undefined, 'and no ban sharing');
});

t.test('on PostgreSQL the daemon has one Cluster, shared', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const a = await startDaemon({ config: { db_url: db.url, node_url: 'http://node-a.test:9092' } });
  t.teardown(() => a.close());
  const store = a.app.services.store;
  t.equal(clusterOf(store), clusterOf(store), 'the same Cluster each time');
  t.equal(clusterOf(store).shared, true, 'shared');
});

/** The database's rows naming the node that holds a session's BEGIN. */
async function beginRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query("SELECT count(*) AS n FROM settings WHERE key LIKE 'begin:%'")).rows[0].n);
  } finally {
    await c.end();
  }
}

// The row naming the holder goes with the session's grant row, whichever node ends the session.
t.test("a session that ends with its BEGIN open leaves no row naming its holder, ended on its node or another", async (t) => {
  const both = await adminOnEach(t);
  if (!both) return;
  const { onA, onB, url } = both;
  t.strictSame((await onA.cmd('BEGIN')).body, { status: 201, message: 'BEGIN OK' }, 'BEGIN on A');
  t.equal(await beginRows(url), 1, 'A holds it: one row');
  t.strictSame((await onA.cmd('ENDKEY')).body, GOODBYE, 'the session ends on A, its BEGIN open');
  t.equal(await beginRows(url), 0, 'no row left');
  // Another session, BEGIN on B, ended on A (the session is valid on every node).
  const s2 = await adminClient(onB.d);
  t.strictSame((await s2.cmd('BEGIN')).body, { status: 201, message: 'BEGIN OK' }, 'BEGIN on B');
  t.equal(await beginRows(url), 1, 'B holds it');
  const onAOfS2 = Object.assign(new Client(onA.d), { sessionid: s2.sessionid });
  t.strictSame((await onAOfS2.cmd('ENDKEY')).body, GOODBYE, 'that session ends on A');
  t.equal(await beginRows(url), 0, 'no row left');
  t.strictSame((await onB.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'after' } })).body.status, 201, 'B writes on');
});

// api-admin's password (operator recovery only: nobody may AUTH as it) is one across nodes given one master.key.
t.test("the nodes agree on api-admin's password: the first rotates it, the others and a restart keep it", async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const dirs = [mkdtempSync(path.join(tmpdir(), 'cced-node-a-')), mkdtempSync(path.join(tmpdir(), 'cced-node-b-'))];
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  masterKey(dirs[0]!);
  copyFileSync(path.join(dirs[0]!, MASTER_KEY_FILE), path.join(dirs[1]!, MASTER_KEY_FILE));
  const start = (stateDir: string, url: string) => startDaemon({ stateDir, config: { db_url: db.url, node_url: url } });
  const a = await start(dirs[0]!, 'http://node-a.test:9092');
  t.teardown(() => a.close());
  const first = readApiAdminPassword(dirs[0]!);
  const b = await start(dirs[1]!, 'http://node-b.test:9092');
  t.equal(readApiAdminPassword(dirs[1]!), first, "B keeps A's password");
  t.ok(b.logs.some((l) => l.includes('"outcome":"kept"')), 'and says so');
  await b.close();
  const again = await start(dirs[1]!, 'http://node-b.test:9092');
  t.teardown(() => again.close());
  t.equal(readApiAdminPassword(dirs[1]!), first, 'a restarted node keeps it too');
  t.equal(readApiAdminPassword(dirs[0]!), first, "A's copy is still the password");
  t.notOk([...a.logs, ...again.logs].some((l) => l.includes(first)), 'the password is in no log line');
});

// An owner's bound (max_sessions_per_user) counts the owner's grants on every node: a node issuing one reads the
// owner's stored grants, so the rule of one node (past the bound, the grants closest to expiry end) holds across them.
t.test("a user's sessions opened on A count toward the bound on B: the oldest end on both nodes", async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const config = { db_url: db.url, max_sessions_per_user: '3' };
  const a = await startDaemon({ config: { ...config, node_url: 'http://node-a.test:9092' } });
  t.teardown(() => a.close());
  const b = await startDaemon({ config: { ...config, node_url: 'http://node-b.test:9092' } });
  t.teardown(() => b.close());
  const sessions = [await adminClient(a), await adminClient(a), await adminClient(a), await adminClient(b), await adminClient(b)];
  const whoamiOn = (d: typeof a) => Promise.all(sessions.map(async (s) => (await Object.assign(new Client(d), { sessionid: s.sessionid }).cmd('WHOAMI')).body.data.oid as string));
  const expected = ['-1', '-1', '2', '2', '2'];
  t.strictSame(await whoamiOn(b), expected, "on B: A's two oldest ended, the three newest live");
  t.strictSame(await whoamiOn(a), expected, 'on A: the same');
  t.equal(b.app.services.auth.grants.held('session 2'), 3, "B's table holds three for admin");
});
