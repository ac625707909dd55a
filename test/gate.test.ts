/**
 * The security model's matrix over real sockets: local callers (127.0.0.1 and a
 * configured local address), whitelisted remote callers (127.0.0.2, 127.0.0.3)
 * and a remote caller outside api_access (127.0.0.9); LOGIN, tokens, BYE and
 * expiry; the client address (X-Forwarded-For only from trusted proxies); the
 * access file; api-admin; and no secret in any log line.
 */
import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, adminClient, CceClient, ADMIN_PASSWORD, ALL_LOGS, type TestDaemon } from './helpers/daemon.js';
import {
  DENIED_AUTH,
  DENIED_LOGIN,
  FAIL_ONLY,
  FORBIDDEN,
  accessSecrets,
  auditLines,
  from,
  linesWithSecrets,
  login,
  remember,
} from './helpers/gate.js';
import { resolveConfig, ConfigError } from '../src/config/load.js';
import { readApiAdminPassword, decryptPassword, encryptPassword } from '../src/auth/api-admin.js';
import { parseAccessFile, syncAccessFile } from '../src/auth/access-file.js';
import { isoWithOffset } from '../src/auth/time.js';
import { parseAccessEntry } from '../src/auth/gate.js';
import { BAD_CLIENT_SECRET_BODY } from '../src/http/refusal.js';

remember(ADMIN_PASSWORD);

const ACCESS = '127.0.0.2, 127.0.0.3/32';
const LOCAL = '127.0.0.1, ::1, 127.0.0.4';
const OUTSIDER = '127.0.0.9';

const ISO_WITH_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

let d: TestDaemon;
let admin: CceClient;

t.before(async () => {
  // Bans have their own test file (bans.test.ts); here failures must not add up to one.
  d = await startDaemon({ config: { api_access: ACCESS, local_addresses: LOCAL, api_auth_fails: '1000' } });
  admin = await adminClient(d);
  remember(admin.sessionid);
});
t.teardown(() => d.close());

function apiAdminOid(): number {
  return d.app.services.auth.apiAdminOid;
}

t.test('local callers (127.0.0.1, ::1, local_addresses)', async (t) => {
  t.test('AUTH: allowed with the right password, 401 FAIL with a wrong one', async (t) => {
    const ok = await admin.raw({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
    t.equal(ok.status, 200);
    t.equal(ok.body.status, 201);
    t.match(ok.body.data.sessionid, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    remember(ok.body.data.sessionid);
    const bad = await admin.raw({ cmd: 'AUTH', user: 'admin', password: 'not-the-admin-password' });
    t.equal(bad.status, 401);
    t.same(bad.body, FAIL_ONLY);
    const oddName = await admin.raw({ cmd: 'AUTH', user: 'no such "user"', password: 'not-the-admin-password' });
    t.same(oddName.body, FAIL_ONLY, 'a name no user can have fails the same way');
    for (const body of [{ cmd: 'AUTH', user: 'admin' }, { cmd: 'AUTHKEY', user: 'admin' }]) {
      const r = await admin.raw(body);
      t.equal(r.status, 400);
      t.match(r.body.data.errors[0], { code: 403, message: /^BAD PARAMETERS AUTH(KEY)? needs user and (password|sessionid)$/ });
    }
  });

  t.test('AUTH from a configured local address (127.0.0.4) is local too', async (t) => {
    const r = await from(d, '127.0.0.4', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
    t.equal(r.status, 200);
    remember(r.body.data.sessionid);
  });

  t.test('AUTHKEY: a live session of this user; else 401 FAIL', async (t) => {
    const ok = await admin.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: admin.sessionid });
    t.equal(ok.status, 200);
    t.same(ok.body, { status: 201, message: 'GOODBYE' });
    const bad = await admin.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: 'x'.repeat(43) });
    t.equal(bad.status, 401);
    t.same(bad.body, FAIL_ONLY);
  });

  t.test('LOGIN: denied with a clear error, even with a valid client secret', async (t) => {
    const secret = accessSecrets(d).get('127.0.0.2')!;
    for (const ip of ['127.0.0.1', '127.0.0.4']) {
      const r = await from(d, ip, { cmd: 'LOGIN' }, secret);
      t.equal(r.status, 403, ip);
      t.same(r.body, DENIED_LOGIN, ip);
    }
  });

  t.test('other commands: with a session; without one 401 FAIL', async (t) => {
    const ok = await admin.cmd('GET 1');
    t.equal(ok.status, 200);
    t.equal(ok.body.data.DATA.CLASS, 'System');
    const anon = await admin.raw({ cmd: 'GET 1' });
    t.equal(anon.status, 401);
    t.same(anon.body, FAIL_ONLY);
    t.same((await admin.raw({ cmd: 'PING' })).body, { status: 202, message: 'PONG' });
  });

  t.test('a token is not valid from localhost (it belongs to its api_access entry)', async (t) => {
    const token = await login(d, '127.0.0.2');
    const r = await from(d, '127.0.0.1', { cmd: 'WHOAMI', token }, accessSecrets(d).get('127.0.0.2')!);
    t.same(r.body, { status: 201, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }], oid: '-1' } });
  });
});

t.test('remote callers inside api_access', async (t) => {
  t.test('AUTH and AUTHKEY: Access Denied, even with the right credentials', async (t) => {
    const auth = await from(d, '127.0.0.2', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
    t.equal(auth.status, 403);
    t.same(auth.body, DENIED_AUTH);
    const key = await from(d, '127.0.0.3', { cmd: 'AUTHKEY', user: 'admin', sessionid: admin.sessionid });
    t.equal(key.status, 403);
    t.same(key.body, DENIED_AUTH);
  });

  t.test('LOGIN with the entry\'s secret: 201 TOKEN ISSUED', async (t) => {
    const before = Date.now();
    const r = await from(d, '127.0.0.2', { cmd: 'LOGIN' }, accessSecrets(d).get('127.0.0.2')!);
    t.equal(r.status, 200);
    t.same(Object.keys(r.body), ['status', 'message', 'data']);
    t.equal(r.body.status, 201);
    t.equal(r.body.message, 'TOKEN ISSUED');
    t.same(Object.keys(r.body.data), ['expires', 'token']);
    t.match(r.body.data.token, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    remember(r.body.data.token);
    t.match(r.body.data.expires, ISO_WITH_OFFSET);
    const expires = Date.parse(r.body.data.expires);
    t.ok(expires >= before + 300_000 - 1000 && expires <= Date.now() + 300_000, 'token_lifetime (300 s) from now');
  });

  t.test('LOGIN with a wrong or missing secret: HTTP 401, the reference\'s plain answer', async (t) => {
    for (const secret of ['wrong-secret-0123456789abcdefghij', undefined]) {
      const r = await from(d, '127.0.0.2', { cmd: 'LOGIN' }, secret);
      t.equal(r.status, 401);
      t.equal(r.text, BAD_CLIENT_SECRET_BODY);
      t.equal(r.text, 'Unauthorized: invalid client secret');
      t.match(r.headers['content-type'], /^text\/plain/);
    }
  });

  t.test('a secret is valid only from inside its own entry', async (t) => {
    const secrets = accessSecrets(d);
    t.not(secrets.get('127.0.0.2'), secrets.get('127.0.0.3/32'));
    const r = await from(d, '127.0.0.3', { cmd: 'LOGIN' }, secrets.get('127.0.0.2')!);
    t.equal(r.status, 401);
    t.equal(r.text, BAD_CLIENT_SECRET_BODY);
    const own = await from(d, '127.0.0.3', { cmd: 'LOGIN' }, secrets.get('127.0.0.3/32')!);
    t.equal(own.body.message, 'TOKEN ISSUED');
    remember(own.body.data.token);
  });

  t.test('commands with token + secret run as api-admin, a systemAdministrator', async (t) => {
    const secret = accessSecrets(d).get('127.0.0.2')!;
    const token = await login(d, '127.0.0.2');
    const who = await from(d, '127.0.0.2', { cmd: 'WHOAMI', token }, secret);
    t.same(who.body, { status: 201, message: 'GOODBYE', data: { oid: String(apiAdminOid()) } });
    const get = await from(d, '127.0.0.2', { cmd: 'GET 1', token }, secret);
    t.equal(get.status, 200);
    t.equal(get.body.data.DATA.CLASS, 'System');
    const created = await from(d, '127.0.0.2', { cmd: 'CREATE User name="tokenmade" fullName="Made by token"', token }, secret);
    t.equal(created.status, 200);
    t.match(created.body.data.oid, /^\d+$/);
    const audit = auditLines(d).find((l) => l.audit === 'CREATE' && l.oid === Number(created.body.data.oid));
    t.equal(audit?.by, apiAdminOid(), 'the write is audited as api-admin');
  });

  t.test('a token with a wrong or missing secret: HTTP 401; from another entry: anonymous', async (t) => {
    const secrets = accessSecrets(d);
    const token = await login(d, '127.0.0.2');
    for (const secret of [secrets.get('127.0.0.3/32')!, 'x'.repeat(32), undefined]) {
      const r = await from(d, '127.0.0.2', { cmd: 'GET 1', token }, secret);
      t.equal(r.status, 401);
      t.equal(r.text, BAD_CLIENT_SECRET_BODY);
    }
    // 127.0.0.3 with its own right secret: the token is not valid there.
    const elsewhere = await from(d, '127.0.0.3', { cmd: 'GET 1', token }, secrets.get('127.0.0.3/32')!);
    t.equal(elsewhere.status, 401);
    t.same(elsewhere.body, FAIL_ONLY);
    // Still good where it belongs.
    t.equal((await from(d, '127.0.0.2', { cmd: 'GET 1', token }, secrets.get('127.0.0.2')!)).status, 200);
  });

  t.test('no token, an unknown token, or a local session id: 401 FAIL', async (t) => {
    const secret = accessSecrets(d).get('127.0.0.2')!;
    for (const body of [
      { cmd: 'GET 1' },
      { cmd: 'GET 1', token: 'unknown-token-0123456789-0123456789-abcdef' },
      { cmd: 'GET 1', user: 'admin', sessionid: admin.sessionid },
    ]) {
      const r = await from(d, '127.0.0.2', body, secret);
      t.equal(r.status, 401);
      t.same(r.body, FAIL_ONLY);
    }
    t.same((await from(d, '127.0.0.2', { cmd: 'PING' })).body, { status: 202, message: 'PONG' }, 'PING needs nothing');
  });

  t.test('BYE ends the token; it then fails like a wrong one', async (t) => {
    const secret = accessSecrets(d).get('127.0.0.2')!;
    const token = await login(d, '127.0.0.2');
    const bye = await from(d, '127.0.0.2', { cmd: 'BYE', token }, secret);
    t.equal(bye.status, 200);
    t.same(bye.body, { status: 201, message: 'GOODBYE' });
    const after = await from(d, '127.0.0.2', { cmd: 'GET 1', token }, secret);
    t.equal(after.status, 401);
    t.same(after.body, FAIL_ONLY);
    const again = await from(d, '127.0.0.2', { cmd: 'BYE', token }, secret);
    t.same(again.body, { status: 201, message: 'GOODBYE' }, 'a second BYE has nothing to end');
  });

  t.test('ENDKEY ends a token too; without a grant it is 401 FAIL', async (t) => {
    const secret = accessSecrets(d).get('127.0.0.2')!;
    const token = await login(d, '127.0.0.2');
    t.same((await from(d, '127.0.0.2', { cmd: 'ENDKEY', token }, secret)).body, { status: 201, message: 'GOODBYE' });
    const after = await from(d, '127.0.0.2', { cmd: 'ENDKEY', token }, secret);
    t.equal(after.status, 401);
    t.same(after.body, FAIL_ONLY);
  });
});

t.test('remote callers outside api_access: HTTP 403 for everything', async (t) => {
  const secret = accessSecrets(d).get('127.0.0.2')!;
  for (const body of [
    { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD },
    { cmd: 'AUTHKEY', user: 'admin', sessionid: admin.sessionid },
    { cmd: 'LOGIN' },
    { cmd: 'PING' },
    { cmd: 'GET 1', user: 'admin', sessionid: admin.sessionid },
  ]) {
    const r = await from(d, OUTSIDER, body, secret);
    t.equal(r.status, 403, body.cmd);
    t.same(r.body, FORBIDDEN, body.cmd);
  }
});

t.test('the client address is the TCP peer: forwarding headers from an untrusted peer gain nothing', async (t) => {
  for (const header of ['x-forwarded-for', 'x-real-ip']) {
    const r = await from(d, '127.0.0.2', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }, undefined, { [header]: '127.0.0.1' });
    t.equal(r.status, 403, header);
    t.same(r.body, DENIED_AUTH, `${header}: 127.0.0.1 from 127.0.0.2 is still remote`);
    const outsider = await from(d, OUTSIDER, { cmd: 'PING' }, undefined, { [header]: '127.0.0.2' });
    t.same(outsider.body, FORBIDDEN, `${header} does not whitelist an outsider`);
  }
});

t.test('with trusted_proxies naming the peer, X-Forwarded-For is honoured', async (t) => {
  const p = await startDaemon({ config: { api_access: '127.0.0.3', trusted_proxies: '127.0.0.2' } });
  t.teardown(() => p.close());
  const viaProxy = await from(p, '127.0.0.2', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }, undefined, { 'x-forwarded-for': '127.0.0.1' });
  t.equal(viaProxy.status, 200, 'the proxy says the client is 127.0.0.1: local');
  remember(viaProxy.body.data.sessionid);
  const remote = await from(p, '127.0.0.2', { cmd: 'LOGIN' }, accessSecrets(p).get('127.0.0.3')!, { 'x-forwarded-for': '127.0.0.3' });
  t.equal(remote.body.message, 'TOKEN ISSUED', 'the client 127.0.0.3 behind the proxy may LOGIN');
  remember(remote.body.data.token);
  const outsider = await from(p, '127.0.0.2', { cmd: 'PING' }, undefined, { 'x-forwarded-for': OUTSIDER });
  t.same(outsider.body, FORBIDDEN, 'an outsider behind the proxy is still an outsider');
  const direct = await from(p, '127.0.0.2', { cmd: 'PING' });
  t.same(direct.body, FORBIDDEN, 'the proxy itself is not whitelisted');
  const xRealIp = await from(p, '127.0.0.2', { cmd: 'PING' }, undefined, { 'x-real-ip': '127.0.0.1' });
  t.same(xRealIp.body, FORBIDDEN, 'X-Real-IP is never honoured');
});

t.test('a token expires after token_lifetime and then fails like a wrong one', async (t) => {
  const e = await startDaemon({ config: { api_access: '127.0.0.2', token_lifetime: '1' } });
  t.teardown(() => e.close());
  const secret = accessSecrets(e).get('127.0.0.2')!;
  const token = await login(e, '127.0.0.2');
  t.equal((await from(e, '127.0.0.2', { cmd: 'GET 1', token }, secret)).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  const late = await from(e, '127.0.0.2', { cmd: 'GET 1', token }, secret);
  t.equal(late.status, 401);
  t.same(late.body, FAIL_ONLY);
});

t.test('the access file', async (t) => {
  t.test('mode 0600, one entry:secret line per api_access entry, 32-character secrets', async (t) => {
    const file = path.join(d.config.state_dir, 'access');
    t.equal(mode(file), 0o600);
    const secrets = accessSecrets(d);
    t.same([...secrets.keys()], ['127.0.0.2', '127.0.0.3/32']);
    for (const s of secrets.values()) t.match(s, /^[A-Za-z0-9]{32}$/);
  });

  t.test('rewritten at every start: dropped entries go, new ones get a secret, kept ones keep theirs', async (t) => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-access-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    const file = path.join(stateDir, 'access');
    const first = await startDaemon({ stateDir, config: { api_access: '127.0.0.2, 127.0.0.3, 2001:db8::/64' } });
    const one = accessSecrets(first);
    await first.close();
    t.same([...one.keys()], ['127.0.0.2', '127.0.0.3', '2001:db8::/64']);

    // An admin rotates 127.0.0.3's secret by editing the file (and loosens its mode by accident).
    const rotated = 'RotatedByTheAdmin0123456789abcde';
    writeFileSync(file, readFileSync(file, 'utf8').replace(one.get('127.0.0.3')!, rotated) + 'garbage line\n');
    chmodSync(file, 0o644);
    remember(rotated);

    const second = await startDaemon({ stateDir, config: { api_access: '127.0.0.3, 2001:db8::/64, 127.0.0.5' } });
    t.teardown(() => second.close());
    const two = accessSecrets(second);
    t.same([...two.keys()], ['127.0.0.3', '2001:db8::/64', '127.0.0.5'], 'dropped 127.0.0.2, added 127.0.0.5, no garbage');
    t.equal(two.get('127.0.0.3'), rotated, 'an edited secret is kept');
    t.equal(two.get('2001:db8::/64'), one.get('2001:db8::/64'), 'an IPv6 entry keeps its secret');
    t.match(two.get('127.0.0.5'), /^[A-Za-z0-9]{32}$/);
    t.equal(mode(file), 0o600, 'back to 0600');
    const old = await from(second, '127.0.0.3', { cmd: 'LOGIN' }, one.get('127.0.0.3')!);
    t.equal(old.status, 401, 'the replaced secret no longer works');
    t.equal((await from(second, '127.0.0.3', { cmd: 'LOGIN' }, rotated)).body.message, 'TOKEN ISSUED');
    t.same((await from(second, '127.0.0.2', { cmd: 'PING' })).body, FORBIDDEN, 'a dropped entry is an outsider');
  });

  t.test('parseAccessFile and syncAccessFile on their own', async (t) => {
    t.same([...parseAccessFile('# comment\n\n2001:db8::1:abcdefgh12345678\n:nokey1234567890123\nshort:abc\nfifteen:abcdefghijklmno\n10.0.0.0/8:ABCDEFGHIJKLMNOP\r\n')], [
      ['2001:db8::1', 'abcdefgh12345678'],
      ['10.0.0.0/8', 'ABCDEFGHIJKLMNOP'],
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'cced-access-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const m = syncAccessFile(path.join(dir, 'access'), ['10.0.0.1', '10.0.0.1']);
    t.equal(m.size, 1, 'a repeated entry is written once');
    t.throws(() => syncAccessFile(path.join(dir, 'access', 'nested'), ['10.0.0.1']), { code: 'ENOTDIR' }, 'read errors other than ENOENT surface');
  });

  t.test('entry matching: IPv4, IPv6, IPv4-mapped, and answers that stay right past the memo bound', async (t) => {
    const v4 = parseAccessEntry('10.1.0.0/16');
    const v6 = parseAccessEntry('2001:db8::/64');
    t.ok(parseAccessEntry('2001:db8::1').contains('2001:db8::1'), 'a bare IPv6 address is a /128');
    t.notOk(parseAccessEntry('2001:db8::1').contains('2001:db8::2'));
    t.ok(v4.contains('::ffff:10.1.2.3'));
    t.notOk(v4.contains('2001:db8::1'), 'an IPv6 address is not in an IPv4 range');
    t.ok(v6.contains('2001:DB8::5'));
    t.notOk(v6.contains('10.1.2.3'));
    let inside = 0;
    for (let i = 0; i < 5000; i++) if (v4.contains(`10.${1 + (i % 2)}.${(i >> 8) & 255}.${i & 255}`)) inside++;
    t.equal(inside, 2500);
    t.ok(v4.contains('10.1.0.1') && !v4.contains('10.2.0.1'), 'still right after the memo was cleared');
  });

  t.test('a bad api_access entry stops start-up naming it', async (t) => {
    t.throws(() => resolveConfig({ api_access: '10.0.0.0/8, 10.0.0.300' }), {
      name: 'ConfigError',
      message: 'config: api_access: bad entry "10.0.0.300" (expected an IPv4/IPv6 address or CIDR) (got "10.0.0.0/8, 10.0.0.300")',
    });
    t.throws(() => resolveConfig({ api_access: '10.0.0.0/33' }), ConfigError);
    t.throws(() => resolveConfig({ api_access: 'example.com' }), /bad entry "example.com"/);
  });
});

t.test('api-admin', async (t) => {
  t.test('a systemAdministrator with adminUser, password empty in GET', async (t) => {
    const r = await admin.cmd(`GET ${apiAdminOid()}`);
    t.equal(r.body.data.DATA.name, 'api-admin');
    t.equal(r.body.data.DATA.systemAdministrator, '1');
    t.equal(r.body.data.DATA.capabilities, '&adminUser&');
    t.equal(r.body.data.DATA.password, '');
  });

  t.test('its password: 24+ characters, AES-256-GCM in api-admin.passwd, key in master.key, both 0600', async (t) => {
    const dir = d.config.state_dir;
    t.equal(mode(path.join(dir, 'master.key')), 0o600);
    t.equal(mode(path.join(dir, 'api-admin.passwd')), 0o600);
    const password = remember(readApiAdminPassword(dir));
    t.ok(password.length >= 24);
    const stored = readFileSync(path.join(dir, 'api-admin.passwd'), 'utf8');
    t.notOk(stored.includes(password), 'stored encrypted');
    t.match(stored, /^aes-256-gcm:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\n$/);
  });

  t.test('AUTH as api-admin is refused, with its right password too, like a wrong password', async (t) => {
    const password = remember(readApiAdminPassword(d.config.state_dir));
    const r = await admin.raw({ cmd: 'AUTH', user: 'api-admin', password });
    t.equal(r.status, 401);
    t.same(r.body, FAIL_ONLY);
    const remote = await from(d, '127.0.0.2', { cmd: 'AUTH', user: 'api-admin', password });
    t.same(remote.body, DENIED_AUTH, 'from remote the access rule answers first');
  });

  // On a shared database (PostgreSQL) the nodes agree on one password: a node that can decrypt the stored one keeps it.
  const shared = process.env.TEST_STORE === 'postgres';
  t.test(shared ? 'the password is kept across starts on a shared database; the key and the oid stay' : 'the password rotates at every start; the key and the oid stay', async (t) => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-apiadmin-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    const a = await startDaemon({ stateDir });
    const oid = a.app.services.auth.apiAdminOid;
    const p1 = remember(readApiAdminPassword(stateDir));
    const key1 = readFileSync(path.join(stateDir, 'master.key'), 'utf8');
    await a.close();
    // A loosened mode is fixed at the next start.
    chmodSync(path.join(stateDir, 'master.key'), 0o644);
    const b = await startDaemon({ stateDir });
    const p2 = remember(readApiAdminPassword(stateDir));
    if (shared) t.equal(p2, p1, 'kept');
    else t.not(p2, p1, 'rotated');
    t.equal(readFileSync(path.join(stateDir, 'master.key'), 'utf8'), key1, 'same key');
    t.equal(mode(path.join(stateDir, 'master.key')), 0o600);
    t.equal(b.app.services.auth.apiAdminOid, oid, 'same user');
    // An admin renames it: it stays the token identity and still cannot AUTH.
    const c = await adminClient(b);
    t.equal((await c.cmd(`SET ${oid} name="renamed-api"`)).status, 200);
    await b.close();
    const again = await startDaemon({ stateDir, config: { api_access: '127.0.0.2' } });
    t.teardown(() => again.close());
    t.equal(again.app.services.auth.apiAdminOid, oid, 'found by oid after a rename');
    const p3 = remember(readApiAdminPassword(stateDir));
    t.same((await new CceClient(again).raw({ cmd: 'AUTH', user: 'renamed-api', password: p3 })).body, FAIL_ONLY);
    const token = await login(again, '127.0.0.2');
    const who = await from(again, '127.0.0.2', { cmd: 'WHOAMI', token }, accessSecrets(again).get('127.0.0.2')!);
    t.equal(who.body.data.oid, String(oid));
  });

  t.test('a damaged master.key stops start-up with a clear error', async (t) => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-apiadmin-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    writeFileSync(path.join(stateDir, 'master.key'), 'not a key\n');
    await t.rejects(startDaemon({ stateDir }), { name: 'ConfigError', message: /master\.key: expected 64 hex digits/ });
    rmSync(path.join(stateDir, 'master.key'));
    mkdirSync(path.join(stateDir, 'master.key'));
    await t.rejects(startDaemon({ stateDir }), { code: 'EISDIR' }, 'an unreadable key is not replaced silently');
  });

  t.test('encryption round trip; tampering is detected', async (t) => {
    const key = Buffer.alloc(32, 7);
    const text = encryptPassword(key, 'round-trip-password');
    t.equal(decryptPassword(key, text), 'round-trip-password');
    const [f, iv, tag, ct] = text.split(':');
    const flipped = Buffer.from(ct!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    t.throws(() => decryptPassword(key, [f, iv, tag, flipped.toString('base64')].join(':')));
    t.throws(() => decryptPassword(Buffer.alloc(32, 8), text), 'another key');
    t.throws(() => decryptPassword(key, 'plain:text'), /not an aes-256-gcm record/);
  });
});

t.test('token expiry is printed as local time with its offset', async (t) => {
  const tz = process.env.TZ;
  t.teardown(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });
  const at = Date.UTC(2025, 4, 18, 4, 49, 24);
  process.env.TZ = 'America/Chicago';
  t.equal(isoWithOffset(at), '2025-05-17T23:49:24-05:00');
  process.env.TZ = 'Asia/Kolkata';
  t.equal(isoWithOffset(at), '2025-05-18T10:19:24+05:30');
  process.env.TZ = 'UTC';
  t.equal(isoWithOffset(at), '2025-05-18T04:49:24+00:00');
});

t.test('audit: one line per AUTH/AUTHKEY/LOGIN/BYE/ENDKEY with ip, user and outcome', async (t) => {
  const lines = auditLines(d);
  const seen = (audit: string, outcome: string, ip?: string) =>
    lines.some((l) => l.audit === audit && l.outcome === outcome && (ip === undefined || l.ip === ip) && typeof l.user === 'string');
  t.ok(seen('AUTH', 'ok', '127.0.0.1'));
  t.ok(seen('AUTH', 'fail', '127.0.0.1'));
  t.ok(seen('AUTHKEY', 'ok'));
  t.ok(seen('AUTHKEY', 'fail'));
  t.ok(seen('LOGIN', 'ok', '127.0.0.2'));
  t.ok(seen('LOGIN', 'fail', '127.0.0.3'));
  t.ok(seen('BYE', 'ok', '127.0.0.2'));
  t.ok(seen('BYE', 'none', '127.0.0.2'));
  t.ok(seen('ENDKEY', 'ok', '127.0.0.2'));
  t.ok(seen('ENDKEY', 'fail', '127.0.0.2'));
  t.ok(seen('TOKEN', 'fail', '127.0.0.2'), 'a token with a wrong secret');
  t.ok(lines.some((l) => l.audit === 'LOGIN' && l.user === 'api-admin'));
});

// Last: every password, secret, token and session id this file used, against every captured log line.
t.test('no secret, password, token or session id in any log line', async (t) => {
  t.ok(ALL_LOGS.length > 50, 'there are log lines to scan');
  t.same(linesWithSecrets(), []);
});
