/**
 * SSH key logins are counted apart from every other credential: five failed
 * key logins as one device from 127.0.0.1 ban that device's key logins there
 * (its right key included), and nothing else: AUTH, PING, the device's
 * X-Device-Token and another device's SSH login from the same address work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ADMIN_PASSWORD, http, startDaemon } from './helpers/daemon.js';
import { adminRest, seedCatalog } from './helpers/meeting.js';
import { keygen, onlineDevice, portRange, sshLogin } from './helpers/tunnels.js';
import { auditLines, from, remember } from './helpers/gate.js';

const FAILS = 5;
const dir = mkdtempSync(path.join(tmpdir(), 'cced-ssh-bans-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Polls (bounded, ~10 s) until `check` holds. */
async function until(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  return check();
}

t.test(`${FAILS} bad SSH key logins ban that device's key logins at that address, and nothing else`, async (t) => {
  const { min: _min, ...range } = portRange();
  const d = await startDaemon({ config: { ssh_listen_address: '127.0.0.1:0', ...range, api_auth_fails: String(FAILS), api_ban_time: '600' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const one = await onlineDevice(a, d);
  const two = await onlineDevice(a, d);
  const good = keygen(dir, 'one-good');
  const stranger = keygen(dir, 'stranger');
  const twoKey = keygen(dir, 'two-good');
  t.equal((await a.put(`/api/devices/${one.key}/ssh-key`, { ssh_public_key: good.pub })).status, 200);
  t.equal((await a.put(`/api/devices/${two.key}/ssh-key`, { ssh_public_key: twoKey.pub })).status, 200);
  t.ok(await sshLogin(d, one.key, good.file), 'the right key logs in before');

  for (let i = 0; i < FAILS; i++) t.notOk(await sshLogin(d, one.key, stranger.file), `bad key login ${i + 1}`);
  const banned = () => auditLines(d).some((l) => l.audit === 'BAN' && l.outcome === 'start' && l.kind === 'ssh-key' && l.user === one.key);
  t.ok(await until(banned), 'the ban of (127.0.0.1, device) starts, audited');
  t.equal(auditLines(d).filter((l) => l.audit === 'ssh-auth' && l.user === one.key && l.ip === '127.0.0.1').length >= FAILS, true, 'every refused key is an audit line');
  t.notOk(await sshLogin(d, one.key, good.file), 'even the right key is refused while banned');

  t.ok(await sshLogin(d, two.key, twoKey.file), 'another device logs in from the same address');
  t.same((await from(d, '127.0.0.1', { cmd: 'PING' })).body, { status: 202, message: 'PONG' }, 'PING');
  const auth = await from(d, '127.0.0.1', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(auth.status, 200, 'AUTH');
  remember(auth.body.data.sessionid);
  const beat = await http(`${d.url}/api/devices/${one.key}/online`, {}, { headers: { 'x-device-token': one.token } });
  t.equal(beat.status, 200, 'the same device with its X-Device-Token');
});
