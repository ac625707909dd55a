/**
 * Logging: one 'request' line per request (verb, caller, status, ms), and no
 * password, password hash or session id in any line the daemon writes.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startDaemon, adminClient, http, CceClient, ADMIN_PASSWORD } from './helpers/daemon.js';
import { censorSecrets, createLogger, logRingOf } from '../src/log.js';
import { spawnDaemon } from './helpers/child-daemon.js';
import { lazyChildLogger } from '../src/http/lazy-logger.js';

interface Line {
  msg?: string;
  reqId?: string;
  verb?: string;
  caller?: string;
  status?: number;
  ms?: number;
  url?: string;
}

const parse = (logs: string[]): Line[] => logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);

t.test('no secret reaches a log line; one request line per request', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const secrets: string[] = [ADMIN_PASSWORD];
  let requests = 0;
  const count = async <T>(p: Promise<T>) => { requests++; return p; };

  const admin = await count(adminClient(d));
  secrets.push(admin.sessionid!);
  const anon = new CceClient(d);
  const badPw = 'wrong-secret-pw-1';
  secrets.push(badPw);
  t.equal((await count(anon.raw({ cmd: 'AUTH', user: 'admin', password: badPw }))).status, 401);
  t.equal((await count(anon.raw({ cmd: 'AUTH', user: 'nobody', password: badPw }))).status, 401);

  const userPw = 'created-user-pw-1';
  secrets.push(userPw);
  const created = await count(admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'logged', password: userPw } }));
  const oid = created.body.data.oid as string;
  t.equal((await count(admin.cmd(`CREATE User name="logged2" password="created-user-pw-2"`))).body.status, 201);
  secrets.push('created-user-pw-2');

  const user = await count(new CceClient(d, 'logged').login(userPw));
  secrets.push(user.sessionid!);
  t.equal((await count(anon.raw({ cmd: 'AUTHKEY', user: 'logged', sessionid: user.sessionid }))).status, 200);
  t.equal((await count(anon.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: user.sessionid }))).status, 401);

  const pw2 = 'changed-pw-2';
  const pw3 = 'changed-pw-3';
  secrets.push(pw2, pw3, 'wrong-old-pw');
  t.equal((await count(user.cmd(`SET ${oid} password="${pw2}" oldpassword="wrong-old-pw"`))).status, 422);
  t.equal((await count(user.cmd(`SET ${oid} password="${pw2}" oldpassword="${userPw}"`))).status, 200);
  t.equal((await count(user.cmd({ cmd: 'SET', oid, args: { password: pw3 }, oldpassword: pw2 }))).status, 200);
  t.equal((await count(user.cmd('WHOAMI'))).status, 200, 'the session survives its own password changes');
  t.equal((await count(user.cmd('ENDKEY'))).status, 200);
  t.equal((await count(user.cmd('GET 1'))).status, 401);
  t.equal((await count(admin.cmd({ cmd: 'SET', oid, args: { password: 'admin-set-pw-4', fullName: 'L' } }))).status, 200);
  secrets.push('admin-set-pw-4');
  // A failing write and a malformed body that both carry a password.
  t.equal((await count(admin.cmd({ cmd: 'SET', oid, args: { password: 'failing-pw-5', enabled: '7' } }))).status, 422);
  secrets.push('failing-pw-5');
  t.equal((await count(http(`${d.url}/v2/cce`, '{"cmd":"AUTH","user":"admin","password":"malformed-pw-6"'))).status, 400);
  secrets.push('malformed-pw-6');

  // A transaction echoes its queued commands: the password must not be among them.
  t.equal((await count(admin.cmd('BEGIN'))).status, 200);
  t.equal((await count(admin.cmd(`SET ${oid} password="queued-pw-7"`))).body.status, 100);
  t.equal((await count(admin.cmd('COMMIT'))).status, 200);
  secrets.push('queued-pw-7');

  t.equal((await count(http(`${d.url}/nowhere?sessionid=${admin.sessionid}`))).status, 404);
  t.equal((await count(http(`${d.url}/v2/cce`, JSON.stringify({ cmd: 'PING', password: 'oversized-pw-8', pad: 'x'.repeat(2 * 1024 * 1024) })))).status, 413);
  secrets.push('oversized-pw-8');

  const all = d.logs.join('\n');
  t.ok(d.logs.length > requests, 'something was logged');
  for (const s of secrets) t.notOk(all.includes(s), `${s.slice(0, 12)}... is in no log line`);
  t.notMatch(all, /\$argon2/, 'no password hash either');

  const lines = parse(d.logs).filter((l) => l.msg === 'request');
  t.equal(lines.length, requests, 'exactly one request line per request');
  t.equal(new Set(lines.map((l) => l.reqId)).size, requests, 'one per request id');
  for (const l of lines) {
    t.type(l.verb, 'string');
    t.type(l.caller, 'string');
    t.type(l.status, 'number');
    t.type(l.ms, 'number');
  }
  const by = (verb: string) => lines.filter((l) => l.verb === verb);
  t.match(by('AUTH'), [{ caller: 'anonymous', status: 200 }, { caller: 'anonymous', status: 401 }, { caller: 'anonymous', status: 401 }, { status: 200 }]);
  t.match(by('CREATE')[0], { caller: 'admin(2)', status: 200, url: '/v2/cce' });
  t.match(by('ENDKEY')[0], { caller: `logged(${oid})`, status: 200 });
  t.match(by('GET').at(-1), { caller: 'anonymous', status: 401 });
  t.strictSame(
    lines.filter((l) => l.verb === '?').map((l) => l.status),
    [400, 404, 413],
    'requests refused before any command still get their line',
  );
});

t.test('a generated admin password is told once, never logged', async (t) => {
  const d = await startDaemon({ env: { CCED_ADMIN_PASSWORD: '' } });
  t.teardown(() => d.close());
  const file = path.join(d.config.state_dir, 'admin.password');
  const password = readFileSync(file, 'utf8').trim();
  t.match(password, /^[A-Za-z0-9_-]{24}$/);
  const told = d.logs.filter((l) => l.includes(password));
  t.equal(told.length, 1, 'exactly one line carries it');
  t.match(told[0], /^\[tell\] /, 'and it is the terminal message, not a log line');
  const c = await new CceClient(d).login(password);
  t.equal((await c.cmd('WHOAMI')).body.data.oid, '2');
  t.notOk(d.logs.slice(1).some((l) => !l.startsWith('[tell]') && l.includes(password)));
});

t.test('secret keys are censored three levels deep, and only the objects on the way are copied', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ logging: true, debuglog: false }, { write: (l: string) => void lines.push(l) });
  const headers = { 'x-client-secret': 'cs-1', 'x-device-token': 'dt-1', accept: 'json' };
  const err = Object.assign(new Error('boom'), { code: 'E1' });
  const given = { password: 'pw-1', user: { sessionid: 'sid-1', name: 'n' }, req: { headers }, a: { b: { c: { token: 'deep' } } }, err, list: [1] };
  log.info(given, 'line');
  const line = JSON.parse(lines[0]!);
  t.equal(line.password, '[redacted]');
  t.strictSame(line.user, { sessionid: '[redacted]', name: 'n' });
  t.strictSame(line.req.headers, { 'x-client-secret': '[redacted]', 'x-device-token': '[redacted]', accept: 'json' });
  t.strictSame(line.a, { b: { c: { token: 'deep' } } }, 'below three levels nothing is searched');
  t.match(line.err, { message: 'boom', code: 'E1', stack: /Error: boom/ }, 'an Error reaches its serializer intact');
  t.equal(given.password, 'pw-1', 'the logged object itself is left alone');
  t.equal(headers['x-client-secret'], 'cs-1');
  const plain = { verb: 'PING', nested: { ok: 1 } };
  t.equal(censorSecrets(plain), plain, 'nothing to censor: the same object, no copy');
  const bare = Object.assign(Object.create(null), { secret: 's' });
  t.strictSame({ ...censorSecrets({ x: bare }).x as object }, { secret: '[redacted]' }, 'objects without a prototype are searched too');
  t.equal(logRingOf(log)!.last(1)[0] + '\n', lines[0], 'the ring holds the line as written, without its newline');
});

t.test('a real daemon writes its lines to stdout, each whole, and flushes the last ones when it stops', async (t) => {
  const d = await spawnDaemon();
  t.teardown(() => d.close());
  const pings = await Promise.all(Array.from({ length: 30 }, () => http(`${d.url}/v2/cce`, { cmd: 'PING' })));
  t.same(pings.map((r) => r.status), Array(30).fill(200));
  await http(`${d.url}/v2/cce`, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  await d.close();
  const lines = d.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const requests = lines.filter((l) => l.msg === 'request');
  t.equal(requests.filter((l) => l.verb === 'PING').length, 30, 'every PING line, each whole and on its own line');
  t.equal(requests.filter((l) => l.verb === 'AUTH').length, 1);
  t.ok(lines.every((l) => typeof l.time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.time as string)), 'ISO timestamps');
  t.equal(lines.at(-1)?.msg, 'closed', 'the lines of the shutdown itself are flushed before the process ends');
  t.notOk(d.stdout().includes(ADMIN_PASSWORD));
});

t.test('request.log makes its child (with the reqId binding) only when a request logs at an enabled level', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ logging: true, debuglog: false }, { write: (l: string) => void lines.push(l) });
  const made: unknown[] = [];
  const counting = Object.assign(Object.create(log), { child: (b: object, o?: object) => (made.push(b), log.child(b, o)) });
  const lazy = lazyChildLogger(counting, { reqId: 'req-7' }, {});
  t.equal(lazy.level, 'info');
  t.notOk((lazy as unknown as typeof log).isLevelEnabled('debug'));
  lazy.debug('not logged at info');
  t.same([made.length, lines.length], [0, 0], 'a disabled level: no child, no line');
  lazy.warn({ ip: '127.0.0.2' }, 'refused');
  lazy.info('again');
  t.equal(made.length, 1, 'one child, made at the first line');
  const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(first, { level: 40, reqId: 'req-7', ip: '127.0.0.2', msg: 'refused' });
  t.match(second, { level: 30, reqId: 'req-7', msg: 'again' });
  const grand = lazy.child({ sub: 1 });
  grand.error('nested');
  t.match(JSON.parse(lines[2]!), { reqId: 'req-7', sub: 1, msg: 'nested' });
  lazy.level = 'debug';
  lazy.debug('now logged');
  t.equal(JSON.parse(lines[3]!).msg, 'now logged', 'a level set on request.log applies to it');
  t.equal(log.level, 'info', 'and not to the daemon');
  t.ok((lazy as unknown as typeof log).isLevelEnabled('debug'));
  for (const m of ['fatal', 'trace'] as const) lazy[m]('x');
  t.equal(lines.length, 5, 'fatal logged, trace not');
  lazy.silent('nothing');
  t.equal(lines.length, 5);
});
