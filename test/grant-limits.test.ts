/**
 * Sessions and tokens are bounded per owner (max_sessions_per_user,
 * max_tokens_per_client): past the bound the owner's grant closest to expiry
 * ends and the new one is issued. Each secret counts only in its own field,
 * and LOGIN issues nothing while api-admin is disabled.
 */
import t from 'tap';
import { startDaemon, adminClient, http, CceClient, ADMIN_PASSWORD } from './helpers/daemon.js';
import { accessSecrets, from, login, remember } from './helpers/gate.js';

const REMOTE = '127.0.0.2';
const ANONYMOUS_WHOAMI = { status: 201, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }], oid: '-1' } };

t.test('LOGIN tokens: at most max_tokens_per_client live; the oldest end first', async (t) => {
  const d = await startDaemon({ config: { api_access: REMOTE, max_tokens_per_client: '3' } });
  t.teardown(() => d.close());
  const secret = accessSecrets(d).get(REMOTE)!;
  const whoami = async (token: string) => (await from(d, REMOTE, { cmd: 'WHOAMI', token }, secret)).body;
  const apiAdmin = { status: 201, message: 'GOODBYE', data: { oid: String(d.app.services.auth.apiAdminOid) } };

  const tokens: string[] = [];
  for (let i = 0; i < 8; i++) tokens.push(await login(d, REMOTE));
  t.same(await Promise.all(tokens.slice(0, 5).map(whoami)), Array(5).fill(ANONYMOUS_WHOAMI), 'the five oldest no longer count');
  t.same(await Promise.all(tokens.slice(5).map(whoami)), Array(3).fill(apiAdmin), 'the three newest do');
  t.equal(d.app.services.auth.grants.held(`client ${REMOTE}`), 3, 'the table holds three for this client');
});

t.test('AUTH sessions: at most max_sessions_per_user live; the least recently used ends first', async (t) => {
  const d = await startDaemon({ config: { max_sessions_per_user: '3' } });
  t.teardown(() => d.close());
  const sessions = [await adminClient(d), await adminClient(d), await adminClient(d)];
  // The first is used: now the second is closest to expiry.
  t.equal((await sessions[0]!.cmd('WHOAMI')).body.data.oid, '2');
  sessions.push(await adminClient(d), await adminClient(d));
  const oids = await Promise.all(sessions.map(async (s) => (await s.cmd('WHOAMI')).body.data.oid as string));
  t.same(oids, ['2', '-1', '-1', '2', '2'], 'the used first and the two newest live; the two idle ones ended');

  // Per user: another user's sessions do not count against admin's.
  const admin = sessions[0]!;
  t.equal((await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'bob', password: 'bob-password-1' } })).status, 200);
  const bob = await new CceClient(d, 'bob').login('bob-password-1');
  t.equal((await bob.cmd('WHOAMI')).body.status, 201);
  t.equal((await admin.cmd('WHOAMI')).body.data.oid, '2', "bob's session ended none of admin's");
});

t.test('Meeting bearer tokens: at most max_sessions_per_user live per user', async (t) => {
  const d = await startDaemon({ config: { max_sessions_per_user: '2' } });
  t.teardown(() => d.close());
  const bearers: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD });
    bearers.push(remember(r.body.token as string));
  }
  const statuses = await Promise.all(
    bearers.map(async (b) => (await http(`${d.url}/api/auth/me`, undefined, { headers: { authorization: `Bearer ${b}` } })).status),
  );
  t.same(statuses, [403, 403, 200, 200]);
});

t.test('each secret only in its own field', async (t) => {
  const d = await startDaemon({ config: { api_access: REMOTE } });
  t.teardown(() => d.close());
  const secret = accessSecrets(d).get(REMOTE)!;
  const token = await login(d, REMOTE);
  const asSessionid = await from(d, REMOTE, { cmd: 'WHOAMI', user: 'api-admin', sessionid: token }, secret);
  t.same(asSessionid.body, ANONYMOUS_WHOAMI, 'a LOGIN token in sessionid is no credential');
  const asAdmin = await from(d, REMOTE, { cmd: 'GET 1', sessionid: token }, secret);
  t.equal(asAdmin.status, 401, 'and buys no command');
  t.equal((await from(d, REMOTE, { cmd: 'WHOAMI', token }, secret)).body.data.oid, String(d.app.services.auth.apiAdminOid), 'in token it does');

  const admin = await adminClient(d);
  t.same((await admin.raw({ cmd: 'WHOAMI', token: admin.sessionid })).body, ANONYMOUS_WHOAMI, 'a session in token is no credential either');
});

t.test('LOGIN while api-admin is disabled: refused, no token, no ban', async (t) => {
  const d = await startDaemon({ config: { api_access: REMOTE, api_auth_fails: '2' } });
  t.teardown(() => d.close());
  const secret = accessSecrets(d).get(REMOTE)!;
  const admin = await adminClient(d);
  const oid = d.app.services.auth.apiAdminOid;
  t.equal((await admin.cmd(`SET ${oid} enabled="0"`)).status, 200);

  for (let i = 0; i < 3; i++) {
    const r = await from(d, REMOTE, { cmd: 'LOGIN' }, secret);
    t.equal(r.status, 403);
    t.same(r.body, {
      status: 401,
      message: 'GOODBYE',
      data: { errors: [{ code: 304, message: 'PERMISSION DENIED LOGIN: api-admin is disabled' }, { code: 401, message: 'FAIL' }] },
    });
  }
  t.equal(d.app.services.auth.grants.held(`client ${REMOTE}`), 0, 'no token issued');
  t.ok(d.logs.some((l) => l.includes('"audit":"LOGIN"') && l.includes('"outcome":"refused"')), 'an audit line says so');

  t.equal((await admin.cmd(`SET ${oid} enabled="1"`)).status, 200);
  const token = await login(d, REMOTE);
  t.equal((await from(d, REMOTE, { cmd: 'WHOAMI', token }, secret)).body.data.oid, String(oid), 'enabled again: LOGIN works, the address was not banned');
});
