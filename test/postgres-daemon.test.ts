/**
 * The daemon on PostgreSQL (`db_url`), over HTTP: the same script of commands
 * answers exactly what it answers on SQLite; two daemons on one database
 * racing to CREATE the same unique value get one 201 and one 302 (the
 * database refuses the second, whichever process checked first). Skipped,
 * with the reason, without a PostgreSQL (never in CI: TEST_REQUIRE_POSTGRES=1).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCced } from './helpers/main-process.js';
import { adminClient, startDaemon, type CceClient, type TestDaemon } from './helpers/daemon.js';
import { testDatabase } from './helpers/postgres.js';
import { failure, GOODBYE } from './helpers/replies.js';
import { adminRest, rest } from './helpers/meeting.js';

/** Runs the script, returning every reply's status and body (session ids left out: they are random). */
async function script(d: TestDaemon): Promise<unknown[]> {
  const ping = await new (await import('./helpers/daemon.js')).CceClient(d).raw({ cmd: 'PING' });
  const admin = await adminClient(d);
  const out: unknown[] = [ping.status, ping.body];
  const run = async (cmd: string | Record<string, unknown>) => {
    const r = await admin.cmd(cmd);
    out.push(r.status, r.body);
    return r;
  };
  const created = await run({ cmd: 'CREATE', class: 'User', args: { name: 'carol', fullName: 'Carol', password: 'carol-password-1' } });
  const oid = String(created.body.data.oid);
  await run({ cmd: 'SET', oid, args: { fullName: 'Carol Two' } });
  await run({ cmd: 'GET', oid });
  await run('FIND User name = "carol"');
  await run('FIND User name ~ "^(car|dav)"');
  await run({ cmd: 'CREATE', class: 'User', args: { name: 'carol' } });
  await run('BEGIN');
  await run({ cmd: 'CREATE', class: 'User', args: { name: 'dave' } });
  await run({ cmd: 'SET', oid: '$0', args: { fullName: 'Dave' } });
  await run('COMMIT');
  await run('FIND User fullName = "Dave"');
  // All-or-nothing: the second CREATE breaks uniqueness, so the first is not kept either.
  await run('BEGIN');
  await run({ cmd: 'CREATE', class: 'User', args: { name: 'erin' } });
  await run({ cmd: 'CREATE', class: 'User', args: { name: 'carol' } });
  await run('COMMIT');
  await run('FIND User name = "erin"');
  return out;
}

t.test('one daemon on PostgreSQL answers as on SQLite', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const onSqlite = await startDaemon();
  t.teardown(() => onSqlite.close());
  const onPg = await startDaemon({ config: { db_url: db.url } });
  t.teardown(() => onPg.close());
  const expected = await script(onSqlite);
  const got = await script(onPg);
  t.strictSame(got, expected);
  // A few of them spelled out, so the comparison is not of two equal mistakes.
  t.strictSame(got.slice(0, 2), [200, { status: 202, message: 'PONG' }], 'PING');
  t.strictSame(got[5], GOODBYE, 'SET');
  t.strictSame(got[13], failure([302, 'BAD DATA 0 name "[[base-cce.notUnique]]"']), 'a second carol');
});

/** Two daemons on one new database; undefined (the test passed as skipped) without a PostgreSQL. */
async function twoDaemons(t: Test): Promise<[TestDaemon, TestDaemon] | undefined> {
  const db = await testDatabase(t);
  if (db.skip !== undefined) {
    t.pass('skipped: no PostgreSQL', { skip: db.skip });
    return undefined;
  }
  const a = await startDaemon({ config: { db_url: db.url } });
  t.teardown(() => a.close());
  const b = await startDaemon({ config: { db_url: db.url } });
  t.teardown(() => b.close());
  return [a, b];
}

t.test('two daemons on one database: the database refuses the second holder of a unique value', async (t) => {
  const both = await twoDaemons(t);
  if (both === undefined) return;
  const [a, b] = both;
  const [ca, cb] = await Promise.all([adminClient(a), adminClient(b)]);
  for (let round = 0; round < 5; round++) {
    const name = `racer${round}`;
    const create = (c: CceClient) => c.cmd({ cmd: 'CREATE', class: 'User', args: { name } });
    const replies = (await Promise.all([create(ca), create(cb)])).map((r) => r.body);
    const won = replies.filter((r) => r.status === 201);
    const lost = replies.filter((r) => r.status !== 201);
    t.equal(won.length, 1, `${name}: one 201 (${JSON.stringify(replies)})`);
    t.strictSame(lost, [failure([302, 'BAD DATA 0 name "[[base-cce.notUnique]]"'])], `${name}: one 302`);
    const found = await ca.cmd(`FIND User name = "${name}"`);
    t.equal(found.body.data.oidlist.length, 1, `${name}: one holder`);
  }
});

t.test('flash tokens taken by concurrent requests on two daemons never go below zero', async (t) => {
  const both = await twoDaemons(t);
  if (both === undefined) return;
  const [a, b] = both;
  const cce = await adminClient(a);
  const create = async (cls: string, args: Record<string, unknown>) => t.equal((await cce.cmd({ cmd: 'CREATE', class: cls, args })).body.status, 201, `CREATE ${cls}`);
  await create('DeviceType', { name: 'rpi4' });
  await create('Distribution', { name: 'prod', device_type: 'rpi4' });
  await create('Device', { device_key: 'DEV-0001', token_code: 'device-token-0001', authorized: true, device_type: 'rpi4', distribution: 'prod' });
  t.equal((await (await adminRest(a)).put('/api/devices/DEV-0001/tokens', { token_count: 3 })).status, 200);
  const headers = { 'x-device-key': 'DEV-0001', 'x-device-token': 'device-token-0001' };
  const requests = Array.from({ length: 10 }, (_, i) => rest(i % 2 === 0 ? a : b, headers).post('/api/devices/DEV-0001/flash-request'));
  const replies = await Promise.all(requests);
  const granted = replies.filter((r) => r.status === 200);
  t.equal(granted.length, 3, 'three requests get a token');
  t.strictSame(granted.map((r) => r.body.tokens_left).sort(), [0, 1, 2], 'each a different one');
  t.strictSame(
    replies.filter((r) => r.status !== 200).map((r) => [r.status, r.body]),
    Array.from({ length: 7 }, () => [403, { error: 'No tokens left' }]),
    'the other seven are refused',
  );
  const left = await cce.cmd('FIND Device device_key = "DEV-0001"');
  const got = await cce.cmd({ cmd: 'GET', oid: left.body.data.oidlist[0] });
  t.equal(got.body.data.DATA.token_count, '0', 'none left, not below zero');
});

t.test('db_url is a secret: check-config and the console name the host and database only', async (t) => {
  const state = mkdtempSync(path.join(tmpdir(), 'cced-dburl-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const env = { CCED_STATE_DIR: state, CCED_DB_URL: 'postgres://cced:hunter2-secret@db.invalid:5432/fleet' };
  const check = await runCced(['check-config'], env);
  t.equal(check.code, 0, check.stderr);
  t.match(check.stdout, /, the PostgreSQL db\.invalid:5432\/fleet database \(not opened here\)\n$/);
  t.match(check.stderr, /; store PostgreSQL db\.invalid:5432\/fleet\n/);
  t.notMatch(check.stdout + check.stderr, /hunter2|cced:hunter2/, 'no password');
  // The console opens it: a host that does not resolve is refused with the host named, not the URL.
  const users = await runCced(['migrate'], env);
  t.equal(users.code, 1);
  t.match(users.stderr, 'could not open the PostgreSQL database at db.invalid:5432');
  t.notMatch(users.stdout + users.stderr, /hunter2/, 'no password');
  t.equal((await runCced(['check-config'], { CCED_STATE_DIR: state, CCED_DB_URL: 'mysql://u:hunter2@x' })).stderr, 'cced: config: db_url: a postgres:// or postgresql:// URL, or empty\n', 'a refused db_url is not echoed');
});

t.test('cced export on SQLite, cced import into PostgreSQL: a daemon there reads the same objects, oids kept', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-move-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const from = await startDaemon({ stateDir: path.join(dir, 'sqlite'), config: { db_url: '' } });
  const cce = await adminClient(from);
  for (const name of ['alice', 'bob']) await cce.cmd({ cmd: 'CREATE', class: 'User', args: { name, fullName: name.toUpperCase() } });
  await cce.cmd({ cmd: 'CREATE', class: 'DeviceType', args: { name: 'rpi4' } });
  await cce.cmd({ cmd: 'CREATE', class: 'Distribution', args: { name: 'prod', device_type: 'rpi4' } });
  await cce.cmd({ cmd: 'CREATE', class: 'Device', args: { device_key: 'DEV-0009', token_code: 'device-token-0009', device_type: 'rpi4', distribution: 'prod' } });
  // A gap: an oid destroyed before the export; the objects after it keep their oids.
  const gone = await cce.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'gone' } });
  await cce.cmd({ cmd: 'DESTROY', oid: gone.body.data.oid });
  await cce.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'after-the-gap' } });
  const everything = async (c: CceClient) => {
    const out: Record<string, unknown> = {};
    for (const cls of ['System', 'User', 'DeviceType', 'Distribution', 'Device']) {
      for (const oid of (await c.cmd(`FIND ${cls}`)).body.data.oidlist as string[]) out[oid] = (await c.cmd({ cmd: 'GET', oid })).body.data.DATA;
    }
    return out;
  };
  const before = await everything(cce);
  await from.close();
  const file = path.join(dir, 'store.jsonl');
  const exported = await runCced(['export', file, '--with-secrets'], { CCED_STATE_DIR: path.join(dir, 'sqlite') });
  t.equal(exported.code, 0, exported.stderr);
  const imported = await runCced(['import', file], { CCED_STATE_DIR: path.join(dir, 'pg'), CCED_DB_URL: db.url });
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stderr, 'the store was empty: oids kept');
  const to = await startDaemon({ stateDir: path.join(dir, 'pg'), config: { db_url: db.url } });
  t.teardown(() => to.close());
  // The admin's password hash came along: the same password opens a session on the PostgreSQL daemon.
  const there = await adminClient(to);
  t.strictSame(await everything(there), before);
  // The oid counter is past the imported ones: a new object takes none of them.
  const next = await there.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'carol' } });
  t.ok(Number(next.body.data.oid) > Math.max(...Object.keys(before).map(Number)), `a new oid (${next.body.data.oid})`);
});
