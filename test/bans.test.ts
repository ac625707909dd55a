/**
 * Bans (src/auth/bans.ts): api_auth_fails failed claims of one identity with
 * one kind of credential (AUTH's password, AUTHKEY, a client secret with LOGIN
 * or a token) from one IP ban that claim there for api_ban_time seconds: it
 * gets HTTP 429 with Retry-After, even when right; other identities, other
 * kinds and other addresses are not affected; the ban ends on time.
 * test/credential-bans.test.ts covers address bans and the device and SSH doors.
 */
import t, { type Test } from 'tap';
import { startDaemon, http, ADMIN_PASSWORD, ALL_LOGS, type TestDaemon, type HttpResult } from './helpers/daemon.js';
import { FAIL_ONLY, accessSecrets, auditLines, from, linesWithSecrets, login, remember } from './helpers/gate.js';
import { Bans } from '../src/auth/bans.js';
import { claim } from '../src/auth/claims.js';
import { readApiAdminPassword } from '../src/auth/api-admin.js';
import { createLogger } from '../src/log.js';
import { Writable } from 'node:stream';

remember(ADMIN_PASSWORD);
const WRONG = 'definitely-not-the-password';
const BAN_S = 2;

let d: TestDaemon;
t.before(async () => {
  d = await startDaemon({
    config: {
      api_access: '127.0.0.2, 127.0.0.3',
      local_addresses: '127.0.0.1, ::1, 127.0.0.4, 127.0.0.5, 127.0.0.6, 127.0.0.7',
      api_auth_fails: '5',
      api_ban_time: String(BAN_S),
    },
  });
});
t.teardown(() => d.close());

const auth = (ip: string, password: string, user = 'admin') => from(d, ip, { cmd: 'AUTH', user, password });

function assertBanned(t: Test, r: HttpResult, what: string): void {
  t.equal(r.status, 429, what);
  const after = Number(r.headers['retry-after']);
  t.ok(Number.isInteger(after) && after >= 1 && after <= BAN_S, `${what}: Retry-After ${r.headers['retry-after']}`);
  t.same(r.body, {
    statusCode: 429,
    error: 'Too Many Requests',
    message: `too many failed authentication attempts from this address; retry in ${after} s`,
  });
}

/** Polls (bounded) until AUTH as admin from `ip` is no longer banned; returns that AUTH's answer (a refused claim is not counted). */
async function waitForBanEnd(ip: string): Promise<HttpResult> {
  for (let i = 0; i < 40; i++) {
    const r = await auth(ip, ADMIN_PASSWORD);
    if (r.status !== 429) return r;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${ip} still banned after 4 s`);
}

t.test('six bad passwords: the sixth answer is 429; the right password too until the ban ends', async (t) => {
  const ip = '127.0.0.1';
  for (let i = 1; i <= 5; i++) {
    const r = await auth(ip, WRONG);
    t.equal(r.status, 401, `failure ${i}`);
    t.same(r.body, FAIL_ONLY);
  }
  assertBanned(t, await auth(ip, WRONG), 'the sixth bad password');
  assertBanned(t, await auth(ip, ADMIN_PASSWORD), 'the right password');
  t.same((await from(d, ip, { cmd: 'PING' })).body, { status: 202, message: 'PONG' }, 'the address itself is not banned: PING answers');
  t.equal((await auth('127.0.0.4', ADMIN_PASSWORD)).status, 200, 'another address is not banned');

  const start = auditLines(d).find((l) => l.audit === 'BAN' && l.outcome === 'start' && l.ip === ip);
  t.match(start, { seconds: BAN_S, failures: 5, kind: 'password', user: 'admin', scope: 'pair' }, 'ban start is audited');

  const ok = await waitForBanEnd(ip);
  t.equal(ok.status, 200, 'the right password works once the ban is over');
  remember(ok.body.data.sessionid);
  t.ok(auditLines(d).some((l) => l.audit === 'BAN' && l.outcome === 'end' && l.ip === ip), 'ban end is audited when observed');
});

t.test('a success does not reset the count', async (t) => {
  const ip = '127.0.0.5';
  for (let i = 0; i < 4; i++) t.equal((await auth(ip, WRONG)).status, 401);
  const ok = await auth(ip, ADMIN_PASSWORD);
  t.equal(ok.status, 200);
  remember(ok.body.data.sessionid);
  t.equal((await auth(ip, WRONG)).status, 401, 'the fifth failure');
  assertBanned(t, await auth(ip, ADMIN_PASSWORD), 'banned after the fifth failure');
});

t.test('AUTHKEY failures and AUTH as api-admin count too, each on its own counter', async (t) => {
  const ip = '127.0.0.6';
  const apiAdminPassword = remember(readApiAdminPassword(d.config.state_dir));
  t.equal((await auth(ip, WRONG, 'nosuchuser')).status, 401, 'an unknown user');
  const authkey = () => from(d, ip, { cmd: 'AUTHKEY', user: 'admin', sessionid: 'no-such-session-0123456789abcdef' });
  for (let i = 0; i < 5; i++) t.equal((await authkey()).status, 401, `bad AUTHKEY ${i + 1}`);
  assertBanned(t, await authkey(), 'the sixth AUTHKEY as admin');
  const ok = await auth(ip, ADMIN_PASSWORD);
  t.equal(ok.status, 200, 'AUTH as admin is another kind of claim: not banned');
  remember(ok.body.data.sessionid);
  t.equal((await from(d, ip, { cmd: 'AUTHKEY', user: 'admin', sessionid: ok.body.data.sessionid })).status, 200, 'a live session passes AUTHKEY even so');
  for (let i = 0; i < 5; i++) t.equal((await auth(ip, apiAdminPassword, 'api-admin')).status, 401, 'api-admin with its right password');
  assertBanned(t, await auth(ip, apiAdminPassword, 'api-admin'), 'api-admin is banned at this address');
  t.equal((await auth(ip, WRONG, 'nosuchuser')).status, 401, 'the unknown user has one failure only');
});

t.test('five bad client secrets on LOGIN ban the address; the right secret is refused too', async (t) => {
  const ip = '127.0.0.3';
  const secret = accessSecrets(d).get(ip)!;
  for (let i = 0; i < 5; i++) t.equal((await from(d, ip, { cmd: 'LOGIN' }, `wrong-secret-${i}-0123456789abcdef`)).status, 401);
  assertBanned(t, await from(d, ip, { cmd: 'LOGIN' }, secret), 'the right secret');
  const other = await from(d, '127.0.0.2', { cmd: 'LOGIN' }, accessSecrets(d).get('127.0.0.2')!);
  t.equal(other.body.message, 'TOKEN ISSUED', 'another whitelisted address is not affected');
  remember(other.body.data.token);
});

t.test('failed REST logins (/api/auth/login) count toward the same ban', async (t) => {
  const ip = '127.0.0.7';
  const restLogin = (password: string) => http(`${d.url}/api/auth/login`, { username: 'admin', password }, { localAddress: ip });
  for (let i = 0; i < 5; i++) t.equal((await restLogin(WRONG)).status, 401, `bad REST login ${i + 1}`);
  assertBanned(t, await restLogin(ADMIN_PASSWORD), 'the right password after five failures');
  assertBanned(t, await auth(ip, ADMIN_PASSWORD), 'and AUTH on /v2/cce from the same address');
  t.ok(d.logs.some((l) => l.includes('"audit":"LOGIN_REST"') && l.includes('"outcome":"fail"')), 'each failure is an audit line');
  await new Promise((r) => setTimeout(r, BAN_S * 1000 + 200));
  t.equal((await restLogin(ADMIN_PASSWORD)).status, 200, 'the ban ends on time');
});

t.test('a token sent with a wrong client secret counts as a failure', async (t) => {
  const ip = '127.0.0.2';
  const token = await login(d, ip);
  for (let i = 0; i < 5; i++) t.equal((await from(d, ip, { cmd: 'WHOAMI', token }, `bad-secret-${i}-0123456789abcdef`)).status, 401);
  assertBanned(t, await from(d, ip, { cmd: 'WHOAMI', token }, accessSecrets(d).get(ip)!), 'the token with its right secret');
});

function memoryLog(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({ logging: true, debuglog: false }, new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } }));
  return { lines, log };
}

t.test('Bans on its own: failures past the ban change nothing; other errors surface', async (t) => {
  const { lines, log } = memoryLog();
  const bans = new Bans({ pairFails: 2, addressFails: 100, banSeconds: 60 }, log);
  const bob = (ip: string) => claim('password', ip, 'bob');
  t.equal(bans.banLeft(bob('10.0.0.1')), undefined);
  await bans.failed(bob('10.0.0.1'));
  t.equal(bans.banLeft(bob('10.0.0.1')), undefined, 'one failure of two');
  await bans.failed(bob('::ffff:10.0.0.1'));
  t.equal(bans.banLeft(bob('10.0.0.1')), 60, 'the IPv4-mapped form is the same address');
  t.equal(bans.addressBanLeft('10.0.0.1'), undefined, 'the address itself is not banned');
  t.equal(bans.banLeft(claim('password', '10.0.0.1', 'carol')), undefined, 'nor another user at it');
  t.equal(bans.banLeft(claim('session', '10.0.0.1', 'bob')), undefined, 'nor another kind of claim');
  await bans.failed(bob('10.0.0.1'));
  await bans.failed(bob('10.0.0.1'));
  t.equal(lines.filter((l) => l.includes('"outcome":"start"')).length, 1, 'one ban start line');
  t.ok(bans.banLeft(bob('10.0.0.1'))! <= 60);
  (bans as unknown as { pairLimiter: { consume(): Promise<never> } }).pairLimiter.consume = () => Promise.reject(new Error('storage failed'));
  await t.rejects(bans.failed(bob('10.0.0.2')), { message: 'storage failed' });
  bans.count(bob('10.0.0.2'));
  await new Promise((r) => setImmediate(r));
  t.ok(lines.some((l) => l.includes('ban bookkeeping failed')), 'count() logs a bookkeeping error instead of throwing');
});

t.test('Bans on its own: one kind from one address, whatever the identities, bans the address', async (t) => {
  const { lines, log } = memoryLog();
  const bans = new Bans({ pairFails: 5, addressFails: 3, banSeconds: 30 }, log);
  for (const key of ['DEV1', 'DEV2']) await bans.failed(claim('device-token', '10.0.0.5', key));
  await bans.failed(claim('ssh-key', '10.0.0.5', 'DEV3'));
  t.equal(bans.addressBanLeft('10.0.0.5'), undefined, 'two device-token failures and one ssh-key failure: counted apart');
  await bans.failed(claim('device-token', '10.0.0.5', 'DEV4'));
  t.equal(bans.addressBanLeft('10.0.0.5'), 30, 'the third device-token failure bans the address');
  t.equal(bans.banLeft(claim('ssh-key', '10.0.0.5', 'DEV9')), 30, 'every claim from it waits');
  t.throws(() => bans.refuse(claim('password', '10.0.0.5', 'admin')), { name: 'Refusal', retryAfterS: 30 });
  t.doesNotThrow(() => bans.refusePair(claim('client-secret', '10.0.0.5', 'api-admin')), 'refusePair looks at the pair only');
  t.match(lines.find((l) => l.includes('"scope":"address"')), /"kind":"device-token".*"failures":3/);
});

t.test('Bans on its own: a new ban forgets the ones that ended unseen, and logs their end once', async (t) => {
  const { lines, log } = memoryLog();
  let clock = 1_000_000;
  const bans = new Bans({ pairFails: 1, addressFails: 1, banSeconds: 60 }, log, () => clock);
  const c = (ip: string) => claim('password', ip, 'bob');
  await bans.failed(c('10.0.0.1'));
  t.equal(bans.banLeft(c('10.0.0.1')), 60);
  t.equal(bans.addressBanLeft('10.0.0.9'), undefined, 'another address is not banned');
  clock += 60_000;
  await bans.failed(c('10.0.0.2'));
  const ends = lines.filter((l) => l.includes('"outcome":"end"'));
  t.equal(ends.length, 2, 'the ended pair and address bans of 10.0.0.1 are logged when the next bans start');
  t.ok(ends.every((l) => /"ip":"10\.0\.0\.1"/.test(l)));
  t.equal(bans.banLeft(c('10.0.0.1')), undefined);
  t.equal(lines.filter((l) => l.includes('"outcome":"end"')).length, 2, 'and not again');
  clock += 59_001;
  t.equal(bans.banLeft(c('10.0.0.2')), 1, 'at least one second while it lasts');
});

t.test('no secret, password, token or session id in any log line', async (t) => {
  t.ok(ALL_LOGS.length > 20);
  t.same(linesWithSecrets(), []);
});
