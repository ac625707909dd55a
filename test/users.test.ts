/**
 * Users over HTTP: a sysadmin creates a User with a password (argon2id, never
 * returned), changes it, disables the user (enabled=0 ends its sessions at
 * once); a non-admin changes only its own password, and only with the old one.
 */
import t from 'tap';
import { startDaemon, adminClient, CceClient, ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { FAIL_ONLY, failed, linesWithSecrets, remember } from './helpers/gate.js';
import { otherConnection } from './helpers/other-store.js';
import { SYSTEM } from '../src/store/store.js';

remember(ADMIN_PASSWORD);
const BOB_1 = remember('bob-first-password-1');
const BOB_2 = remember('bob-second-password-2');
const BOB_3 = remember('bob-third-password-3');
const CAROL = remember('carol-password-0001');

let d: TestDaemon;
let admin: CceClient;
let bob: number;
let carol: number;

t.before(async () => {
  d = await startDaemon({ config: { api_auth_fails: '1000' } });
  admin = await adminClient(d);
  remember(admin.sessionid);
});
t.teardown(() => d.close());

async function session(user: string, password: string): Promise<CceClient> {
  const c = await new CceClient(d, user).login(password);
  remember(c.sessionid);
  return c;
}

async function canLogin(user: string, password: string): Promise<boolean> {
  const r = await new CceClient(d, user).raw({ cmd: 'AUTH', user, password });
  if (r.body.data?.sessionid) remember(r.body.data.sessionid);
  return r.status === 200;
}

t.test('a sysadmin creates users with passwords; GET never shows them', async (t) => {
  const r = await admin.cmd(`CREATE User name="bob" fullName="Bob" password="${BOB_1}"`);
  t.equal(r.status, 200);
  bob = Number(r.body.data.oid);
  carol = Number((await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'carol', password: CAROL } })).body.data.oid);
  t.ok(await canLogin('bob', BOB_1));
  t.ok(await canLogin('carol', CAROL));
  const get = await admin.cmd(`GET ${bob}`);
  t.equal(get.body.data.DATA.password, '');
  t.notOk(JSON.stringify(get.body).includes('argon2'), 'no hash either');
});

t.test('a sysadmin changes a password without the old one', async (t) => {
  t.equal((await admin.cmd(`SET ${bob} password="${BOB_2}"`)).status, 200);
  t.notOk(await canLogin('bob', BOB_1), 'the old one no longer works');
  t.ok(await canLogin('bob', BOB_2));
});

t.test('a non-admin changes its own password only with the old one', async (t) => {
  const c = await session('bob', BOB_2);
  const missing = await c.cmd(`SET ${bob} password="${BOB_3}"`);
  t.equal(missing.status, 422);
  t.same(missing.body, failed({ code: 302, message: `BAD DATA ${bob} oldpassword "[[base-cce.badOldPassword]]"` }));
  const wrong = await c.cmd(`SET ${bob} password="${BOB_3}" oldpassword="not-bobs-password"`);
  t.same(wrong.body, missing.body, 'a wrong old password: the same answer');
  t.ok(await canLogin('bob', BOB_2), 'nothing changed');
  const ok = await c.cmd(`SET ${bob} password="${BOB_3}" oldpassword="${BOB_2}"`);
  t.equal(ok.status, 200);
  t.same(ok.body, { status: 201, message: 'GOODBYE' });
  t.notOk(await canLogin('bob', BOB_2));
  t.ok(await canLogin('bob', BOB_3));
  // The envelope field works as well.
  const viaEnvelope = await c.cmd({ cmd: 'SET', oid: String(bob), args: { password: BOB_2 }, oldpassword: BOB_3 });
  t.equal(viaEnvelope.status, 200);
  t.ok(await canLogin('bob', BOB_2));
});

t.test('a non-admin cannot change another user\'s password, nor make itself admin', async (t) => {
  const c = await session('bob', BOB_2);
  const other = await c.cmd(`SET ${carol} password="${BOB_1}" oldpassword="${CAROL}"`);
  t.equal(other.status, 403);
  t.same(other.body, failed({ code: 304, message: 'PERMISSION DENIED password' }));
  t.ok(await canLogin('carol', CAROL), 'carol keeps hers');
  const escalate = await c.cmd(`SET ${bob} systemAdministrator="1"`);
  t.equal(escalate.status, 403);
  const create = await c.cmd('CREATE User name="mallory"');
  t.same(create.body, failed({ code: 304, message: 'PERMISSION DENIED CREATE' }));
});

t.test('disabling a user ends its sessions and refuses its AUTH', async (t) => {
  const c = await session('carol', CAROL);
  t.equal((await c.cmd(`GET ${carol}`)).status, 200);
  t.equal((await admin.cmd(`SET ${carol} enabled="0"`)).status, 200);
  const after = await c.cmd(`GET ${carol}`);
  t.equal(after.status, 401, 'the open session is gone');
  t.same(after.body, FAIL_ONLY);
  t.notOk(await canLogin('carol', CAROL), 'AUTH refused');
  t.equal((await admin.cmd(`SET ${carol} enabled="1"`)).status, 200);
  t.ok(await canLogin('carol', CAROL), 'enabled again');
});

t.test('a caller is re-read after a User write by another process, and never remembered from a rolled-back one', async (t) => {
  const c = await session('carol', CAROL);
  t.equal((await c.cmd(`GET ${carol}`)).status, 200, 'the caller is now remembered on the session');
  const { auth, store, writer } = d.app.services;
  const grant = (await auth.grants.lookup(c.sessionid!))!;
  // Disabled inside a transaction that is rolled back: a read outside it sees the committed state (enabled), and
  // nothing read while the transaction is open is remembered.
  await writer.submit(async (w) => {
    await t.rejects(
      w.savepoint(async () => {
        await store.at(w).set(SYSTEM, carol, '', { enabled: '0' });
        t.equal((await store.at(w).rawValues(carol)).enabled, '0', 'inside, through the transaction: disabled');
        t.equal((await auth.callerFor(grant, c.sessionid!))?.oid, carol, 'outside it, meanwhile: the committed state (enabled)');
        throw new Error('undo');
      }),
    );
  });
  t.equal((await c.cmd(`GET ${carol}`)).status, 200, 'the rollback left carol enabled, and so does the caller');
  // The admin CLI writes through its own connection (the daemon's SQLite file or PostgreSQL database), as `cced user disable` does.
  const other = await otherConnection(t, d);
  await other.writer.submit((w) => other.store.at(w).set(SYSTEM, carol, '', { enabled: '0' }));
  t.equal((await c.cmd(`GET ${carol}`)).status, 401, 'disabled by another process: refused at the next request');
  await other.writer.submit((w) => other.store.at(w).set(SYSTEM, carol, '', { enabled: '1' }));
  t.equal((await c.cmd(`GET ${carol}`)).status, 200, 'enabled again');
});

t.test('no secret, password, token or session id in any log line', async (t) => {
  t.same(linesWithSecrets(), []);
});
