import t from 'tap';
import { ALL_LOGS, CceClient, http, startDaemon } from './helpers/daemon.js';
import { adminRest, login, rest } from './helpers/meeting.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('users: create, list, read, update; the same User as /v2/cce', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);

  const created = await a.post('/api/users', { username: 'bob', password: 'bob-secret-1', role: 'user', authorized: 1 });
  t.equal(created.status, 200);
  t.same(Object.keys(created.body), ['success', 'id']);
  const id = created.body.id as number;

  const list = await a.get('/api/users');
  t.same([list.status, list.body.users.at(-1)], [200, { id, username: 'bob' }]);
  t.equal(list.body.users[0].username, 'admin');

  const one = await a.get(`/api/users/${id}`);
  t.same([one.status, one.body], [200, { id, username: 'bob', role: 'user', ssh_pubkey: '', authorized: 1 }]);
  t.notMatch(one.text, /password|bob-secret/, 'no password in replies');

  // The same user signs in on /v2/cce.
  const cce = await new CceClient(d, 'bob').login('bob-secret-1');
  t.type(cce.sessionid, 'string');
  const whoami = await cce.cmd('WHOAMI');
  t.equal(Number(whoami.body.data.oid), id);

  const dup = await a.post('/api/users', { username: 'bob', password: 'x' });
  t.same([dup.status, dup.body], [409, { error: 'Username already exists' }]);
  t.equal((await a.post('/api/users', { username: 'bob2' })).status, 400, 'password required');
  t.equal((await a.post('/api/users', { password: 'x' })).status, 400, 'username required');
  t.same((await a.post('/api/users', { username: 'b c', password: 'x' })).body, { error: 'invalid name' });
  t.equal((await a.post('/api/users', { username: 'bob3', password: 'x', role: 'root' })).status, 400);

  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJlYWxseS1ub3QtYS1yZWFsLWtleS1idXQtb2s bob@host';
  const put = await a.put(`/api/users/${id}`, { username: 'robert', role: 'admin', ssh_pubkey: key });
  t.same([put.status, put.body], [200, { success: true }]);
  t.same((await a.get(`/api/users/${id}`)).body, { id, username: 'robert', role: 'admin', ssh_pubkey: key, authorized: 1 });
  // role=admin is the store's systemAdministrator: robert can now use admin paths.
  const robert = rest(d, bearer(await login(d, 'robert', 'bob-secret-1')));
  t.equal((await robert.get('/api/users')).status, 200);
  t.same((await a.put(`/api/users/${id}`, { role: 'user' })).body, { success: true });
  t.equal((await robert.get('/api/users')).status, 403, 'demotion takes effect at once');

  t.same((await a.put(`/api/users/${id}`, {})).body, { error: 'Nothing to update' });
  t.equal((await a.put(`/api/users/${id}`, { ssh_pubkey: 'not a key' })).status, 400);
  t.same((await a.put(`/api/users/${id}`, { username: 'admin' })).body, { error: 'Username already exists' });
  t.same((await a.put(`/api/users/${id}`, { username: 'robert' })).body, { success: true }, 'its own name is not taken');
  t.same([(await a.get('/api/users/9999')).status, (await a.get('/api/users/9999')).body], [404, { error: 'User not found' }]);
  t.equal((await a.get('/api/users/1')).status, 404, 'oid 1 is the System object');
  t.equal((await a.put('/api/users/9999', { role: 'user' })).status, 404);
  t.equal((await a.get('/api/users/0')).status, 400);

  // A new password works at once, and ends the user's open bearer tokens and sessions.
  const token = await login(d, 'robert', 'bob-secret-1');
  t.same((await a.put(`/api/users/${id}`, { password: 'new-secret-2' })).body, { success: true });
  t.equal((await rest(d, bearer(token)).get('/api/auth/me')).status, 403);
  t.equal((await http(`${d.url}/api/auth/login`, { username: 'robert', password: 'bob-secret-1' })).status, 401);
  t.type(await login(d, 'robert', 'new-secret-2'), 'string');
  t.notOk(ALL_LOGS.some((l) => l.includes('bob-secret-1') || l.includes('new-secret-2')), 'no password in any log line');
});

t.test('authorized=0 refuses login and ends open tokens', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const id = (await a.post('/api/users', { username: 'dave', password: 'dave-pass', authorized: 0 })).body.id;
  t.same((await a.get(`/api/users/${id}`)).body.authorized, 0);
  const refused = await http(`${d.url}/api/auth/login`, { username: 'dave', password: 'dave-pass' });
  t.same([refused.status, refused.body], [401, { error: 'Invalid credentials' }]);
  await a.put(`/api/users/${id}`, { authorized: true });
  const token = await login(d, 'dave', 'dave-pass');
  await a.put(`/api/users/${id}`, { authorized: 0 });
  t.equal((await rest(d, bearer(token)).get('/api/auth/me')).status, 403);
});

t.test('auth: login, me, logout', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  await a.post('/api/users', { username: 'erin', password: 'erin-pass' });

  const r = await http(`${d.url}/api/auth/login`, { username: 'erin', password: 'erin-pass' });
  t.equal(r.status, 200);
  t.same(Object.keys(r.body), ['success', 'token', 'expires_at']);
  t.equal(r.body.success, true);
  t.ok(Date.parse(r.body.expires_at) > Date.now());
  const wrong = await http(`${d.url}/api/auth/login`, { username: 'erin', password: 'nope' });
  t.same([wrong.status, wrong.body], [401, { error: 'Invalid credentials' }]);
  t.equal((await http(`${d.url}/api/auth/login`, { username: 'erin' })).status, 400);

  const erin = rest(d, bearer(r.body.token));
  const me = await erin.get('/api/auth/me');
  t.same([me.status, me.body], [200, { id: me.body.id, username: 'erin', role: 'user', ssh_pubkey: '', authorized: 1 }]);
  t.same((await a.get('/api/auth/me')).body.role, 'admin');

  const out = await erin.post('/api/auth/logout');
  t.same([out.status, out.body], [200, { success: true }]);
  t.same([(await erin.get('/api/auth/me')).status, (await erin.get('/api/auth/me')).body], [403, { error: 'Invalid or expired token' }]);
  t.equal((await erin.post('/api/auth/logout')).status, 403, 'a revoked token cannot log out again');
  t.equal((await a.get('/api/auth/me')).status, 200, 'other tokens live on');

  const none = rest(d);
  t.same([(await none.get('/api/auth/me')).status, (await none.get('/api/auth/me')).headers['www-authenticate']], [401, 'Bearer']);
  t.equal((await none.post('/api/auth/logout')).status, 401);
  t.equal((await rest(d, { authorization: 'Basic abc' }).get('/api/auth/me')).status, 403);
  // A /v2/cce session id is not a bearer token.
  const c = await new CceClient(d).login();
  t.equal((await rest(d, bearer(c.sessionid!)).get('/api/auth/me')).status, 403);
  t.notOk(ALL_LOGS.some((l) => l.includes(r.body.token)), 'no bearer token in any log line');
});

t.test('users paths: who may call them', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const id = (await a.post('/api/users', { username: 'frank', password: 'frank-pass' })).body.id;
  const frank = rest(d, bearer(await login(d, 'frank', 'frank-pass')));
  const none = rest(d);
  const bad = rest(d, bearer('expired-or-unknown'));
  const calls: [string, (r: ReturnType<typeof rest>) => ReturnType<typeof http>][] = [
    ['GET /api/users', (r) => r.get('/api/users')],
    ['GET /api/users/{id}', (r) => r.get(`/api/users/${id}`)],
    ['POST /api/users', (r) => r.post('/api/users', { username: 'x', password: 'y' })],
    ['PUT /api/users/{id}', (r) => r.put(`/api/users/${id}`, { role: 'admin' })],
  ];
  for (const [name, call] of calls) {
    t.equal((await call(none)).status, 401, `${name} without a token`);
    t.equal((await call(bad)).status, 403, `${name} with a bad token`);
    const u = await call(frank);
    t.same([u.status, u.body], [403, { error: 'Administrator rights required' }], `${name} for a non-admin`);
  }
  t.equal((await a.get(`/api/users/${id}`)).body.role, 'user', 'frank did not promote himself');
});
