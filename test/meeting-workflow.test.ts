/**
 * The Meeting document's onboarding workflow end to end, status paths,
 * flash-request under concurrency, the facade and SET on /v2/cce seeing the
 * same device, and no device secret in any log line.
 */
import t from 'tap';
import { ALL_LOGS, adminClient, startDaemon } from './helpers/daemon.js';
import { adminRest, catalogWorld, deviceRest, newDevice, seedCatalog } from './helpers/meeting.js';

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

t.test('onboarding: generate-key -> manual-create -> authorize -> tokens -> online -> availability -> logs -> purge-logs', async (t) => {
  const { d, a } = await catalogWorld(t);

  const { devicekey: key, token_code } = (await a.get('/api/devices/generate-key')).body;
  t.equal((await a.post('/api/devices/manual-create', { devicekey: key, token_code, device_type: 'rpi4', distribution: 'prod' })).status, 200);
  t.strictSame((await a.put(`/api/devices/${key}/authorize`, { authorized: 1 })).body, { success: true, authorized: 1 });
  t.strictSame((await a.put(`/api/devices/${key}/tokens`, { token_count: 2 })).body, { success: true, token_count: 2 });

  // Before any heartbeat: Unknown, no last_seen, no logs.
  t.strictSame((await a.get(`/api/devices/${key}/availability`)).body, { status: 'Unknown', last_heartbeat: null, since: null, uptime: null });
  t.strictSame((await a.get(`/api/devices/${key}/last-seen`)).body, { device_key: key, last_seen: null });
  t.strictSame((await a.get(`/api/devices/${key}/logs`)).body, []);

  const dev = deviceRest(d, token_code);
  const first = await dev.post(`/api/devices/${key}/online`, { ip_address: '192.168.1.23', services: { ssh: 1, vnc: 0, http: true }, note: 'first boot' });
  t.equal(first.status, 200);
  t.strictSame(Object.keys(first.body), ['ok', 'ip_address', 'last_seen']);
  t.match(first.body, { ok: true, ip_address: '192.168.1.23', last_seen: TIME });
  // A second beat (no body, address from the socket) writes no second Connected event.
  const second = await dev.post(`/api/devices/${key}/online`);
  t.match(second.body, { ok: true, ip_address: '127.0.0.1', last_seen: TIME });

  const details = (await a.get(`/api/devices/${key}`)).body;
  t.match(details, { ip_address: '127.0.0.1', services: ['ssh', 'http'], note: 'first boot', authorized: true, token_count: 2 });
  t.strictSame((await a.get(`/api/devices/${key}/last-seen`)).body, { device_key: key, last_seen: second.body.last_seen });

  const avail = (await a.get(`/api/devices/${key}/availability`)).body;
  t.strictSame(Object.keys(avail), ['status', 'last_heartbeat', 'since', 'uptime']);
  t.match(avail, { status: 'Available', last_heartbeat: second.body.last_seen, since: first.body.last_seen });
  t.ok(avail.uptime >= 0 && avail.uptime < 60);

  const logs = (await a.get(`/api/devices/${key}/logs`)).body;
  t.equal(logs.length, 1);
  t.match(logs[0], { timestamp: first.body.last_seen, event: 'Connected', remote: '192.168.1.23' });
  t.strictSame(Object.keys(logs[0]), ['timestamp', 'event', 'host', 'remote']);

  // The answer names what to fetch: the files of the device's distribution (none uploaded here).
  const fetchNothing = { devicetype: 'rpi4', distribution: 'prod', files: [], file_details: [] };
  t.strictSame((await dev.post(`/api/devices/${key}/flash-request`)).body, { success: true, tokens_left: 1, ...fetchNothing });
  t.strictSame((await a.post(`/api/devices/${key}/flash-request`)).body, { success: true, tokens_left: 0, ...fetchNothing }, 'an admin may ask too');
  const empty = await dev.post(`/api/devices/${key}/flash-request`);
  t.equal(empty.status, 403);
  t.strictSame(empty.body, { error: 'No tokens left' });

  t.strictSame((await a.post(`/api/devices/${key}/purge-logs`)).body, { success: true });
  t.strictSame((await a.get(`/api/devices/${key}/logs`)).body, []);
  t.equal((await a.get(`/api/devices/${key}/availability`)).body.since, second.body.last_seen, 'with no events, since is the last beat');

  // Deleting the device drops its events with it.
  await dev.post(`/api/devices/${key}/online`);
  const oid = (await d.app.services.store.findOne('Device', '', 'device_key', key))!;
  await a.del(`/api/devices/${key}`);
  t.strictSame(await d.app.services.events.list(await oid, 10), []);
  t.strictSame((await a.get(`/api/devices/${key}/availability`)).body, { status: 'Unknown', last_heartbeat: null, since: null, uptime: null });
});

t.test('status paths: errors, Disconnected, reconnection, the per-device cap', async (t) => {
  const d = await startDaemon({ config: { status_max_logs: '3', device_heartbeat_timeout: '60' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const c = await adminClient(d);
  const { key, token } = await newDevice(a);
  const dev = deviceRest(d, token);
  const oid = (await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } })).body.data.oidlist[0];

  for (const path of ['last-seen', 'logs']) {
    const r = await a.get(`/api/devices/NOSUCHKEY/${path}`);
    t.equal(r.status, 404, path);
    t.strictSame(r.body, { error: 'Device not found' });
  }
  t.equal((await a.post('/api/devices/NOSUCHKEY/purge-logs')).status, 404);
  t.equal((await a.post('/api/devices/NOSUCHKEY/online')).status, 404, 'an admin beating for an unknown device');
  t.equal((await a.post('/api/devices/NOSUCHKEY/flash-request')).status, 404);
  t.strictSame((await a.get('/api/devices/NOSUCHKEY/availability')).body, { status: 'Unknown', last_heartbeat: null, since: null, uptime: null });
  t.strictSame((await dev.post(`/api/devices/${key}/online`, { ip_address: 'not-an-ip' })).body, { error: 'invalid ip_address' });
  t.strictSame((await dev.post(`/api/devices/${key}/online`, { services: { telnet: 1 } })).body, { error: 'invalid services' });
  t.equal((await dev.post(`/api/devices/${key}/online`, { services: 'ssh' })).status, 400);
  t.strictSame((await dev.post(`/api/devices/${key}/flash-request`)).body, { error: 'Device not authorized' });

  // Each silence longer than the timeout makes the next beat a new Connected event; the table keeps the newest 3.
  for (let i = 0; i < 5; i++) {
    await c.cmd(`SET ${oid} last_seen="2020-01-01T00:00:0${i}.000Z"`);
    const disconnected = (await a.get(`/api/devices/${key}/availability`)).body;
    t.match(disconnected, { status: 'Disconnected', last_heartbeat: `2020-01-01 00:00:0${i}`, since: `2020-01-01 00:00:0${i}` });
    t.ok(disconnected.uptime > 60);
    t.equal((await dev.post(`/api/devices/${key}/online`, { ip_address: `10.0.0.${i}` })).status, 200);
  }
  const logs = (await a.get(`/api/devices/${key}/logs`)).body;
  t.strictSame(logs.map((l: any) => l.remote), ['10.0.0.4', '10.0.0.3', '10.0.0.2'], 'newest first, capped at status_max_logs');
});

t.test('flash-request: 50 concurrent requests with 10 tokens, exactly 10 succeed', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key, token } = await newDevice(a);
  await a.put(`/api/devices/${key}/authorize`, { authorized: 1 });
  await a.put(`/api/devices/${key}/tokens`, { token_count: 10 });
  const dev = deviceRest(d, token);
  const replies = await Promise.all(Array.from({ length: 50 }, () => dev.post(`/api/devices/${key}/flash-request`)));
  const won = replies.filter((r) => r.status === 200);
  t.equal(won.length, 10);
  t.strictSame(won.map((r) => r.body.tokens_left).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.ok(replies.filter((r) => r.status !== 200).every((r) => r.status === 403 && r.body.error === 'No tokens left'));
  t.equal((await a.get(`/api/devices/${key}`)).body.token_count, 0);
});

t.test('the facade and SET on /v2/cce edit the same device', async (t) => {
  const { d, a } = await catalogWorld(t);
  const c = await adminClient(d);
  const { key } = await newDevice(a);

  const found = await c.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: key } });
  t.equal(found.body.data.oidlist.length, 1);
  const oid = found.body.data.oidlist[0];

  await a.put(`/api/devices/${key}/note`, { note: 'from the facade' });
  await a.put(`/api/devices/${key}/bundles`, { bundles: ['b1', 'b2'] });
  const viaCce = await c.cmd({ cmd: `GET ${oid}`, format: 'json' });
  t.match(viaCce.body.data.DATA, { CLASS: 'Device', device_key: key, note: 'from the facade', bundles: ['b1', 'b2'], token_count: 0 });

  t.equal((await c.cmd(`SET ${oid} note="from SET" token_count="7" services="&ssh&scp&" authorized="1"`)).body.status, 201);
  t.match((await a.get(`/api/devices/${key}`)).body, { note: 'from SET', token_count: 7, services: ['ssh', 'scp'], authorized: true });

  // The same rules hold on both sides: uniqueness and types come from the schema.
  const other = await newDevice(a);
  const dup = await c.cmd(`SET ${oid} device_key="${other.key}"`);
  t.equal(dup.status, 422);
  t.equal((await c.cmd(`SET ${oid} note="${'x'.repeat(2001)}"`)).status, 422);
  const all = await c.cmd({ cmd: 'GETALL', class: 'Device', args: { device_key: key } });
  t.same(Object.keys(all.body.data.objects), [String(oid)]);
});

t.test('no device secret reaches a log line', async (t) => {
  // Every daemon of this file wrote into ALL_LOGS; the secrets of a fresh device must not be in any line.
  const { d, a } = await catalogWorld(t);
  const { key, token, created } = await newDevice(a);
  await deviceRest(d, token).post(`/api/devices/${key}/online`);
  await a.put(`/api/devices/${key}/token-code`, { token_code: 'rotated-secret-99' });
  const secrets = [token, 'rotated-secret-99', created.ap_password, created.http_pw_low, created.http_pw_medium, created.http_pw_high];
  t.ok(d.logs.some((l) => l.includes('"audit":"SET"') && l.includes('token_code')), 'the audit line names the property');
  for (const s of secrets) t.notOk(ALL_LOGS.some((l) => l.includes(s)), 'secret absent from every log line');
});
