/**
 * The origin policy (src/auth/origins.ts, docs/credentials.md): for each door
 * and each class of address, what the gate lets through, driven over HTTP
 * from real client addresses (127.0.0.x); then password logins from a
 * whitelisted address (rest_login_remote, its client secret) and bearer
 * tokens bound to where they were issued.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PASSWORD, http, startDaemon, type HttpResult, type TestDaemon } from './helpers/daemon.js';
import { adminRest, newDevice, seedCatalog } from './helpers/meeting.js';
import { parseAccessFile } from '../src/auth/access-file.js';
import { ORIGIN_POLICY, type DoorClass, type OriginClass } from '../src/auth/origins.js';
import { BAD_CLIENT_SECRET_BODY } from '../src/http/refusal.js';

const FROM: Record<OriginClass | 'none', string> = { local: '127.0.0.1', remote: '127.0.0.2', device: '127.0.0.3', none: '127.0.0.4' };
const CONFIG = { local_addresses: '127.0.0.1, ::1', api_access: FROM.remote, device_access: FROM.device };

const ORIGIN_REFUSED = { statusCode: 403, error: 'Forbidden', message: 'origin not allowed' };

interface World {
  d: TestDaemon;
  device: { key: string; token: string };
}

/** One request per door, as its callers send it; what an allowed origin gets back. */
const DOORS: Record<DoorClass, { send: (w: World, ip: string) => Promise<HttpResult>; allowed: (r: HttpResult) => [number, unknown] }> = {
  cce: {
    send: ({ d }, ip) => http(`${d.url}/v2/cce`, { cmd: 'PING' }, { localAddress: ip }),
    allowed: () => [200, { status: 202, message: 'PONG' }],
  },
  people: {
    send: ({ d }, ip) => http(`${d.url}/api/auth/me`, undefined, { localAddress: ip }),
    allowed: () => [401, { error: 'Missing bearer token' }],
  },
  'password-login': {
    send: ({ d }, ip) => http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD }, { localAddress: ip }),
    allowed: (r) => (r.status === 200 ? [200, { success: true, token: r.body.token, expires_at: r.body.expires_at }] : [403, { error: 'Password login is only allowed from a local address' }]),
  },
  device: {
    send: ({ d, device }, ip) => http(`${d.url}/api/devices/${device.key}/online`, {}, { localAddress: ip, headers: { 'x-device-token': device.token } }),
    allowed: (r) => [200, { ok: true, ip_address: r.body.ip_address, last_seen: r.body.last_seen }],
  },
};

async function world(t: Test, more: Record<string, string> = {}): Promise<World> {
  const d = await startDaemon({ config: { ...CONFIG, ...more } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const device = await newDevice(await adminRest(d));
  return { d, device };
}

t.test('each door, from each class of address', async (t) => {
  const w = await world(t);
  for (const door of Object.keys(DOORS) as DoorClass[]) {
    for (const origin of Object.keys(FROM) as (OriginClass | 'none')[]) {
      const r = await DOORS[door].send(w, FROM[origin]);
      const open = origin !== 'none' && ORIGIN_POLICY[door].includes(origin);
      const [status, body] = open ? DOORS[door].allowed(r) : [403, ORIGIN_REFUSED];
      t.strictSame([r.status, r.body], [status, body], `${door} from ${origin}`);
    }
  }
  // A password login from a whitelisted address is refused by default (the table's `password-login` row, remote column).
  t.equal((await DOORS['password-login'].send(w, FROM.remote)).status, 403);
  // A device address cannot try LOGIN or AUTH either: /v2/cce is not its door.
  t.strictSame((await http(`${w.d.url}/v2/cce`, { cmd: 'LOGIN' }, { localAddress: FROM.device })).body, ORIGIN_REFUSED);
  // Each beat is recorded from the address it came from.
  t.equal((await DOORS.device.send(w, FROM.device)).body.ip_address, FROM.device);
});

t.test('the table itself', async (t) => {
  t.strictSame(ORIGIN_POLICY, {
    cce: ['local', 'remote'],
    people: ['local', 'remote'],
    'password-login': ['local', 'remote'],
    device: ['local', 'remote', 'device'],
  });
});

t.test('rest_login_remote: a whitelisted address logs in with its client secret; bearer tokens are bound to where they were issued', async (t) => {
  const w = await world(t, { rest_login_remote: 'true' });
  const { d } = w;
  const secret = parseAccessFile(readFileSync(path.join(d.config.state_dir, 'access'), 'utf8')).get(FROM.remote)!;
  const login = (ip: string, headers: Record<string, string> = {}) => http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD }, { localAddress: ip, headers });

  const noSecret = await login(FROM.remote);
  t.strictSame([noSecret.status, noSecret.text], [401, BAD_CLIENT_SECRET_BODY], 'no client secret');
  t.equal((await login(FROM.remote, { 'x-client-secret': 'wrong-secret-0123456789' })).status, 401, 'a wrong one');
  t.ok(d.logs.some((l) => /"audit":"LOGIN_REST".*"outcome":"fail"/.test(l)), 'audited as a failed login');
  const remote = await login(FROM.remote, { 'x-client-secret': secret });
  t.equal(remote.status, 200);
  const local = await login(FROM.local);
  t.equal(local.status, 200);

  const me = (token: string, ip: string) => http(`${d.url}/api/auth/me`, undefined, { localAddress: ip, headers: { authorization: `Bearer ${token}` } });
  t.equal((await me(remote.body.token, FROM.remote)).status, 200, 'the remote token from its own entry');
  t.strictSame((await me(remote.body.token, FROM.local)).body, { error: 'Token not valid from this address' }, 'not from a local address');
  t.equal((await me(local.body.token, FROM.local)).status, 200, 'the local token locally');
  const far = await me(local.body.token, FROM.remote);
  t.strictSame([far.status, far.body], [403, { error: 'Token not valid from this address' }], 'not from a whitelisted one');
  // A device address reaches none of this.
  t.strictSame((await login(FROM.device)).body, ORIGIN_REFUSED);
});
