/**
 * The tunnel paths over HTTP: GET /api/tunnels, POST .../service,
 * request-tunnel-port, tunnel-pending, tunnel-status, authorize-tunnel; the
 * tunnel rule (authorized, tokens, online); the port allocator under
 * concurrency, exhaustion and expiry. The SSH side is in ssh-tunnel.test.ts.
 */
import t from 'tap';
import { adminClient, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { adminRest, deviceRest, login, newDevice, rest, seedCatalog, type Rest } from './helpers/meeting.js';
import { onlineDevice, portRange, sshToken } from './helpers/tunnels.js';
import { tunnelRuntime } from '../src/devices/tunnel-runtime.js';
import { tunnelUrl } from '../src/devices/tunnel-rule.js';
import { resolveConfig } from '../src/config/load.js';

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

async function daemon(t: { teardown(fn: () => unknown): void }, config: Record<string, string> = {}): Promise<{ d: TestDaemon; a: Rest; min: number }> {
  const range = portRange();
  const d = await startDaemon({ config: { tunnel_port_min: range.tunnel_port_min, tunnel_port_max: range.tunnel_port_max, ...config } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  return { d, a: await adminRest(d), min: range.min };
}

/** Sets a device's stored values through /v2/cce SET (what the REST paths cannot: an old last_seen). */
async function setDevice(d: TestDaemon, key: string, assignments: string): Promise<void> {
  const oid = await d.app.services.store.findOne('Device', '', 'device_key', key);
  const r = await (await adminClient(d)).cmd(`SET ${oid} ${assignments}`);
  if (r.body?.status !== 201 && r.status !== 200) throw new Error(r.text);
}

t.test('POST /api/devices/{key}/service reserves a port, the same one for the same service', async (t) => {
  const { d, a, min } = await daemon(t);
  const { key, dev } = await onlineDevice(a, d);
  const first = await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.equal(first.status, 202, 'reserved, not opened yet: pending');
  t.strictSame(first.body, { port: min, url: `ssh -p ${min} device@127.0.0.1` });
  const again = await a.post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.strictSame([again.status, again.body], [202, first.body], 'an existing tunnel is answered again (admin caller)');
  const http_ = await dev.post(`/api/devices/${key}/service`, { service: 'http', local_port: 8080 });
  t.strictSame(http_.body, { port: min + 1, url: `http://127.0.0.1:${min + 1}/` });

  const list = await a.get('/api/tunnels');
  t.equal(list.status, 200);
  t.equal(list.body.tunnels.length, 2);
  t.match(list.body.tunnels[0], { device_key: key, service: 'ssh', port: min, local_port: 22, expires_at: TIME, url: first.body.url, status: 'pending' });
  t.match(list.body.tunnels[1], { service: 'http', port: min + 1, local_port: 8080 });
  t.strictSame(Object.keys(list.body.tunnels[0]), ['device_key', 'service', 'port', 'local_port', 'expires_at', 'url', 'status']);
  t.ok(d.logs.some((l) => l.includes('"audit":"tunnel-open"') && l.includes(key)), 'an audit line for the opening');
});

t.test('POST .../service: each documented refusal', async (t) => {
  const { d, a } = await daemon(t);
  const { key, token, dev } = await onlineDevice(a, d);
  for (const [body, error] of [
    [{}, 'service: expected one of ssh, vnc, http, scp'],
    [{ service: 'ftp' }, 'service: expected one of ssh, vnc, http, scp'],
    [{ service: 'ssh', local_port: 0 }, 'local_port: Too small: expected number to be >=1'],
  ] as const) {
    const r = await dev.post(`/api/devices/${key}/service`, body);
    t.strictSame([r.status, r.body], [400, { error }], JSON.stringify(body));
  }
  t.strictSame((await rest(d).post(`/api/devices/${key}/service`, { service: 'ssh' })).body, { error: 'Missing bearer token or X-Device-Token' });
  const wrong = await deviceRest(d, token + 'x').post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.strictSame([wrong.status, wrong.body], [403, { error: 'Invalid device credentials' }]);
  const unknown = await a.post('/api/devices/NOPE0000/service', { service: 'ssh' });
  t.strictSame([unknown.status, unknown.body], [404, { error: 'Device not found' }]);

  await a.put(`/api/devices/${key}/tokens`, { token_count: 0 });
  t.strictSame((await dev.post(`/api/devices/${key}/service`, { service: 'ssh' })).body, { error: 'No tokens left' });
  await a.put(`/api/devices/${key}/authorize`, { authorized: 0 });
  const unauthorized = await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.strictSame([unauthorized.status, unauthorized.body], [403, { error: 'Device not authorized' }]);

  const quiet = await newDevice(a);
  await a.put(`/api/devices/${quiet.key}/authorize`, { authorized: 1 });
  await a.put(`/api/devices/${quiet.key}/tokens`, { token_count: 1 });
  const never = await a.post(`/api/devices/${quiet.key}/service`, { service: 'vnc' });
  t.strictSame([never.status, never.body], [403, { error: 'Device offline' }], 'never beat');
  await setDevice(d, quiet.key, 'last_seen="2020-01-01T00:00:00Z"');
  t.strictSame((await a.post(`/api/devices/${quiet.key}/service`, { service: 'vnc' })).body, { error: 'Device offline' }, 'beat too long ago');
  await setDevice(d, quiet.key, `last_seen="${new Date().toISOString()}" revoked="1"`);
  t.strictSame((await a.post(`/api/devices/${quiet.key}/service`, { service: 'vnc' })).body, { error: 'Device revoked' });
  t.strictSame((await a.get('/api/tunnels')).body, { tunnels: [] }, 'nothing was reserved');
});

t.test('GET /api/tunnels needs an admin', async (t) => {
  const { d, a } = await daemon(t);
  t.strictSame((await a.get('/api/tunnels')).body, { tunnels: [] });
  const none = await rest(d).get('/api/tunnels');
  t.strictSame([none.status, none.body], [401, { error: 'Missing bearer token' }]);
  t.equal(none.headers['www-authenticate'], 'Bearer');
  await a.post('/api/users', { username: 'bob', password: 'bob-password-1', role: 'user' });
  const bob = rest(d, { authorization: `Bearer ${await login(d, 'bob', 'bob-password-1')}` });
  const r = await bob.get('/api/tunnels');
  t.strictSame([r.status, r.body], [403, { error: 'Administrator rights required' }]);
});

t.test('50 concurrent requests from 50 devices get 50 different ports; the same device gets one', async (t) => {
  const { d, a, min } = await daemon(t);
  const devices = [];
  for (let i = 0; i < 50; i++) devices.push(await onlineDevice(a, d));
  const replies = await Promise.all(devices.map(({ key, dev }) => dev.post(`/api/devices/${key}/service`, { service: 'ssh' })));
  t.ok(replies.every((r) => r.status === 202), 'all reserved');
  const ports = replies.map((r) => r.body.port as number);
  t.equal(new Set(ports).size, 50, 'no port given twice');
  t.ok(ports.every((p) => p >= min && p < min + 50), 'the lowest ports of the range');

  const one = devices[0]!;
  const same = await Promise.all(Array.from({ length: 50 }, () => one.dev.post(`/api/devices/${one.key}/service`, { service: 'scp' })));
  t.equal(new Set(same.map((r) => r.body.port)).size, 1, 'one tunnel per device and service');
  t.equal((await a.get('/api/tunnels')).body.tunnels.length, 51);
});

t.test('a full range answers 503, under concurrency too', async (t) => {
  const range = portRange(5);
  const d = await startDaemon({ config: { tunnel_port_min: range.tunnel_port_min, tunnel_port_max: String(range.min + 4) } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const devices = [];
  for (let i = 0; i < 8; i++) devices.push(await onlineDevice(a, d));
  const replies = await Promise.all(devices.map(({ key, dev }) => dev.post(`/api/devices/${key}/request-tunnel-port`, { service: 'ssh' })));
  t.equal(replies.filter((r) => r.status === 200).length, 5, 'as many as the range holds');
  const full = replies.filter((r) => r.status === 503);
  t.equal(full.length, 3);
  t.strictSame(full[0]!.body, { error: 'No free tunnel port' });
});

t.test('expired tunnels are hidden, their ports reused, and the sweeper destroys them', async (t) => {
  const { d, a, min } = await daemon(t, { tunnel_lifetime: '1' });
  const one = await onlineDevice(a, d);
  const two = await onlineDevice(a, d);
  t.equal((await one.dev.post(`/api/devices/${one.key}/service`, { service: 'ssh' })).body.port, min);
  t.equal((await two.dev.post(`/api/devices/${two.key}/service`, { service: 'ssh' })).body.port, min + 1);
  // Bounded wait for the 1 s lifetime to pass (no timing assertion: only the outcome is checked).
  for (let i = 0; i < 50 && (await a.get('/api/tunnels')).body.tunnels.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.strictSame((await a.get('/api/tunnels')).body, { tunnels: [] }, 'the listing hides expired tunnels');
  const again = await two.dev.post(`/api/devices/${two.key}/service`, { service: 'ssh' });
  t.equal(again.body.port, min, "the lowest port again: the first device's expired tunnel was released");
  await a.del(`/api/devices/${two.key}`);
  const swept = await tunnelRuntime(d.app.services).sweep();
  // Both expired tunnels were released by the reservation above; the new one went with its device.
  t.strictSame(swept.map((x) => x.port), [], 'the deleted device\u2019s tunnel went with it: nothing left to sweep');
  t.equal(d.logs.filter((l) => l.includes('"audit":"tunnel-close"')).length, 3, 'an audit line for each closing');
  t.ok(d.logs.some((l) => l.includes('"audit":"tunnel-close"') && l.includes(`"port":${min},"why":"destroyed"`)), 'the last one at the DELETE');
  t.strictSame(await d.app.services.store.find({ oid: 0, admin: true, capabilities: [] }, 'Tunnel', { criteria: [] }), [], 'no Tunnel object left');
});

t.test('request-tunnel-port: the ForceCommand token, a device or an admin', async (t) => {
  const { d, a, min } = await daemon(t);
  const { key, dev } = await onlineDevice(a, d);
  const token = sshToken(d);
  const forced = rest(d, { 'x-meeting-ssh-token': token });
  const r = await forced.post(`/api/devices/${key}/request-tunnel-port`, { device_key: key, service: 'ssh' });
  t.strictSame([r.status, r.body], [200, { status: 'ok', port: min }]);
  t.strictSame((await dev.post(`/api/devices/${key}/service`, { service: 'ssh' })).body.port, min, 'the same tunnel as POST .../service');
  t.strictSame((await dev.post(`/api/devices/${key}/request-tunnel-port`)).body, { status: 'ok', port: min }, 'no body: ssh');
  t.strictSame((await a.post(`/api/devices/${key}/request-tunnel-port?service=vnc`)).body, { status: 'ok', port: min + 1 }, 'service in the query');
  const mismatch = await forced.post(`/api/devices/${key}/request-tunnel-port`, { device_key: 'OTHER000' });
  t.strictSame([mismatch.status, mismatch.body], [400, { error: 'device_key does not match the path' }]);
  const bad = await forced.post(`/api/devices/${key}/request-tunnel-port`, { service: 'telnet' });
  t.strictSame([bad.status, bad.body], [400, { error: 'service: expected one of ssh, vnc, http, scp' }]);
  const wrong = await rest(d, { 'x-meeting-ssh-token': token + 'x' }).post(`/api/devices/${key}/request-tunnel-port`);
  t.strictSame([wrong.status, wrong.body], [401, { error: 'Invalid X-Meeting-Ssh-Token' }]);
  const nothing = await rest(d).post(`/api/devices/${key}/request-tunnel-port`);
  t.strictSame([nothing.status, nothing.body], [401, { error: 'Missing bearer token or X-Device-Token' }]);
  const unknown = await forced.post('/api/devices/NOPE0000/request-tunnel-port');
  t.strictSame([unknown.status, unknown.body], [404, { error: 'Device not found' }]);
  await a.put(`/api/devices/${key}/authorize`, { authorized: 0 });
  const refused = await forced.post(`/api/devices/${key}/request-tunnel-port`);
  t.strictSame([refused.status, refused.body], [403, { error: 'Device not authorized' }]);
  t.notOk(d.logs.some((l) => l.includes(token)), 'the token is in no log line');
});

t.test('tunnel-pending and tunnel-status: the agent polls, opens, reports', async (t) => {
  const { d, a, min } = await daemon(t);
  const { key, dev } = await onlineDevice(a, d);
  t.strictSame((await dev.get(`/api/devices/${key}/tunnel-pending`)).body, { pending: false });
  await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  const pending = await dev.get(`/api/devices/${key}/tunnel-pending`);
  t.equal(pending.status, 200);
  t.match(pending.body, { pending: true, request: { tunnel_id: /^\d+$/, service: 'ssh', port: min, local_port: 22, url: `ssh -p ${min} device@127.0.0.1`, expires_at: TIME } });

  const report = await dev.post(`/api/devices/${key}/tunnel-status`, { service: 'ssh', port: min, url: 'ssh://x', upnp: 'none' });
  t.equal(report.status, 200);
  t.match(report.body, { ok: true, status: { service: 'ssh', port: min, url: 'ssh://x', upnp: 'none', error: '', status: 'open', reported_at: TIME } });
  t.strictSame((await dev.get(`/api/devices/${key}/tunnel-pending`)).body, { pending: false }, 'reported open: no longer pending');
  t.equal((await a.get('/api/tunnels')).body.tunnels[0].status, 'open', 'without the embedded server, the report is the status');
  t.equal((await a.post(`/api/devices/${key}/service`, { service: 'ssh' })).status, 200, 'an open tunnel answers 200');

  const failed = await dev.post(`/api/devices/${key}/tunnel-status`, { service: 'ssh', port: min, error: 'bind failed' });
  t.match(failed.body, { ok: true, status: { status: 'error', error: 'bind failed' } });
  t.equal((await a.get('/api/tunnels')).body.tunnels[0].status, 'error');

  const other = await dev.post(`/api/devices/${key}/tunnel-status`, { service: 'ssh', port: min + 7 });
  t.strictSame([other.status, other.body], [404, { error: 'Tunnel not found' }]);
  const noPort = await dev.post(`/api/devices/${key}/tunnel-status`, { service: 'ssh' });
  t.strictSame([noPort.status, noPort.body], [400, { error: 'port: Invalid input: expected number, received undefined' }]);
  t.strictSame((await a.get('/api/devices/NOPE0000/tunnel-pending')).status, 404);
  t.strictSame((await a.post('/api/devices/NOPE0000/tunnel-status', { service: 'ssh', port: min })).status, 404);
  t.strictSame((await rest(d).get(`/api/devices/${key}/tunnel-pending`)).status, 401);
});

t.test('authorize-tunnel: the pre-check of the tunnel rule', async (t) => {
  const { d, a } = await daemon(t);
  const { key, dev } = await onlineDevice(a, d, 2);
  t.strictSame((await dev.post(`/api/devices/${key}/authorize-tunnel`)).body, { ok: true, device_key: key, authorized: 1, token_count: 2 });
  await a.put(`/api/devices/${key}/tokens`, { token_count: 0 });
  t.strictSame((await dev.post(`/api/devices/${key}/authorize-tunnel`)).body, { ok: false, error: 'No tokens left' });
  await a.put(`/api/devices/${key}/authorize`, { authorized: 0 });
  t.strictSame((await a.post(`/api/devices/${key}/authorize-tunnel`)).body, { ok: false, error: 'Device not authorized' });
  const unknown = await a.post('/api/devices/NOPE0000/authorize-tunnel');
  t.strictSame([unknown.status, unknown.body], [404, { error: 'Device not found' }]);
  t.strictSame((await rest(d).post(`/api/devices/${key}/authorize-tunnel`)).status, 401);
});

t.test('writes are refused while suspended, and the sweeper waits', async (t) => {
  const { d, a } = await daemon(t);
  const { key, dev } = await onlineDevice(a, d);
  await (await adminClient(d)).cmd({ cmd: 'SUSPEND', reason: 'maintenance' });
  const r = await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.strictSame([r.status, r.body], [503, { error: 'Writes are suspended' }]);
  t.strictSame(await tunnelRuntime(d.app.services).sweep(), []);
});

t.test('URLs per service, and the configuration checks', async (t) => {
  t.equal(tunnelUrl('ssh', 'h', 1), 'ssh -p 1 device@h');
  t.equal(tunnelUrl('scp', 'h', 1), 'scp -P 1 <file> device@h:');
  t.equal(tunnelUrl('vnc', 'h', 1), 'vnc://h:1');
  t.equal(tunnelUrl('http', 'h', 1), 'http://h:1/');
  await t.rejects(startDaemon({ config: { tunnel_port_min: '9100', tunnel_port_max: '9000' } }), /tunnel_port_min \(9100\) is above tunnel_port_max \(9000\)/);
  t.throws(() => resolveConfig({ ssh_listen_address: 'nowhere' }), /ssh_listen_address: expected host:port/);
  t.equal(resolveConfig({ ssh_listen_address: '' }).ssh_listen_address, undefined, 'empty: off');
  t.strictSame(resolveConfig({ ssh_listen_address: '[::1]:2222' }).ssh_listen_address, { host: '::1', port: 2222 });
});
