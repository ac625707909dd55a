/**
 * Every credential is rate-limited and audited, and bans are counted per
 * (kind, address, identity) as well as per (kind, address): wrong device tokens
 * end in 429 and one audit line each; a sprayed address is banned but keeps
 * its established sessions and bearer tokens; failed AUTHs as admin from
 * 127.0.0.1 leave admin's session and PING working; SSH key failures are
 * counted apart; tokens shorter than 16 characters are refused where they are
 * set and where they are presented. All over HTTP (and SSH) against a daemon,
 * from loopback addresses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SSH_TOKEN_FILE } from '../src/auth/credentials/ssh-token.js';
import { ADMIN_PASSWORD, http, startDaemon, type HttpResult, type TestDaemon } from './helpers/daemon.js';
import { auditLines, from, linesWithSecrets, remember } from './helpers/gate.js';
import { adminRest, login as restLogin, newDevice, rest, seedCatalog, type Rest } from './helpers/meeting.js';

const PAIR_FAILS = 5;
const ADDRESS_FAILS = 20;
/** Bans outlive the test: nothing here waits for one to end. */
const BAN_S = 600;
/** What an attacker sends: bounded (the finding was 2,000 in 1.6 s), well past both thresholds. */
const ATTEMPTS = 50;

let d: TestDaemon;
let admin: Rest;
t.before(async () => {
  d = await startDaemon({
    config: {
      local_addresses: '127.0.0.1, ::1, 127.0.0.4, 127.0.0.5, 127.0.0.6, 127.0.0.7, 127.0.0.8',
      api_auth_fails: String(PAIR_FAILS),
      api_auth_fails_per_address: String(ADDRESS_FAILS),
      api_ban_time: String(BAN_S),
    },
  });
  await seedCatalog(d);
  admin = await adminRest(d);
});
t.teardown(() => d.close());

/** A device path as the device, from `ip`, with `token`. */
const beat = (key: string, token: string, ip: string) =>
  http(`${d.url}/api/devices/${key}/online`, {}, { localAddress: ip, headers: { 'x-device-token': remember(token) } });

function assertBanned(t: Test, r: HttpResult, what: string): void {
  t.equal(r.status, 429, what);
  t.ok(Number(r.headers['retry-after']) >= 1, `${what}: Retry-After ${r.headers['retry-after']}`);
  t.match(r.body, { statusCode: 429, error: 'Too Many Requests' }, what);
}

const statuses = (rs: HttpResult[]) => rs.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});

t.test(`${ATTEMPTS} wrong X-Device-Token values for one device: ${PAIR_FAILS} answers 403, then 429, one audit line each`, async (t) => {
  const { key, token } = await newDevice(admin);
  const ip = '127.0.0.4';
  const answers: HttpResult[] = [];
  for (let i = 0; i < ATTEMPTS; i++) answers.push(await beat(key, `wrong-device-token-${i}`, ip));
  t.same(statuses(answers), { 403: PAIR_FAILS, 429: ATTEMPTS - PAIR_FAILS });
  t.same(answers[0]!.body, { error: 'Invalid device credentials' });
  assertBanned(t, await beat(key, token, ip), 'the right token from that address');
  t.equal((await beat(key, token, '127.0.0.5')).status, 200, 'the device from another address');
  const other = await newDevice(admin);
  t.equal((await beat(other.key, other.token, ip)).status, 200, 'another device from the same address');
  t.same((await from(d, ip, { cmd: 'PING' })).body, { status: 202, message: 'PONG' }, 'the address is not banned');

  const lines = auditLines(d).filter((l) => l.audit === 'DEVICE_TOKEN' && l.ip === ip);
  t.equal(lines.length, PAIR_FAILS, 'one audit line per failure; refused attempts are not counted again');
  t.strictSame(lines[0], { ...lines[0], device_key: key, ip, outcome: 'fail' }, 'the line names the address and the device key');
  const ban = auditLines(d).find((l) => l.audit === 'BAN' && l.ip === ip && l.outcome === 'start');
  t.match(ban, { kind: 'device-token', user: key, scope: 'pair', seconds: BAN_S, failures: PAIR_FAILS });
});

t.test('a sprayed address is banned, but keeps the sessions and bearer tokens it established', async (t) => {
  const ip = '127.0.0.6';
  const { key, token } = await newDevice(admin);
  const auth = await from(d, ip, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  const session = remember(auth.body.data.sessionid as string);
  const bearer = remember(await restLogin(d));

  const answers: HttpResult[] = [];
  for (let i = 0; i < ATTEMPTS; i++) answers.push(await beat(`NOSUCHKEY${String(i).padStart(4, '0')}`, `sprayed-device-token-${i}`, ip));
  t.same(statuses(answers), { 403: ADDRESS_FAILS, 429: ATTEMPTS - ADDRESS_FAILS }, `the ${ADDRESS_FAILS}th failure of one kind bans the address`);
  t.equal(auditLines(d).filter((l) => l.audit === 'DEVICE_TOKEN' && l.ip === ip).length, ADDRESS_FAILS);
  t.match(auditLines(d).find((l) => l.audit === 'BAN' && l.ip === ip && l.scope === 'address'), { kind: 'device-token', failures: ADDRESS_FAILS });

  assertBanned(t, await from(d, ip, { cmd: 'PING' }), 'PING without credentials');
  assertBanned(t, await from(d, ip, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }), 'a new AUTH');
  assertBanned(t, await from(d, ip, { cmd: 'AUTH' }), 'a malformed AUTH');
  assertBanned(t, await beat(key, token, ip), 'a device with its right token');
  assertBanned(t, await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD }, { localAddress: ip, headers: { authorization: 'Bearer x' } }), 'a REST login behind a made-up bearer');
  assertBanned(t, await http(`${d.url}/api/devices`, undefined, { method: 'GET', localAddress: ip, headers: { authorization: 'Bearer not-a-token' } }), 'an unknown bearer token');

  const get = await from(d, ip, { cmd: 'GET 1', user: 'admin', sessionid: session });
  t.equal(get.status, 200, 'the established session still works');
  t.equal(get.body.data.DATA.CLASS, 'System');
  const listed = await http(`${d.url}/api/devices`, undefined, { method: 'GET', localAddress: ip, headers: { authorization: `Bearer ${bearer}` } });
  t.equal(listed.status, 200, 'the established bearer token still works');
  t.ok(listed.body.total >= 1);
  t.equal((await beat(key, token, '127.0.0.5')).status, 200, 'other addresses are not affected');
});

t.test('tokens shorter than 16 characters: refused where set, refused unread where presented', async (t) => {
  const { key, token } = await newDevice(admin);
  const put = (token_code: string) => admin.put(`/api/devices/${key}/token-code`, { token_code });
  for (const short of ['abc456', 'fifteen-chars-x']) {
    const r = await put(short);
    t.equal(r.status, 400, `${short.length} characters`);
    t.same(r.body, { error: 'invalid token_code' });
  }
  const cce = await from(d, '127.0.0.1', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  const sid = remember(cce.body.data.sessionid as string);
  const created = await from(d, '127.0.0.1', { cmd: 'CREATE Device device_key="SHORTTOKEN1" token_code="short-token"', user: 'admin', sessionid: sid });
  t.equal(created.status, 422, 'the typedef refuses it on /v2/cce too');
  t.match(created.body.data.errors[0], { code: 302, message: 'BAD DATA 0 token_code "[[meeting.deviceToken]]"' });

  t.same((await put('sixteen-chars-ok')).body, { success: true, token_code: 'sixteen-chars-ok' }, '16 characters are enough');
  t.equal((await beat(key, 'sixteen-chars-ok', '127.0.0.7')).status, 200);
  const presented = await beat(key, 'sixteen-chars-o', '127.0.0.7');
  t.same([presented.status, presented.body], [403, { error: 'Invalid device credentials' }], 'a 15-character token');
  t.ok(auditLines(d).some((l) => l.audit === 'DEVICE_TOKEN' && l.ip === '127.0.0.7' && l.device_key === key), 'is a failed claim like any other');
  t.equal((await beat(key, token, '127.0.0.7')).status, 403, 'the replaced token is gone');
});

t.test('X-Meeting-Ssh-Token failures are audited and counted', async (t) => {
  const ip = '127.0.0.8';
  const keys = (tokenValue: string) => http(`${d.url}/api/ssh-keys`, undefined, { method: 'GET', localAddress: ip, headers: { 'x-meeting-ssh-token': remember(tokenValue) } });
  const answers: HttpResult[] = [];
  for (let i = 0; i < PAIR_FAILS + 2; i++) answers.push(await keys(`not-the-ssh-token-${i}`));
  t.same(statuses(answers), { 401: PAIR_FAILS, 429: 2 });
  t.same(answers[0]!.body, { error: 'Invalid X-Meeting-Ssh-Token' });
  t.equal(auditLines(d).filter((l) => l.audit === 'SSH_TOKEN' && l.ip === ip).length, PAIR_FAILS);
});

t.test(`${PAIR_FAILS} failed AUTHs as admin from 127.0.0.1 leave admin's session and PING working, for as long as they go on`, async (t) => {
  const ip = '127.0.0.1';
  const ok = await from(d, ip, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  const session = { user: 'admin', sessionid: remember(ok.body.data.sessionid as string) };
  const bob = await from(d, ip, { cmd: 'CREATE User name="bob" password="bob-password-1"', ...session });
  t.equal(bob.status, 200, bob.text);
  remember('bob-password-1');

  for (let i = 0; i < PAIR_FAILS; i++) t.equal((await from(d, ip, { cmd: 'AUTH', user: 'admin', password: `wrong-${i}` })).status, 401);
  assertBanned(t, await from(d, ip, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }), 'a new AUTH as admin from 127.0.0.1');
  // The attacker keeps trying (renewing the ban for ever): none of it reaches the established session.
  for (let i = 0; i < 10; i++) assertBanned(t, await from(d, ip, { cmd: 'AUTH', user: 'admin', password: `again-${i}` }), `renewal ${i + 1}`);

  t.same((await from(d, ip, { cmd: 'PING' })).body, { status: 202, message: 'PONG' }, 'PING');
  t.same((await from(d, ip, { cmd: 'WHOAMI', ...session })).body.data, { oid: '2' }, 'the admin session');
  t.equal((await from(d, ip, { cmd: 'SET 1 . Snmp readCommunity="still-mine"', ...session })).status, 200, 'and it writes');
  const asBob = await from(d, ip, { cmd: 'AUTH', user: 'bob', password: 'bob-password-1' });
  t.equal(asBob.status, 200, 'another user logs in from the same address');
  remember(asBob.body.data.sessionid);
  const elsewhere = await from(d, '127.0.0.5', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(elsewhere.status, 200, 'admin from another local address');
  remember(elsewhere.body.data.sessionid);

  // A spray over many names bans the address itself; the session still works.
  for (let i = 0; i < ADDRESS_FAILS; i++) await from(d, ip, { cmd: 'AUTH', user: `nobody${i}`, password: 'wrong' });
  assertBanned(t, await from(d, ip, { cmd: 'PING' }), 'PING once the address is banned');
  t.same((await from(d, ip, { cmd: 'WHOAMI', ...session })).body.data, { oid: '2' }, 'the admin session, still');
  t.equal((await from(d, ip, { cmd: 'AUTHKEY', ...session })).status, 200, 'AUTHKEY of the live session');
});

t.test('an ssh-api-token file shorter than 16 characters stops start-up', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-short-ssh-token-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  writeFileSync(path.join(stateDir, SSH_TOKEN_FILE), 'guessable\n', { mode: 0o600 });
  await t.rejects(startDaemon({ stateDir }), { message: `${path.join(stateDir, SSH_TOKEN_FILE)} holds fewer than 16 characters: write a longer token or delete it to make a new one` });
});

t.test('no secret, password, token or session id in any log line', async (t) => {
  t.same(linesWithSecrets(), []);
});
