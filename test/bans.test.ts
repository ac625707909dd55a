/**
 * Bans: api_auth_fails failed AUTH / AUTHKEY / LOGIN attempts (or bad client
 * secrets with a token) from one IP ban it for api_ban_time seconds: every
 * request from it gets HTTP 429 with Retry-After, even with the right
 * credentials; other addresses are not affected; the ban ends on time.
 */
import t, { type Test } from 'tap';
import { startDaemon, http, ADMIN_PASSWORD, ALL_LOGS, type TestDaemon, type HttpResult } from './helpers/daemon.js';
import { FAIL_ONLY, accessSecrets, auditLines, from, linesWithSecrets, login, remember } from './helpers/gate.js';
import { Bans } from '../src/auth/bans.js';
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

/** Polls (bounded) until `ip` is no longer banned; a PING is the cheapest request. */
async function waitForBanEnd(ip: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await from(d, ip, { cmd: 'PING' })).status !== 429) return;
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
  assertBanned(t, await from(d, ip, { cmd: 'PING' }), 'any request');
  t.equal((await auth('127.0.0.4', ADMIN_PASSWORD)).status, 200, 'another address is not banned');

  const start = auditLines(d).find((l) => l.audit === 'BAN' && l.outcome === 'start' && l.ip === ip);
  t.match(start, { seconds: BAN_S, failures: 5 }, 'ban start is audited');

  await waitForBanEnd(ip);
  const ok = await auth(ip, ADMIN_PASSWORD);
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

t.test('AUTHKEY failures and AUTH as api-admin count too', async (t) => {
  const ip = '127.0.0.6';
  const apiAdminPassword = remember(readApiAdminPassword(d.config.state_dir));
  t.equal((await auth(ip, WRONG)).status, 401);
  t.equal((await auth(ip, WRONG, 'nosuchuser')).status, 401, 'an unknown user');
  for (let i = 0; i < 2; i++) {
    const r = await from(d, ip, { cmd: 'AUTHKEY', user: 'admin', sessionid: 'no-such-session-0123456789abcdef' });
    t.equal(r.status, 401);
  }
  t.equal((await auth(ip, apiAdminPassword, 'api-admin')).status, 401, 'api-admin with its right password');
  assertBanned(t, await auth(ip, ADMIN_PASSWORD), 'banned');
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

t.test('Bans on its own: failures past the ban change nothing; other errors surface', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ logging: true, debuglog: false }, new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } }));
  const bans = new Bans(2, 60, log);
  t.equal(await bans.secondsLeft('10.0.0.1'), undefined);
  await bans.failed('10.0.0.1');
  t.equal(await bans.secondsLeft('10.0.0.1'), undefined, 'one failure of two');
  await bans.failed('::ffff:10.0.0.1');
  t.equal(await bans.secondsLeft('10.0.0.1'), 60, 'the IPv4-mapped form is the same address');
  await bans.failed('10.0.0.1');
  await bans.failed('10.0.0.1');
  t.equal(lines.filter((l) => l.includes('"outcome":"start"')).length, 1, 'one ban start line');
  t.ok((await bans.secondsLeft('10.0.0.1'))! <= 60);
  (bans as unknown as { limiter: { consume(): Promise<never> } }).limiter.consume = () => Promise.reject(new Error('storage failed'));
  await t.rejects(bans.failed('10.0.0.2'), { message: 'storage failed' });
});

t.test('Bans on its own: a new ban forgets the ones that ended unseen, and logs their end once', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ logging: true, debuglog: false }, new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } }));
  let clock = 1_000_000;
  const bans = new Bans(1, 60, log, () => clock);
  await bans.failed('10.0.0.1');
  t.equal(bans.secondsLeft('10.0.0.1'), 60);
  t.equal(bans.secondsLeft('10.0.0.9'), undefined, 'another address is not banned');
  clock += 60_000;
  await bans.failed('10.0.0.2');
  const ends = lines.filter((l) => l.includes('"outcome":"end"'));
  t.equal(ends.length, 1, 'the ended ban of 10.0.0.1 is logged when the next ban starts');
  t.match(ends[0], /"ip":"10\.0\.0\.1"/);
  t.equal(bans.secondsLeft('10.0.0.1'), undefined);
  t.equal(lines.filter((l) => l.includes('"outcome":"end"')).length, 1, 'and not again');
  clock += 59_001;
  t.equal(bans.secondsLeft('10.0.0.2'), 1, 'at least one second while it lasts');
});

t.test('no secret, password, token or session id in any log line', async (t) => {
  t.ok(ALL_LOGS.length > 20);
  t.same(linesWithSecrets(), []);
});
