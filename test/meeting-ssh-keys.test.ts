/**
 * SSH keys and ForceCommand over HTTP: PUT .../ssh-key, GET /api/ssh-keys,
 * /api/ssh-keys/devices, /api/users/authorized-keys, private-ppk, the 501s,
 * the four /api/forcecommand/* paths, GET /api/ssh-hostkey, and who may call
 * each (the SSH token, an admin, localhost).
 */
import { mkdtempSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { adminClient, http, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { adminRest, login, newDevice, rest, seedCatalog, type Rest } from './helpers/meeting.js';
import { keygen, sshToken } from './helpers/tunnels.js';
import { tunnelRuntime } from '../src/devices/tunnel-runtime.js';
import { HOST_KEY_FILE, keyscanLine } from '../src/tunnels/host-key.js';
import { SSH_TOKEN_FILE } from '../src/auth/credentials/ssh-token.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-keys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const k1 = keygen(dir, 'k1');
const k2 = keygen(dir, 'k2');
const k3 = keygen(dir, 'k3');
const canonical = (line: string) => line.split(' ').slice(0, 2).join(' ');

async function daemon(t: { teardown(fn: () => unknown): void }, config: Record<string, string> = {}): Promise<{ d: TestDaemon; a: Rest; ssh: Rest }> {
  const d = await startDaemon({ config });
  t.teardown(() => d.close());
  await seedCatalog(d);
  return { d, a: await adminRest(d), ssh: rest(d, { 'x-meeting-ssh-token': sshToken(d) }) };
}

/** GET or DELETE from a simulated remote host (whitelisted so the gate lets it through). */
const remote = (d: TestDaemon, url: string, headers: Record<string, string> = {}) => http(`${d.url}${url}`, undefined, { localAddress: '127.0.0.2', headers });

t.test('PUT /api/devices/{key}/ssh-key: set, replace (the old key is revoked), refusals', async (t) => {
  const { d, a } = await daemon(t);
  const { key } = await newDevice(a);
  const r = await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub, user_name: 'device' });
  t.strictSame([r.status, r.body], [200, { success: true }]);
  t.equal((await a.get(`/api/devices/${key}`)).status, 200);
  const store = d.app.services.store;
  t.equal((await store.rawValues((await store.findOne('Device', '', 'device_key', key))!)).ssh_public_key, k1.pub, 'mirrored in Device.ssh_public_key');
  t.strictSame((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub })).body, { success: true }, 'idempotent');

  t.strictSame((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k2.pub, user_name: 'device' })).body, { success: true });
  const listed = await a.get('/api/ssh-keys/devices?user=device');
  t.strictSame(listed.body, {
    devices: [
      { device_key: key, ssh_public_key: k1.pub, authorized: 0, revoked: 1 },
      { device_key: key, ssh_public_key: k2.pub, authorized: 0, revoked: 0 },
    ],
  });

  const other = await newDevice(a);
  const taken = await a.put(`/api/devices/${other.key}/ssh-key`, { ssh_public_key: k2.pub });
  t.strictSame([taken.status, taken.body], [409, { error: 'Key already registered to another device' }]);
  for (const [body, error] of [
    [{}, 'ssh_public_key: Invalid input: expected string, received undefined'],
    [{ ssh_public_key: 'ssh-ed25519 not-base64!' }, 'invalid ssh_public_key'],
    [{ ssh_public_key: `${k1.pub}\n${k2.pub}` }, 'invalid ssh_public_key'],
    [{ ssh_public_key: k3.pub, user_name: 'no spaces' }, 'invalid user_name'],
  ] as const) {
    const bad = await a.put(`/api/devices/${key}/ssh-key`, body);
    t.strictSame([bad.status, bad.body], [400, { error }], JSON.stringify(body).slice(0, 40));
  }
  const unknown = await a.put('/api/devices/NOPE0000/ssh-key', { ssh_public_key: k3.pub });
  t.strictSame([unknown.status, unknown.body], [404, { error: 'Device not found' }]);
  t.equal((await rest(d).put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k3.pub })).status, 401);
  t.ok(d.logs.some((l) => l.includes('"audit":"ssh-key"') && l.includes('"action":"set"')), 'audited');
});

t.test('a private key is refused as a public key and never logged', async (t) => {
  const { d, a } = await daemon(t);
  const { key } = await newDevice(a);
  const { readFileSync } = await import('node:fs');
  const secret = readFileSync(k3.file, 'utf8');
  const r = await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: secret });
  t.strictSame([r.status, r.body], [400, { error: 'invalid ssh_public_key' }]);
  const body = secret.split('\n')[1]!;
  t.notOk(d.logs.some((l) => l.includes(body)), 'no part of it in the logs');
});

t.test('GET /api/ssh-keys?user=: authorized, unrevoked devices of that user; localhost or the token', async (t) => {
  const { d, a, ssh } = await daemon(t, { api_access: '127.0.0.2' });
  const one = await newDevice(a);
  const two = await newDevice(a);
  await a.put(`/api/devices/${one.key}/ssh-key`, { ssh_public_key: k1.pub, user_name: 'device' });
  await a.put(`/api/devices/${two.key}/ssh-key`, { ssh_public_key: k2.pub, user_name: 'device' });
  const none = await rest(d).get('/api/ssh-keys?user=device');
  t.strictSame([none.status, none.body], [404, { error: 'No keys for this user' }], 'no authorized device yet (local, no token)');
  await a.put(`/api/devices/${one.key}/authorize`, { authorized: 1 });
  await a.put(`/api/devices/${two.key}/authorize`, { authorized: 1 });
  t.strictSame((await rest(d).get('/api/ssh-keys?user=device')).body, { keys: [k1.pub, k2.pub] });
  await (await adminClient(d)).cmd(`SET ${await d.app.services.store.findOne('Device', '', 'device_key', two.key)} revoked="1"`);
  t.strictSame((await ssh.get('/api/ssh-keys?user=device')).body, { keys: [k1.pub] }, 'a revoked device is left out');
  t.strictSame((await a.get('/api/ssh-keys?user=device')).body, { keys: [k1.pub] }, 'an admin bearer token works too');
  const missing = await ssh.get('/api/ssh-keys');
  t.strictSame([missing.status, missing.body], [400, { error: 'user: Invalid input: expected string, received undefined' }]);

  const fromRemote = await remote(d, '/api/ssh-keys?user=device');
  t.strictSame([fromRemote.status, fromRemote.body], [401, { error: 'Missing X-Meeting-Ssh-Token' }], 'remote: the token is needed');
  const wrongToken = await remote(d, '/api/ssh-keys?user=device', { 'x-meeting-ssh-token': 'nope' });
  t.strictSame([wrongToken.status, wrongToken.body], [401, { error: 'Invalid X-Meeting-Ssh-Token' }]);
  const withToken = await remote(d, '/api/ssh-keys/devices?user=device', { 'x-meeting-ssh-token': sshToken(d) });
  t.equal(withToken.status, 200);
  t.equal(withToken.body.devices.length, 2);
  t.strictSame((await remote(d, '/api/ssh-keys/devices?user=nobody', { 'x-meeting-ssh-token': sshToken(d) })).body, { devices: [] });
  const wrongLocal = await rest(d, { 'x-meeting-ssh-token': 'nope' }).get('/api/ssh-keys?user=device');
  t.equal(wrongLocal.status, 401, 'a wrong token is refused from localhost too');
  await a.post('/api/users', { username: 'bob', password: 'bob-password-1', role: 'user' });
  const bob = await rest(d, { authorization: `Bearer ${await login(d, 'bob', 'bob-password-1')}` }).get('/api/ssh-keys?user=device');
  t.strictSame([bob.status, bob.body], [403, { error: 'Administrator rights required' }]);
});

t.test('GET /api/users/authorized-keys: localhost only, one line per authorized user', async (t) => {
  const { d, a } = await daemon(t, { api_access: '127.0.0.2' });
  await a.post('/api/users', { username: 'alice', password: 'alice-password-1', ssh_pubkey: k1.pub });
  await a.post('/api/users', { username: 'carol', password: 'carol-password', ssh_pubkey: k2.pub, authorized: 0 });
  await a.post('/api/users', { username: 'dave', password: 'dave-password-1' });
  await a.post('/api/users', { username: 'erin', password: 'erin-password-1', ssh_pubkey: k3.pub });
  // Disabled (enabled=0) is as much "may not log in" as unauthorized: the same rule answers for both.
  await (await adminClient(d)).cmd(`SET ${await d.app.services.store.findOne('User', '', 'name', 'erin')} enabled="0"`);
  const r = await rest(d).get('/api/users/authorized-keys');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain/);
  t.equal(r.text, `${canonical(k1.pub)} alice\n`);
  const far = await remote(d, '/api/users/authorized-keys', { 'x-meeting-ssh-token': sshToken(d) });
  t.strictSame([far.status, far.body], [403, { error: 'Local access only' }]);
});

t.test('private-ppk is refused with the reason; GET/DELETE .../ssh-key are 501', async (t) => {
  const { d, a } = await daemon(t);
  const { key } = await newDevice(a);
  const r = await a.get(`/api/devices/${key}/private-ppk`);
  t.equal(r.status, 404);
  t.match(r.body.error, /^No private key: cced never stores device private keys/);
  t.strictSame((await a.get('/api/devices/NOPE0000/private-ppk')).body, { error: 'Device not found' });
  t.equal((await rest(d).get(`/api/devices/${key}/private-ppk`)).status, 401);
  for (const call of [a.get(`/api/devices/${key}/ssh-key`), a.del(`/api/devices/${key}/ssh-key`)]) {
    const x = await call;
    t.strictSame([x.status, x.body], [501, { error: 'Not implemented' }]);
  }
});

t.test('ForceCommand: register, validate, get, remove, with the token or an admin only', async (t) => {
  const { d, a, ssh } = await daemon(t);
  const { key } = await newDevice(a);
  // Node's client sends a DELETE body without Content-Length unless told: give it one.
  const del = (body: unknown, query = '') => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const json: Record<string, string> = text === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
    return http(`${d.url}/api/forcecommand/remove_device_key${query}`, text, { method: 'DELETE', headers: { 'x-meeting-ssh-token': sshToken(d), ...json } });
  };

  const reg = await ssh.post('/api/forcecommand/register_device_key', { device_key: key, pubkey: k1.pub });
  t.strictSame([reg.status, reg.body], [200, { status: 'ok' }]);
  t.strictSame((await ssh.post('/api/forcecommand/register_device_key', { device_key: key })).body, { error: 'pubkey: Invalid input: expected string, received undefined' });
  t.strictSame((await ssh.post('/api/forcecommand/register_device_key', { device_key: key, pubkey: 'nope' })).body, { error: 'invalid pubkey' });
  t.strictSame((await ssh.post('/api/forcecommand/register_device_key', { device_key: 'NOPE0000', pubkey: k2.pub })).status, 404);

  const ok = await ssh.post('/api/forcecommand/validate_device_key', { pubkey: canonical(k1.pub) + ' another comment' });
  t.strictSame([ok.status, ok.body], [200, { status: 'ok', device_key: key }], 'the key matches whatever its comment');
  for (const pubkey of [k2.pub, 'garbage']) {
    const no = await ssh.post('/api/forcecommand/validate_device_key', { pubkey });
    t.strictSame([no.status, no.body], [401, { status: 'invalid' }]);
  }

  const got = await ssh.get(`/api/forcecommand/get_device_key?device_key=${key}`);
  t.strictSame([got.status, got.text], [200, `${k1.pub}\n`]);
  t.match(got.headers['content-type'], /^text\/plain/);
  const unknown = await ssh.get('/api/forcecommand/get_device_key?device_key=NOPE0000');
  t.strictSame([unknown.status, unknown.body], [404, { status: 'not_found' }]);
  t.strictSame((await ssh.get('/api/forcecommand/get_device_key')).status, 400);

  // Re-registering another key revokes the first: validate says so.
  t.strictSame((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k2.pub })).body, { success: true });
  t.strictSame((await ssh.post('/api/forcecommand/validate_device_key', { pubkey: k1.pub })).body, { status: 'invalid' }, 'revoked');

  const removed = await del({ device_key: key });
  t.strictSame([removed.status, removed.body], [200, { status: 'ok', deleted: 2 }]);
  t.strictSame((await del({ device_key: key })).body, { status: 'not_found', deleted: 0 });
  t.strictSame((await del(undefined, '?device_key=NOPE0000')).body, { status: 'not_found', deleted: 0 }, 'the query form');
  t.strictSame((await del({})).body, { error: 'device_key: missing' });
  t.strictSame((await ssh.get(`/api/forcecommand/get_device_key?device_key=${key}`)).body, { status: 'not_found' }, 'no key left, Device.ssh_public_key cleared');

  // A key set on the Device only (through /v2/cce) is answered and copied into SshKey.
  await (await adminClient(d)).cmd(`SET ${await d.app.services.store.findOne('Device', '', 'device_key', key)} ssh_public_key="${k3.pub}"`);
  t.strictSame((await ssh.get(`/api/forcecommand/get_device_key?device_key=${key}`)).text, `${k3.pub}\n`);
  t.strictSame((await ssh.post('/api/forcecommand/validate_device_key', { pubkey: k3.pub })).body, { status: 'ok', device_key: key }, 'replicated');
  t.strictSame((await a.get(`/api/forcecommand/get_device_key?device_key=${key}`)).text, `${k3.pub}\n`, 'an admin bearer token works');

  for (const [method, url] of [
    ['POST', '/api/forcecommand/register_device_key'],
    ['POST', '/api/forcecommand/validate_device_key'],
    ['GET', `/api/forcecommand/get_device_key?device_key=${key}`],
    ['DELETE', '/api/forcecommand/remove_device_key'],
  ] as const) {
    const r = await http(`${d.url}${url}`, method === 'POST' ? {} : undefined, { method });
    t.strictSame([r.status, r.body], [401, { error: 'Missing X-Meeting-Ssh-Token' }], `${method} ${url}: localhost alone is not enough`);
  }
  const token = sshToken(d);
  t.notOk(d.logs.some((l) => l.includes(token)), 'the token is in no log line');
  t.ok(['register', 'remove', 'replicate'].every((action) => d.logs.some((l) => l.includes(`"action":"${action}"`))), 'each key change audited');
});

t.test('GET /api/ssh-hostkey: the host key, made once, 0600, as ssh-keyscan prints it', async (t) => {
  const off = await daemon(t);
  const r = await rest(off.d).get('/api/ssh-hostkey');
  t.strictSame([r.status, r.body], [404, { error: 'The embedded SSH server is disabled (ssh_listen_address)' }]);

  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-hostkey-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const on = await startDaemon({ stateDir, config: { ssh_listen_address: '127.0.0.1:0', tunnel_host: 'meeting.example' } });
  const rt = tunnelRuntime(on.app.services);
  const key = await http(`${on.url}/api/ssh-hostkey`);
  t.equal(key.status, 200);
  t.match(key.headers['content-type'], /^text\/plain/);
  t.equal(key.text, `[meeting.example]:${rt.sshAddress!.port} ${rt.hostKey!.public}\n`);
  t.match(rt.hostKey!.public, /^ssh-ed25519 AAAA[A-Za-z0-9+/]+=*$/);
  t.equal(statSync(path.join(stateDir, HOST_KEY_FILE)).mode & 0o777, 0o600);
  t.equal(statSync(path.join(stateDir, SSH_TOKEN_FILE)).mode & 0o777, 0o600);
  const first = rt.hostKey!.public;
  await on.close();
  const again = await startDaemon({ stateDir, config: { ssh_listen_address: '127.0.0.1:0' } });
  t.equal(tunnelRuntime(again.app.services).hostKey!.public, first, 'the same key after a restart');
  await again.close();

  chmodSync(path.join(stateDir, HOST_KEY_FILE), 0o644);
  await t.rejects(startDaemon({ stateDir, config: { ssh_listen_address: '127.0.0.1:0' } }), /ssh_host_ed25519_key is readable by others \(mode 044 beyond 0600\)/);
  writeFileSync(path.join(stateDir, HOST_KEY_FILE), 'not a key', { mode: 0o600 });
  chmodSync(path.join(stateDir, HOST_KEY_FILE), 0o600);
  await t.rejects(startDaemon({ stateDir, config: { ssh_listen_address: '127.0.0.1:0' } }), /is not an OpenSSH private key/);
  t.equal(keyscanLine('h', 22, 'ssh-ed25519 AAAA'), 'h ssh-ed25519 AAAA\n', 'port 22: the bare host');
});
