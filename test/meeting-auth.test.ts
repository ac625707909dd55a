/** Credentials of the Meeting facade: bearer tokens (401 missing, 403 invalid/expired/not admin), device tokens, the gate. */
import t from 'tap';
import { CceClient, adminClient, http, startDaemon, ADMIN_PASSWORD } from './helpers/daemon.js';
import { catalogWorld, deviceRest, login, newDevice, rest } from './helpers/meeting.js';
import { BEARER_ORIGIN } from '../src/facades/meeting/auth.js';

t.test('bearer tokens', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const anon = rest(d);

  const missing = await anon.get('/api/devices');
  t.equal(missing.status, 401);
  t.strictSame(missing.body, { error: 'Missing bearer token' });
  t.equal(missing.headers['www-authenticate'], 'Bearer');

  for (const authorization of ['Bearer not-a-token', 'Basic YWRtaW46eA==', 'Bearer']) {
    const r = await rest(d, { authorization }).get('/api/devices');
    t.equal(r.status, 403, authorization);
    t.strictSame(r.body, { error: 'Invalid or expired token' });
  }

  // An expired bearer grant: 403, as seeds/001 says.
  const grants = d.app.services.auth.grants;
  const expired = await grants.issue({ kind: 'token', userOid: 2, userName: 'admin', origin: BEARER_ORIGIN, lifetimeMs: -1, sliding: false });
  t.equal((await rest(d, { authorization: `Bearer ${expired.secret}` }).get('/api/devices')).status, 403);

  // A /v2/cce session is not a bearer token, and a bearer token does not open /v2/cce.
  const c = await adminClient(d);
  t.equal((await rest(d, { authorization: `Bearer ${c.sessionid}` }).get('/api/devices')).status, 403);
  const token = await login(d);
  const viaCce = await c.raw({ cmd: 'GET 1', user: 'admin', sessionid: token });
  t.equal(viaCce.status, 401);
  const viaToken = await c.raw({ cmd: 'GET 1', token });
  t.equal(viaToken.status, 401);

  const ok = await rest(d, { authorization: `bearer ${token}` }).get('/api/devices');
  t.equal(ok.status, 200);
  t.strictSame(ok.body, { devices: [], total: 0, limit: 25, offset: 0 });

  // A user that is later disabled loses its token at once.
  await c.cmd(`CREATE User name="carol" password="carol-pass-1"`);
  const carol = await login(d, 'carol', 'carol-pass-1');
  t.equal((await rest(d, { authorization: `Bearer ${carol}` }).get('/api/devices')).status, 200);
  const oid = (await c.cmd({ cmd: 'FINDX', class: 'User', args: { name: 'carol' } })).body.data.oidlist[0];
  await c.cmd(`SET ${oid} enabled="0"`);
  t.equal((await rest(d, { authorization: `Bearer ${carol}` }).get('/api/devices')).status, 403);
});

t.test('POST /api/auth/login', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const ok = await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD });
  t.equal(ok.status, 200);
  t.equal(ok.body.success, true);
  t.match(ok.body.token, /^[A-Za-z0-9_-]{43}$/);
  t.ok(Date.parse(ok.body.expires_at) > Date.now());

  const bad = await http(`${d.url}/api/auth/login`, { username: 'admin', password: 'wrong' });
  t.equal(bad.status, 401);
  t.strictSame(bad.body, { error: 'Invalid credentials' });
  const missing = await http(`${d.url}/api/auth/login`, { username: 'admin' });
  t.equal(missing.status, 400);
  t.strictSame(missing.body, { error: 'password: Invalid input: expected string, received undefined' });
  const malformed = await http(`${d.url}/api/auth/login`, '{"username":', { headers: { 'content-type': 'application/json' } });
  t.equal(malformed.status, 400);
  t.match(malformed.body.error, /JSON/);

  // A Meeting user whose authorized flag is off cannot log in.
  const c = await adminClient(d);
  await c.cmd(`CREATE User name="dave" password="dave-pass-1" authorized="0"`);
  t.equal((await http(`${d.url}/api/auth/login`, { username: 'dave', password: 'dave-pass-1' })).status, 401);
  t.notOk(d.logs.some((l) => l.includes(ADMIN_PASSWORD) || l.includes(ok.body.token)), 'no password or token in the log');
});

t.test('admin paths refuse a non-admin user; reads hide secret fields from it', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key, token } = await newDevice(a);
  const c = await adminClient(d);
  await c.cmd(`CREATE User name="bob" password="bob-pass-12"`);
  const bob = rest(d, { authorization: `Bearer ${await login(d, 'bob', 'bob-pass-12')}` });

  const gen = await bob.get('/api/devices/generate-key');
  t.equal(gen.status, 403);
  t.strictSame(gen.body, { error: 'Administrator rights required' });
  t.equal((await bob.put(`/api/devices/${key}/tokens`, { token_count: 5 })).status, 403);
  t.equal((await bob.del(`/api/devices/${key}`)).status, 403);

  const seen = await bob.get(`/api/devices/${key}`);
  t.equal(seen.status, 200);
  for (const secret of ['token_code', 'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high']) t.notOk(secret in seen.body, `${secret} hidden`);
  t.equal(seen.body.device_key, key);
  const listed = await bob.get('/api/devices');
  t.notOk('token_code' in listed.body.devices[0]);
  // Through /v2/cce the same user finds the device by key but never through a secret (no oracle).
  const bobCce = await new CceClient(d, 'bob').login('bob-pass-12');
  t.equal((await bobCce.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } })).body.data.oidlist.length, 1);
  t.strictSame((await bobCce.cmd({ cmd: 'FINDX', class: 'Device', args: { token_code: token } })).body.data.oidlist, []);
});

t.test('device tokens', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key, token } = await newDevice(a);
  const other = await newDevice(a);

  const none = await rest(d).post(`/api/devices/${key}/online`);
  t.equal(none.status, 401);
  t.strictSame(none.body, { error: 'Missing bearer token or X-Device-Token' });
  const wrong = await deviceRest(d, 'not-the-token').post(`/api/devices/${key}/online`);
  t.equal(wrong.status, 403);
  t.strictSame(wrong.body, { error: 'Invalid device credentials' });
  // Another device's token does not open this device; an unknown key answers the same 403.
  t.equal((await deviceRest(d, other.token).post(`/api/devices/${key}/online`)).status, 403);
  t.equal((await deviceRest(d, token).post(`/api/devices/NOSUCHDEVICE/online`)).status, 403);
  // A device token is no bearer token for admin or read paths.
  t.equal((await deviceRest(d, token).get(`/api/devices/${key}`)).status, 401);

  t.equal((await deviceRest(d, token).post(`/api/devices/${key}/online`)).status, 200);
  const c = await adminClient(d);
  const oid = (await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } })).body.data.oidlist[0];
  await c.cmd(`SET ${oid} revoked="1"`);
  t.equal((await deviceRest(d, token).post(`/api/devices/${key}/online`)).status, 403, 'a revoked device is refused');
  t.notOk(d.logs.some((l) => l.includes(token)), 'no device token in the log');
});

t.test('the gate applies to the facade', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const r = await http(`${d.url}/api/devices`, undefined, { localAddress: '127.0.0.2' });
  t.equal(r.status, 403);
  t.equal(r.body.message, 'origin not allowed');
});
