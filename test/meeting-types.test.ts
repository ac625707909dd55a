import t from 'tap';
import path from 'node:path';
import { startDaemon, adminClient, type TestDaemon } from './helpers/daemon.js';
import { adminRest, login, rest, type Rest } from './helpers/meeting.js';

/** A non-admin user with a bearer token. */
async function userRest(d: TestDaemon, admin: Rest, name = 'carol'): Promise<Rest> {
  const r = await admin.post('/api/users', { username: name, password: 'carol-pass' });
  if (r.status !== 200) throw new Error(r.text);
  return rest(d, { authorization: `Bearer ${await login(d, name, 'carol-pass')}` });
}

t.test('device types: create, list, update, soft delete', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);

  const created = await a.post('/api/device-types', { name: 'Raspberry Pi 5', serial_prefix: 'RPI5' });
  t.equal(created.status, 200);
  t.same(Object.keys(created.body), ['success', 'id']);
  t.equal(created.body.success, true);
  const id = created.body.id as number;
  t.type(id, 'number');

  const list = await a.get('/api/device-types');
  t.equal(list.status, 200);
  t.same(list.body, {
    device_types: [
      { id, name: 'Raspberry Pi 5', serial_prefix: 'RPI5', platform: '', services: [], distribution: '', status: 'active', icon_path: '', forked_from: null },
    ],
  });

  t.same((await a.post('/api/device-types', { name: 'Raspberry Pi 5' })).body, { error: 'Device type already exists' });
  t.equal((await a.post('/api/device-types', { name: 'Raspberry Pi 5' })).status, 409);
  const noName = await a.post('/api/device-types', { serial_prefix: 'X' });
  t.equal(noName.status, 400);
  t.match(noName.body.error, /^name: /);
  const badPrefix = await a.post('/api/device-types', { name: 'Other', serial_prefix: 'bad prefix!' });
  t.same([badPrefix.status, badPrefix.body], [400, { error: 'invalid serial_prefix' }]);

  const put = await a.put(`/api/device-types/${id}`, { platform: 'arm64', status: 'active', services: ['ssh', 'http'] });
  t.same([put.status, put.body], [200, { success: true }]);
  const after = (await a.get('/api/device-types')).body.device_types[0];
  t.equal(after.platform, 'arm64');
  t.same(after.services, ['ssh', 'http']);
  t.same((await a.put(`/api/device-types/${id}`, {})).body, { error: 'Nothing to update' });
  t.equal((await a.put(`/api/device-types/${id}`, { services: ['telnet'] })).status, 400);
  t.same([(await a.put('/api/device-types/9999', { platform: 'x' })).status, (await a.put('/api/device-types/9999', { platform: 'x' })).body], [404, { error: 'Device type not found' }]);
  t.equal((await a.put('/api/device-types/1', { platform: 'x' })).status, 404, 'oid 1 is the System object, not a type');
  const badId = await a.put('/api/device-types/abc', { platform: 'x' });
  t.same([badId.status, badId.body], [400, { error: 'id: a positive integer' }]);

  const del = await a.del(`/api/device-types/${id}`);
  t.same([del.status, del.body], [200, { success: true }]);
  t.same((await a.get('/api/device-types')).body, { device_types: [] });
  t.same((await a.get('/api/flash/device-types')).body, { device_types: [] });
  t.equal((await a.del(`/api/device-types/${id}`)).status, 404, 'already deleted');
  t.equal((await a.put(`/api/device-types/${id}`, { platform: 'x' })).status, 404);

  // The deleted type still holds its name; creating it again revives the same object with the new values.
  const again = await a.post('/api/device-types', { name: 'Raspberry Pi 5', platform: 'arm' });
  t.same(again.body, { success: true, id });
  const revived = (await a.get('/api/device-types')).body.device_types[0];
  t.same([revived.platform, revived.serial_prefix, revived.services], ['arm', '', []]);
});

t.test('renaming a type carries its distributions and devices along', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  await a.post('/api/flash/create-type', { devicetype: 'rpi4' });
  await a.post('/api/flash/create-distribution', { devicetype: 'rpi4', distribution: 'prod' });
  const c = await adminClient(d);
  const dev = await c.cmd({ cmd: 'CREATE', class: 'Device', args: { device_key: 'DEV0001', token_code: 'secret-code-00001', device_type: 'rpi4' } });
  t.equal(dev.body.status, 201);
  const id = (await a.get('/api/device-types')).body.device_types[0].id;
  t.same((await a.put(`/api/device-types/${id}`, { name: 'rpi4b' })).body, { success: true });
  t.same((await a.get('/api/flash/rpi4b/distributions')).body, { distributions: ['prod'] });
  t.equal((await a.get('/api/flash/rpi4/distributions')).status, 404);
  const got = await c.cmd(`GET ${dev.body.data.oid}`);
  t.equal(got.body.data.DATA.device_type, 'rpi4b');
  // Renaming onto a taken name is the store's uniqueness error.
  await a.post('/api/flash/create-type', { devicetype: 'esp32' });
  const taken = await a.put(`/api/device-types/${id}`, { name: 'esp32' });
  t.same([taken.status, taken.body], [409, { error: 'name already in use' }]);
  t.same((await a.put(`/api/device-types/${id}`, { name: 'rpi4b', platform: 'arm' })).body, { success: true }, 'same name: no rename');
});

t.test('fork and merge', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const orig = (await a.post('/api/device-types', { name: 'rpi5', serial_prefix: 'RPI5', platform: 'arm64', services: ['ssh'] })).body.id;
  await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'prod' });

  const fork = await a.post(`/api/device-types/${orig}/fork`, { name: 'RPI5-clone', serial_prefix: 'RPI5B' });
  t.equal(fork.status, 200);
  t.same(Object.keys(fork.body), ['success', 'id']);
  const forkId = fork.body.id;
  const types = (await a.get('/api/device-types')).body.device_types;
  t.same(types[1], { id: forkId, name: 'RPI5-clone', serial_prefix: 'RPI5B', platform: 'arm64', services: ['ssh'], distribution: '', status: 'active', icon_path: '', forked_from: orig });
  t.same((await a.get('/api/flash/RPI5-clone/distributions')).body, { distributions: ['prod'] }, 'distributions are copied');
  const defaultPrefix = await a.post(`/api/device-types/${orig}/fork`, { name: 'rpi5-other' });
  t.equal((await a.get('/api/device-types')).body.device_types[2].serial_prefix, 'RPI5', 'the prefix defaults to the original one');
  t.equal(defaultPrefix.status, 200);

  t.equal((await a.post(`/api/device-types/${orig}/fork`, { name: 'rpi5' })).status, 409);
  t.equal((await a.post(`/api/device-types/${orig}/fork`, {})).status, 400);
  t.equal((await a.post('/api/device-types/9999/fork', { name: 'x' })).status, 404);

  // The fork evolves, then is merged back.
  await a.put(`/api/device-types/${forkId}`, { platform: 'arm64-v2', services: ['ssh', 'vnc'] });
  await a.post('/api/flash/create-distribution', { devicetype: 'RPI5-clone', distribution: 'nightly' });
  const c = await adminClient(d);
  const dev = await c.cmd({ cmd: 'CREATE', class: 'Device', args: { device_key: 'DEV0002', token_code: 'secret-code-00001', device_type: 'RPI5-clone' } });

  t.same((await a.post(`/api/device-types/${orig}/merge`)).body, { error: 'Device type is not a fork' });
  t.equal((await a.post(`/api/device-types/${orig}/merge`)).status, 400);
  const merged = await a.post(`/api/device-types/${forkId}/merge`);
  t.same([merged.status, merged.body], [200, { success: true }]);
  const now = (await a.get('/api/device-types')).body.device_types;
  t.same(now.map((x: { name: string }) => x.name), ['rpi5', 'rpi5-other'], 'the fork is gone from lists');
  t.same([now[0].platform, now[0].services, now[0].serial_prefix], ['arm64-v2', ['ssh', 'vnc'], 'RPI5']);
  t.same((await a.get('/api/flash/rpi5/distributions')).body, { distributions: ['nightly', 'prod'] });
  t.equal((await c.cmd(`GET ${dev.body.data.oid}`)).body.data.DATA.device_type, 'rpi5');
  t.equal((await a.post(`/api/device-types/${forkId}/merge`)).status, 404, 'a merged fork is deleted');

  // A fork whose original was deleted has nothing to merge into.
  await a.del(`/api/device-types/${orig}`);
  const orphan = await a.post(`/api/device-types/${defaultPrefix.body.id}/merge`);
  t.same([orphan.status, orphan.body], [404, { error: 'Original device type not found' }]);
});

t.test('flash catalog: create-type, create-distribution, lists', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);

  const ct = await a.post('/api/flash/create-type', { devicetype: 'rpi5' });
  t.same([ct.status, ct.body], [200, { success: true, devicetype: 'rpi5' }]);
  const dup = await a.post('/api/flash/create-type', { devicetype: 'rpi5' });
  t.same([dup.status, dup.body], [409, { error: 'Device type already exists' }]);
  for (const bad of ['../etc', 'a b', '.hidden', '', 'x'.repeat(65)]) {
    const r = await a.post('/api/flash/create-type', { devicetype: bad });
    t.equal(r.status, 400, `unsafe name ${JSON.stringify(bad)}`);
  }
  t.equal((await a.post('/api/flash/create-type', {})).status, 400);

  const cd = await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'nightly' });
  t.same([cd.status, cd.body], [200, { success: true, devicetype: 'rpi5', distribution: 'nightly' }]);
  const cdDup = await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'nightly' });
  t.same([cdDup.status, cdDup.body], [409, { error: 'Distribution already exists' }]);
  const cdType = await a.post('/api/flash/create-distribution', { devicetype: 'nope', distribution: 'prod' });
  t.same([cdType.status, cdType.body], [404, { error: 'Device type not found' }]);
  t.equal((await a.post('/api/flash/create-distribution', { devicetype: 'rpi5' })).status, 400);
  t.equal((await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: '../x' })).status, 400);
  await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'prod' });
  await a.post('/api/flash/create-type', { devicetype: 'esp32' });

  t.same((await a.get('/api/flash/device-types')).body, { device_types: ['esp32', 'rpi5'] });
  t.same((await a.get('/api/flash/rpi5/distributions')).body, { distributions: ['nightly', 'prod'] });
  t.same((await a.get('/api/flash/esp32/distributions')).body, { distributions: [] });
  const unknown = await a.get('/api/flash/nope/distributions');
  t.same([unknown.status, unknown.body], [404, { error: 'Device type not found' }]);

  // One DeviceType class behind both APIs and /v2/cce.
  const types = (await a.get('/api/device-types')).body.device_types;
  t.same(types.map((x: { name: string }) => x.name), ['rpi5', 'esp32']);
  const c = await adminClient(d);
  const found = await c.cmd({ cmd: 'FINDX', class: 'DeviceType', args: { name: 'rpi5' } });
  t.same(found.body.data.oidlist.map(Number), [types[0].id]);
  // Distributions of a deleted type are not reachable through Flash either.
  await a.del(`/api/device-types/${types[0].id}`);
  t.equal((await a.get('/api/flash/rpi5/distributions')).status, 404);
  t.equal((await a.post('/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'beta' })).status, 404);
});

t.test('every catalog change brings its firmware folders: creations, forks, renames and merges', async (t) => {
  const { Catalog } = await import('../src/devices/catalog.js');
  const { SYSTEM } = await import('../src/store/store.js');
  const { entries } = await import('./helpers/files.js');
  const d = await startDaemon();
  t.teardown(() => d.close());
  const root = d.config.flash_storage_root;
  const folders = () => entries(root).map((type) => [type, entries(path.join(root, type))]);
  const catalog = new Catalog(d.app.services);
  const id = await catalog.createType(SYSTEM, { name: 'rpi5' });
  await catalog.createDistribution(SYSTEM, 'rpi5', 'prod');
  const fork = await catalog.forkType(SYSTEM, id, 'rpi5b', undefined);
  t.same(folders(), [['rpi5', ['prod']], ['rpi5b', ['prod']]], 'a fork gets folders for the distributions it copies');
  await catalog.updateType(SYSTEM, fork, { name: 'rpi5c' });
  await catalog.createDistribution(SYSTEM, 'rpi5c', 'beta');
  t.same(folders(), [['rpi5', ['prod']], ['rpi5c', ['beta', 'prod']]], 'a rename moves the folder');
  await catalog.mergeType(SYSTEM, fork);
  t.same(folders(), [['rpi5', ['beta', 'prod']], ['rpi5c', ['beta', 'prod']]], 'a merge adds the distributions the original lacked');
});

t.test('catalog paths: who may call them', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const id = (await a.post('/api/device-types', { name: 'rpi5' })).body.id;
  const user = await userRest(d, a);
  const none = rest(d);
  const bad = rest(d, { authorization: 'Bearer not-a-token' });

  const reads = ['/api/device-types', '/api/flash/device-types', '/api/flash/rpi5/distributions'];
  for (const p of reads) {
    t.same([(await none.get(p)).status, (await none.get(p)).body], [401, { error: 'Missing bearer token' }], `${p} without a token`);
    t.same([(await bad.get(p)).status, (await bad.get(p)).body], [403, { error: 'Invalid or expired token' }], `${p} with a bad token`);
    t.equal((await user.get(p)).status, 200, `${p} for a user`);
  }
  const writes: [keyof Rest, string, unknown][] = [
    ['post', '/api/device-types', { name: 'x1' }],
    ['put', `/api/device-types/${id}`, { platform: 'x' }],
    ['del', `/api/device-types/${id}`, undefined],
    ['post', `/api/device-types/${id}/fork`, { name: 'x2' }],
    ['post', `/api/device-types/${id}/merge`, undefined],
    ['post', '/api/flash/create-type', { devicetype: 'x3' }],
    ['post', '/api/flash/create-distribution', { devicetype: 'rpi5', distribution: 'x4' }],
  ];
  for (const [m, p, body] of writes) {
    const call = (r: Rest) => (m === 'get' || m === 'del' ? r[m](p) : r[m](p, body));
    t.equal((await call(none)).status, 401, `${m} ${p} without a token`);
    t.equal((await call(bad)).status, 403, `${m} ${p} with a bad token`);
    const u = await call(user);
    t.same([u.status, u.body], [403, { error: 'Administrator rights required' }], `${m} ${p} for a non-admin`);
  }
  t.equal((await a.get('/api/device-types')).body.device_types.length, 1, 'nothing was written');
});
