/**
 * Every rule of the core, driven through every door that can reach it: /v2/cce,
 * a BEGIN ... COMMIT queue, the Meeting REST facade, and the `cced` console
 * (run in-process on the running daemon's state dir, as an operator would
 * beside it). Each row of a table is one door; the same rule must give the same
 * answer (in that door's reply shape) or the same effect.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CceClient, adminClient, consoleEnv, startDaemon, type HttpResult, type TestDaemon } from './helpers/daemon.js';
import { catalogWorld, deviceRest, login, newDevice, rest } from './helpers/meeting.js';
import { run as runCced } from '../src/cli/cced.js';

const GOODBYE = { status: 201, message: 'GOODBYE' };
const BEGIN_OK = { status: 201, message: 'BEGIN OK' };
const failed = (code: number, message: string) => ({ status: 401, message: 'GOODBYE', data: { errors: [{ code, message }, { code: 401, message: 'FAIL' }] } });
const UNKNOWN_REF = '[[base-cce.unknownReference]]';

/** The console on the daemon's own store (beside the running daemon: SQLite's WAL allows it, PostgreSQL too). */
async function cced(d: TestDaemon, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const env = await consoleEnv(d.config.state_dir);
  const code = await runCced(args, env, { out: (s) => (stdout += s), err: (s) => (stderr += s), ...(input !== undefined ? { stdin: async () => input } : {}) });
  return { code, stdout, stderr };
}

/** BEGIN, the commands, COMMIT: the COMMIT's reply. */
async function commit(c: CceClient, ...cmds: string[]): Promise<HttpResult> {
  t.strictSame((await c.cmd('BEGIN')).body, BEGIN_OK);
  for (const cmd of cmds) t.strictSame((await c.cmd(cmd)).body, { status: 100, message: 'QUEUED' }, cmd);
  return c.cmd('COMMIT');
}

const oidOf = (r: HttpResult) => Number(r.body.data.oid);

async function world(t: Test) {
  const { d, a } = await catalogWorld(t);
  return { d, a, c: await adminClient(d) };
}

t.test('SUSPEND: every write is refused, whatever the door, heartbeats included', async (t) => {
  const { d, a, c } = await world(t);
  const { key, token } = await newDevice(a);
  const fresh = await newDevice(a);
  const deviceOid = Number((await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } })).body.data.oidlist[0]);
  t.equal((await c.cmd('CREATE User name="bob"')).body.status, 201);
  // A COMMIT queued before the suspension: it waits for RESUME.
  const queued = new CceClient(d);
  await queued.login();
  t.strictSame((await queued.cmd('BEGIN')).body, BEGIN_OK);
  t.strictSame((await queued.cmd(`SET ${deviceOid} note="queued"`)).body, { status: 100, message: 'QUEUED' });

  t.strictSame((await c.cmd('SUSPEND backup')).body, GOODBYE);
  const refused = failed(309, 'SUSPENDED "backup"');
  const doors: [string, () => Promise<void>][] = [
    ['/v2/cce', async () => {
      const r = await c.cmd(`SET ${deviceOid} note="x"`);
      t.equal(r.status, 503);
      t.strictSame(r.body, refused);
    }],
    ['COMMIT', async () => {
      const r = await queued.cmd('COMMIT');
      t.equal(r.status, 503);
      t.strictSame(r.body, refused);
    }],
    ['Meeting PUT', async () => {
      const r = await a.put(`/api/devices/${key}/note`, { note: 'x' });
      t.strictSame([r.status, r.body], [503, { error: 'Writes are suspended' }]);
    }],
    ['Meeting heartbeat with a note', async () => {
      const r = await deviceRest(d, token).post(`/api/devices/${key}/online`, { note: 'beat' });
      t.strictSame([r.status, r.body], [503, { error: 'Writes are suspended' }]);
    }],
    ['Meeting first heartbeat', async () => {
      const r = await deviceRest(d, fresh.token).post(`/api/devices/${fresh.key}/online`, {});
      t.strictSame([r.status, r.body], [503, { error: 'Writes are suspended' }]);
      t.strictSame((await a.get(`/api/devices/${fresh.key}/logs`)).body, [], 'no Connected event stored');
    }],
    ['console', async () => {
      t.strictSame(await cced(d, ['passwd', 'bob'], 'bob-password-1\n'), { code: 1, stdout: '', stderr: 'cced: SUSPENDED "backup"\n' });
    }],
  ];
  for (const [door, check] of doors) await t.test(door, check);
  const v = (await c.cmd(`GET ${deviceOid}`)).body.data.DATA;
  t.strictSame([v.note, v.last_seen], ['', ''], 'nothing of it was written');

  t.strictSame((await c.cmd('RESUME')).body, GOODBYE);
  t.equal((await queued.cmd('COMMIT')).body.status, 201, 'the queue kept through the suspension commits');
  t.equal((await deviceRest(d, token).post(`/api/devices/${key}/online`, { note: 'beat' })).status, 200);
  t.equal((await c.cmd(`GET ${deviceOid}`)).body.data.DATA.note, 'beat');
  t.equal((await cced(d, ['passwd', 'bob'], 'bob-password-1\n')).code, 0);
});

t.test('references declared in the schema: checked on CREATE and SET by every door', async (t) => {
  const { d, a, c } = await world(t);
  const dangling = 'device_type="no-such-type" distribution="nope" parent_device_key="ZZZZ9999"';
  const badType = failed(302, `BAD DATA 0 device_type "${UNKNOWN_REF}"`);

  await t.test('/v2/cce CREATE: each dangling reference, in schema order', async (t) => {
    const r = await c.cmd(`CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" ${dangling}`);
    t.equal(r.status, 422);
    t.strictSame(r.body, badType);
    t.strictSame((await c.cmd('CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" device_type="esp32" distribution="prod"')).body, failed(302, `BAD DATA 0 distribution "${UNKNOWN_REF}"`), 'prod is an rpi4 distribution');
    t.strictSame((await c.cmd('CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" device_type="gone"')).body, badType, 'a deleted type is no type');
    t.strictSame((await c.cmd('CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" parent_device_key="ZZZZ9999"')).body, failed(302, `BAD DATA 0 parent_device_key "${UNKNOWN_REF}"`));
    t.strictSame((await c.cmd('CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" parent_device_key="ZZZZ0001"')).body, failed(302, 'BAD DATA 0 parent_device_key "[[base-cce.selfReference]]"'));
    t.strictSame((await c.cmd('CREATE Distribution name="x" device_type="no-such-type"')).body, badType);
    t.strictSame((await c.cmd('FIND Device')).body, GOODBYE, 'nothing was created');
  });

  const ok = oidOf(await c.cmd('CREATE Device device_key="ZZZZ0001" token_code="device-secret-1-0123456789" device_type="rpi4" distribution="prod"'));
  await t.test('/v2/cce SET: a new type re-checks the distribution; a device is not its own parent', async (t) => {
    t.strictSame((await c.cmd(`SET ${ok} device_type="esp32"`)).body, failed(302, `BAD DATA ${ok} distribution "${UNKNOWN_REF}"`));
    t.strictSame((await c.cmd(`SET ${ok} parent_device_key="ZZZZ0001"`)).body, failed(302, `BAD DATA ${ok} parent_device_key "[[base-cce.selfReference]]"`));
    t.strictSame((await c.cmd(`SET ${ok} device_type="esp32" distribution=""`)).body, GOODBYE, 'type and distribution together');
  });

  await t.test('COMMIT: the same refusal, and nothing of the queue lands', async (t) => {
    const r = await commit(c, 'CREATE Device device_key="ZZZZ0002" token_code="device-secret-2-0123456789"', `CREATE Device device_key="ZZZZ0003" token_code="device-secret-3-0123456789" ${dangling}`);
    t.equal(r.status, 409);
    const command = 'CREATE Device device_key = "ZZZZ0003" token_code = "***" device_type = "no-such-type" distribution = "nope" parent_device_key = "ZZZZ9999"';
    t.strictSame(r.body.data.errors, [{ command, error: `Error: 302 BAD DATA 0 device_type "${UNKNOWN_REF}"`, index: 1, message: 'BAD DATA', status: 302 }]);
  });

  await t.test('Meeting: the document\u2019s 400s, from the same rule', async (t) => {
    const body = (extra: Record<string, unknown>) => ({ devicekey: 'ZZZZ0004', token_code: 'device-secret-4-0123456789', device_type: 'rpi4', ...extra });
    for (const [extra, error] of [
      [{ device_type: 'no-such-type', distribution: 'nope' }, 'Unknown device type'],
      [{ distribution: 'nope' }, 'Unknown distribution for this device type'],
    ] as const) {
      const r = await a.post('/api/devices/manual-create', body(extra));
      t.strictSame([r.status, r.body], [400, { error }]);
    }
    const { key } = await newDevice(a, { distribution: 'prod' });
    const put = async (p: string, b: unknown) => {
      const r = await a.put(`/api/devices/${key}/${p}`, b);
      return [r.status, r.body];
    };
    t.strictSame(await put('device-type', { device_type: 'esp32' }), [400, { error: 'Unknown distribution for this device type' }], 'the type may not leave its distribution behind');
    t.strictSame(await put('parent', { parent_device_key: 'ZZZZ9999' }), [400, { error: 'Parent device not found' }]);
    t.strictSame(await put('parent', { parent_device_key: key }), [400, { error: 'A device cannot be its own parent' }]);
    t.strictSame(await put('parent', { parent_device_key: 'ZZZZ0001' }), [200, { success: true, parent_device_key: 'ZZZZ0001' }]);
  });

  await t.test('console import: the same refusal', async (t) => {
    const file = path.join(d.config.state_dir, 'import.jsonl');
    writeFileSync(file, JSON.stringify({ oid: 99, class: 'Device', namespaces: { '': { device_key: 'ZZZZ0005', token_code: 'device-secret-5-0123456789', device_type: 'no-such-type' } } }) + '\n');
    t.strictSame(await cced(d, ['import', file]), { code: 1, stdout: '', stderr: `cced: BAD DATA 0 device_type "${UNKNOWN_REF}"\n` });
    // An export lists classes by name (Device before DeviceType): the import creates what is referenced first.
    const lines = [
      { oid: 97, class: 'Device', namespaces: { '': { device_key: 'ZZZZ0006', token_code: 'device-secret-6-0123456789', device_type: 'imported', distribution: 'first' } } },
      { oid: 98, class: 'DeviceType', namespaces: { '': { name: 'imported' } } },
      { oid: 99, class: 'Distribution', namespaces: { '': { name: 'first', device_type: 'imported' } } },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
    t.strictSame(await cced(d, ['import', file]), { code: 0, stdout: 'imported 3 objects\n', stderr: '' });
  });
});

t.test('DeviceType: DESTROY is a soft delete on every door; FIND sees deleted types only when asked', async (t) => {
  const { a, c } = await world(t);
  const find = async (args: Record<string, string>) => (await c.cmd({ cmd: 'FINDX', class: 'DeviceType', args })).body.data.oidlist as string[];
  const [rpi4] = await find({ name: 'rpi4' });
  const [gone] = await find({ name: 'gone', deleted: '1' });
  t.ok(gone, 'a deleted type is found when the criteria ask for it');
  t.strictSame(await find({ name: 'gone' }), [], 'and not otherwise');
  t.strictSame((await c.cmd('FIND DeviceType name="gone"')).body, GOODBYE, 'FIND: no match');

  t.strictSame((await c.cmd(`DESTROY ${rpi4}`)).body, GOODBYE);
  t.equal((await c.cmd(`GET ${rpi4}`)).body.data.DATA.deleted, '1', '/v2/cce DESTROY marked it deleted');
  t.strictSame(await find({ name: 'rpi4' }), []);
  t.strictSame((await a.get('/api/flash/device-types')).body, { device_types: ['esp32'] });
  const revived = await c.cmd('CREATE DeviceType name="rpi4" platform="arm"');
  t.equal(revived.body.data.oid, rpi4, 'CREATE of its name revives the same object');
  t.strictSame(await find({ name: 'rpi4' }), [rpi4]);
  t.strictSame((await a.get(`/api/flash/rpi4/distributions`)).body, { distributions: ['nightly', 'prod'] }, 'with its distributions');

  const meeting = await a.del(`/api/device-types/${rpi4}`);
  t.strictSame([meeting.status, meeting.body], [200, { success: true }]);
  t.strictSame(await find({ name: 'rpi4' }), [], 'Meeting DELETE is the same soft delete');
  t.equal((await a.post('/api/device-types', { name: 'rpi4' })).body.id, Number(rpi4), 'and Meeting POST the same revival');
});

t.test('DESTROY of a device takes its SSH keys, tunnels and events along, by every door', async (t) => {
  const { d, a, c } = await world(t);
  const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  async function equipped(): Promise<{ key: string; oid: string }> {
    const { key, token } = await newDevice(a);
    t.equal((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: `${pub} dev`, user_name: 'alice' })).status, 200);
    for (const [p, b] of [['authorize', { authorized: 1 }], ['tokens', { token_count: 2 }]] as const) t.equal((await a.put(`/api/devices/${key}/${p}`, b)).status, 200);
    t.equal((await deviceRest(d, token).post(`/api/devices/${key}/online`, {})).status, 200);
    t.equal((await deviceRest(d, token).post(`/api/devices/${key}/service`, { service: 'ssh' })).status, 202);
    const oid = (await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } })).body.data.oidlist[0] as string;
    return { key, oid };
  }
  const owned = async (key: string) => {
    const n = async (cls: string) => ((await c.cmd({ cmd: 'FINDX', class: cls, args: { device_key: key } })).body.data.oidlist as string[]).length;
    return { sshKeys: await n('SshKey'), tunnels: await n('Tunnel') };
  };
  const doors: [string, (dev: { key: string; oid: string }) => Promise<unknown>][] = [
    ['/v2/cce', async ({ oid }) => t.strictSame((await c.cmd(`DESTROY ${oid}`)).body, GOODBYE)],
    ['COMMIT', async ({ oid }) => t.equal((await commit(c, `DESTROY ${oid}`)).body.status, 201)],
    ['Meeting', async ({ key }) => t.strictSame((await a.del(`/api/devices/${key}`)).body, { success: true })],
  ];
  for (const [door, destroy] of doors) {
    await t.test(door, async (t) => {
      const dev = await equipped();
      t.strictSame(await owned(dev.key), { sshKeys: 1, tunnels: 1 });
      await destroy(dev);
      t.strictSame(await owned(dev.key), { sshKeys: 0, tunnels: 0 });
      t.strictSame((await rest(d).get('/api/ssh-keys/devices?user=alice')).body, { devices: [] }, 'the key is no longer listed');
      // The same key may serve a new device now (it was the old one's: 409 before).
      const again = await newDevice(a, {});
      t.equal((await a.put(`/api/devices/${again.key}/ssh-key`, { ssh_public_key: pub })).status, 200);
      t.equal((await c.cmd(`DESTROY ${(await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: again.key } })).body.data.oidlist[0]}`)).body.status, 201);
    });
  }

  await t.test('a rolled-back COMMIT destroys nothing', async (t) => {
    const dev = await equipped();
    const r = await commit(c, `DESTROY ${dev.oid}`, 'SET 999999 note="x"');
    t.equal(r.status, 409);
    t.strictSame(await owned(dev.key), { sshKeys: 1, tunnels: 1 });
    t.equal((await a.get(`/api/devices/${dev.key}/logs`)).body.length, 1, 'its Connected event is still there');
    t.strictSame((await c.cmd(`DESTROY ${dev.oid}`)).body, GOODBYE);
  });

  await t.test('a device re-created with the same key starts with no events', async (t) => {
    const dev = await equipped();
    t.equal((await a.get(`/api/devices/${dev.key}/logs`)).body.length, 1);
    t.strictSame((await c.cmd(`DESTROY ${dev.oid}`)).body, GOODBYE);
    t.equal((await c.cmd(`CREATE Device device_key="${dev.key}" token_code="device-secret-again-0123456789"`)).body.status, 201);
    t.strictSame((await a.get(`/api/devices/${dev.key}/logs`)).body, []);
  });
});

t.test('one user-lifecycle rule: disabling, a new password or DESTROY ends sessions and tokens, by every door', async (t) => {
  const { d, a, c } = await world(t);
  let n = 0;
  /** A fresh user with an open /v2/cce session and a Meeting bearer token. */
  async function user(): Promise<{ name: string; oid: number; alive: () => Promise<[boolean, boolean]> }> {
    const name = `user${++n}`;
    const oid = Number((await a.post('/api/users', { username: name, password: 'first-pass-1' })).body.id);
    const session = await new CceClient(d, name).login('first-pass-1');
    const bearer = rest(d, { authorization: `Bearer ${await login(d, name, 'first-pass-1')}` });
    const alive = async (): Promise<[boolean, boolean]> => [(await session.cmd(`GET ${oid}`)).body.status === 201, (await bearer.get('/api/auth/me')).status === 200];
    t.strictSame(await alive(), [true, true]);
    return { name, oid, alive };
  }
  const doors: [string, (u: { name: string; oid: number }) => Promise<unknown>][] = [
    ['/v2/cce SET enabled=0', (u) => c.cmd(`SET ${u.oid} enabled="0"`)],
    ['/v2/cce SET authorized=0', (u) => c.cmd(`SET ${u.oid} authorized="0"`)],
    ['/v2/cce SET password', (u) => c.cmd(`SET ${u.oid} password="second-pass-2"`)],
    ['/v2/cce DESTROY', (u) => c.cmd(`DESTROY ${u.oid}`)],
    ['COMMIT SET enabled=0', (u) => commit(c, `SET ${u.oid} enabled="0"`)],
    ['COMMIT SET password', (u) => commit(c, `SET ${u.oid} password="second-pass-2"`)],
    ['Meeting PUT authorized=0', (u) => a.put(`/api/users/${u.oid}`, { authorized: 0 })],
    ['Meeting PUT password', (u) => a.put(`/api/users/${u.oid}`, { password: 'second-pass-2' })],
    ['console passwd', (u) => cced(d, ['passwd', u.name], 'second-pass-2\n')],
    ['console user disable', (u) => cced(d, ['user', 'disable', u.name])],
  ];
  for (const [door, act] of doors) {
    await t.test(door, async (t) => {
      const u = await user();
      await act(u);
      t.strictSame(await u.alive(), [false, false], 'the session and the bearer token are over');
    });
  }

  await t.test('a rolled-back COMMIT ends nothing', async (t) => {
    const u = await user();
    t.equal((await commit(c, `SET ${u.oid} enabled="0"`, 'SET 999999 note="x"')).status, 409);
    t.strictSame(await u.alive(), [true, true]);
  });

  await t.test('a user changing its own password keeps the session that did it', async (t) => {
    const u = await user();
    const other = await new CceClient(d, u.name).login('first-pass-1');
    const self = await new CceClient(d, u.name).login('first-pass-1');
    t.strictSame((await self.cmd(`SET ${u.oid} password="second-pass-2" oldpassword="first-pass-1"`)).body, GOODBYE);
    t.equal((await self.cmd(`GET ${u.oid}`)).body.status, 201, 'its own session lives on');
    t.equal((await other.cmd(`GET ${u.oid}`)).body.status, 401, 'another one ends');
    t.strictSame(await u.alive(), [false, false]);
  });
});

t.test('a disabled or unauthorized user logs in by no door, with the answer of a wrong password', async (t) => {
  const { d, a, c } = await world(t);
  const nobody = { status: 201, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }], oid: '-1' } };
  const doors: [string, (name: string, password: string) => Promise<unknown>][] = [
    ['/v2/cce AUTH', async (name, password) => (await new CceClient(d).raw({ cmd: 'AUTH', user: name, password })).body],
    ['/v2/cce WHOAMI', async (name, password) => (await new CceClient(d).raw({ cmd: 'WHOAMI', user: name, password })).body],
    ['Meeting login', async (name, password) => {
      const r = await rest(d).post('/api/auth/login', { username: name, password });
      return [r.status, r.body];
    }],
    ['Pantahub login', async (name, password) => {
      const r = await rest(d).post('/auth/login', { username: name, password });
      return [r.status, r.body];
    }],
  ];
  let n = 0;
  for (const flag of ['enabled', 'authorized']) {
    for (const [door, logIn] of doors) {
      await t.test(`${flag}=0, ${door}`, async (t) => {
        const name = `shut${++n}`;
        const oid = Number((await a.post('/api/users', { username: name, password: 'right-pass-1' })).body.id);
        const wrong = await logIn(name, 'wrong-pass-1');
        t.not(JSON.stringify(await logIn(name, 'right-pass-1')), JSON.stringify(wrong), 'the right password opens while the user may log in');
        t.strictSame((await c.cmd(`SET ${oid} ${flag}="0"`)).body, GOODBYE);
        t.strictSame(await logIn(name, 'right-pass-1'), wrong, 'refused like a wrong password');
      });
    }
  }
  t.strictSame(await doors[1]![1]('nobody-here', 'x'), nobody, 'WHOAMI names nobody for a wrong password');
});

t.test('the role is systemAdministrator seen from the Meeting API: one value, both views, every door', async (t) => {
  const { d, a, c } = await world(t);
  const role = async (oid: number) => [(await c.cmd(`GET ${oid}`)).body.data.DATA.role, (await c.cmd(`GET ${oid}`)).body.data.DATA.systemAdministrator, (await a.get(`/api/users/${oid}`)).body.role];
  t.strictSame(await role(2), ['admin', '1', 'admin'], 'the bootstrap admin is an admin on both doors');
  const bob = oidOf(await c.cmd('CREATE User name="bob" password="bob-pass-1"'));
  t.strictSame(await role(bob), ['user', '0', 'user']);
  const admins = async () => (await c.cmd({ cmd: 'FINDX', class: 'User', args: { role: 'admin' } })).body.data.oidlist as string[];
  const before = await admins();
  t.ok(before.includes('2'), 'FINDX by role finds the admins');
  const findx = async (extra: Record<string, unknown>) => (await c.cmd({ cmd: 'FINDX', class: 'User', args: {}, ...extra })).body.data.oidlist as string[];
  const everyone = await findx({});
  t.strictSame(await findx({ regex_args: { role: '^adm' } }), before, 'a regex on the role');
  t.strictSame(await findx({ regex_args: { role: '.' } }), everyone, 'a regex every role matches');
  t.strictSame(await findx({ regex_args: { role: '^root' } }), [], 'a regex no role matches');
  t.strictSame(await findx({ args: { role: 'root' } }), [], 'a role that does not exist');
  t.strictSame(await findx({ sortprop: 'role', sorttype: 'ascii' }), [...before, String(bob)], 'sorted by role: admin before user');

  t.strictSame((await c.cmd(`SET ${bob} role="admin"`)).body, GOODBYE);
  t.strictSame(await role(bob), ['admin', '1', 'admin'], '/v2/cce SET role grants it');
  t.equal((await (await new CceClient(d, 'bob').login('bob-pass-1')).cmd('SUSPEND')).status, 200, 'bob is a sysadmin now');
  t.strictSame((await c.cmd('RESUME')).body, GOODBYE);
  t.strictSame(await admins(), [...before, String(bob)]);
  t.strictSame((await c.cmd(`SET ${bob} systemAdministrator="0"`)).body, GOODBYE);
  t.strictSame(await role(bob), ['user', '0', 'user'], 'writing the flag changes the role');
  t.strictSame((await a.put(`/api/users/${bob}`, { role: 'admin' })).body, { success: true });
  t.strictSame(await role(bob), ['admin', '1', 'admin'], 'Meeting PUT role');
  t.strictSame((await commit(c, `SET ${bob} role="user"`)).body.status, 201);
  t.strictSame(await role(bob), ['user', '0', 'user'], 'COMMIT');
  t.strictSame((await c.cmd(`SET ${bob} role="root"`)).body, failed(302, `BAD DATA ${bob} role "[[meeting.role]]"`));
  t.strictSame((await c.cmd(`SET ${bob} role="admin" systemAdministrator="0"`)).body, failed(302, `BAD DATA ${bob} role "[[base-cce.invalidData]]"`), 'two contradicting values');
  t.equal((await cced(d, ['user', 'add', 'carol', '--admin'])).code, 0);
  const carol = Number((await c.cmd({ cmd: 'FINDX', class: 'User', args: { name: 'carol' } })).body.data.oidlist[0]);
  t.strictSame(await role(carol), ['admin', '1', 'admin'], 'the console');
});

t.test('a rolled-back COMMIT\u2019s reported oids are never handed out again, even after a restart', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-oids-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const first = await startDaemon({ stateDir });
  const c = await adminClient(first);
  const r = await commit(c, 'CREATE DeviceType name="a1"', 'CREATE DeviceType name="a2"', 'SET 999999 note="x"');
  t.equal(r.status, 409);
  const reported = (r.body.data.results as { oid?: string }[]).flatMap((x) => (x.oid === undefined ? [] : [Number(x.oid)]));
  t.equal(reported.length, 2);
  const next = oidOf(await c.cmd('CREATE DeviceType name="b"'));
  t.ok(next > Math.max(...reported), `${next} comes after the rolled-back ${reported.join(', ')}`);
  const again = await commit(c, 'CREATE DeviceType name="c1"', 'SET 999999 note="x"');
  const lost = Number(again.body.data.results[0].oid);
  await first.close();

  const second = await startDaemon({ stateDir });
  t.teardown(() => second.close());
  const after = oidOf(await (await adminClient(second)).cmd('CREATE DeviceType name="d"'));
  t.ok(after > lost, `after a restart, ${after} comes after the rolled-back ${lost}`);
});
