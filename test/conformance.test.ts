/**
 * Protocol conformance with the CCEd-NG document (seed 002), over HTTP against
 * a running daemon, reply for reply:
 * - WHOAMI with `user` + `password` answers that user's oid;
 * - GETALL without credentials answers WHOAMI's "nobody" envelope (HTTP 401);
 * - BAD DATA names the bare key on a named namespace, as on the main one;
 * - the Meeting API's distrib.json reads back any JSON value it was given,
 *   as that value, with application/json.
 */
import t from 'tap';
import { ADMIN_PASSWORD, CceClient, adminClient, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { failure, makeUser } from './helpers/replies.js';
import { auditLines, from } from './helpers/gate.js';
import { adminRest, newDevice, seedCatalog, type Rest } from './helpers/meeting.js';

const NOBODY = { status: 201, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }], oid: '-1' } };
const FAILS_BEFORE_BAN = 5;
/** Local too: the failed WHOAMIs of the first test count here, not against the address the other tests use. */
const FAILING = '127.0.0.5';

let d: TestDaemon;
let admin: CceClient;
t.before(async () => {
  d = await startDaemon({
    config: {
      api_access: '127.0.0.2',
      // 127.0.0.4 is local too: the ban check below bans it, not the address the other tests use.
      local_addresses: `127.0.0.1, ::1, 127.0.0.4, ${FAILING}`,
      api_auth_fails: String(FAILS_BEFORE_BAN),
    },
  });
  admin = await adminClient(d);
});
t.teardown(() => d.close());

t.test('WHOAMI with user + password answers that user\'s oid', async (t) => {
  const me = await admin.raw({ cmd: 'WHOAMI', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(me.status, 200);
  t.strictSame(me.body, { status: 201, message: 'GOODBYE', data: { oid: '2' } });

  const { oid } = await makeUser(admin, 'whoami1', 'whoami1-secret');
  const other = await admin.raw({ cmd: 'WHOAMI', user: 'whoami1', password: 'whoami1-secret' });
  t.strictSame(other.body, { status: 201, message: 'GOODBYE', data: { oid } });
  t.strictSame((await admin.raw({ cmd: 'WHOAMI', user: 'whoami1', password: 'whoami1-secret', format: 'json' })).body.data, { oid: Number(oid) });

  // A valid session in the same envelope wins over the password.
  t.strictSame((await admin.cmd({ cmd: 'WHOAMI', password: 'whoami1-secret' })).body.data, { oid: '2' });
  // The seed's failure: WHOAMI's envelope for nobody, HTTP 200 (the question had an answer).
  for (const [body, why] of [
    [{ cmd: 'WHOAMI', user: 'whoami1', password: 'wrong' }, 'a wrong password'],
    [{ cmd: 'WHOAMI', user: 'nosuchuser', password: 'whoami1-secret' }, 'an unknown user'],
    [{ cmd: 'WHOAMI', user: 'whoami1' }, 'no password'],
    [{ cmd: 'WHOAMI', password: 'whoami1-secret' }, 'no user'],
  ] as const) {
    const r = await from(d, FAILING, body);
    t.equal(r.status, 200, why);
    t.strictSame(r.body, NOBODY, why);
  }
  t.strictSame((await admin.cmd(`SET ${oid} enabled="0"`)).body.status, 201);
  t.strictSame((await from(d, FAILING, { cmd: 'WHOAMI', user: 'whoami1', password: 'whoami1-secret' })).body, NOBODY, 'a disabled user');

  const audit = auditLines(d).filter((l) => l.audit === 'WHOAMI');
  t.match(audit, [
    { user: 'admin', outcome: 'ok', ip: '127.0.0.1' },
    { user: 'whoami1', outcome: 'ok' },
    { user: 'whoami1', outcome: 'ok' },
    { user: 'whoami1', outcome: 'fail' },
    { user: 'nosuchuser', outcome: 'fail' },
    { user: 'whoami1', outcome: 'fail' },
  ]);
  t.notOk(d.logs.some((l) => l.includes('whoami1-secret')), 'no password in any log line');
});

t.test('WHOAMI checks a password only from a local address, and a wrong one counts toward a ban', async (t) => {
  // A whitelisted remote caller authenticates with LOGIN tokens only, as for AUTH.
  const remote = await from(d, '127.0.0.2', { cmd: 'WHOAMI', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(remote.status, 200);
  t.strictSame(remote.body, NOBODY);

  const ip = '127.0.0.4';
  for (let i = 1; i <= FAILS_BEFORE_BAN; i++) {
    t.strictSame((await from(d, ip, { cmd: 'WHOAMI', user: 'admin', password: `wrong-${i}` })).body, NOBODY, `failure ${i}`);
  }
  const banned = await from(d, ip, { cmd: 'WHOAMI', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(banned.status, 429, '(address, admin) is banned, the right password is not even checked');
  t.equal((await from(d, '127.0.0.1', { cmd: 'PING' })).status, 200, 'other addresses are not');
});

t.test('GETALL without credentials answers as the seed shows', async (t) => {
  for (const [body, why] of [
    [{ cmd: 'GETALL', oids: ['1', '2'] }, 'no credentials'],
    [{ cmd: 'GETALL', class: 'User', args: {} }, 'by class, no credentials'],
    [{ cmd: 'GETALL', oids: ['1'], user: 'admin', sessionid: 'expired-or-made-up' }, 'an unknown session'],
    [{ cmd: 'GETALL', oids: ['1'], user: 'admin', password: ADMIN_PASSWORD }, 'a password is no session'],
  ] as const) {
    const r = await admin.raw(body);
    t.equal(r.status, 401, `${why}: HTTP 401, so curl --fail sees it`);
    t.strictSame(r.body, NOBODY, why);
  }
  // With a session, the objects; other commands keep the failure envelope.
  t.strictSame(Object.keys((await admin.cmd({ cmd: 'GETALL', oids: ['1', '2'] })).body.data.objects), ['1', '2']);
  const get = await admin.raw({ cmd: 'GET 1' });
  t.equal(get.status, 401);
  t.strictSame(get.body, failure());
});

t.test('BAD DATA names the bare key on a named namespace, as the seed does', async (t) => {
  const expect = async (cmd: string | Record<string, unknown>, message: string) => {
    const r = await admin.cmd(cmd);
    t.equal(r.status, 422, message);
    t.strictSame(r.body, failure([302, message]));
  };
  // The seed's own line, with a value the boolean refuses.
  await expect('SET 1 . Snmp readCommunity="public" readWriteCommunity="private" enabled="2"', 'BAD DATA 1 enabled "[[base-cce.invalidData]]"');
  await expect('SET 1 . Snmp foo="1"', 'BAD DATA 1 foo "[[base-cce.unknownAttr]]"');
  await expect('SET 1.Snmp enabled="yes"', 'BAD DATA 1 enabled "[[base-cce.invalidData]]"');
  await expect({ cmd: 'SET', oid: '1', namespace: 'Snmp', args: { enabled: 'yes' } }, 'BAD DATA 1 enabled "[[base-cce.invalidData]]"');
  await expect({ cmd: 'SET', oid: '1', namespace: 'Snmp', args: { foo: '1' } }, 'BAD DATA 1 foo "[[base-cce.unknownAttr]]"');
  // The main namespace names it the same way.
  await expect('SET 1 hostname="not a host"', 'BAD DATA 1 hostname "[[base-cce.invalidData]]"');
  t.strictSame((await admin.cmd('GET 1 . Snmp')).body.data.DATA.enabled, '0', 'nothing was written');

  // Inside a COMMIT, the per-command error names it the same way.
  const tx = await new CceClient(d).login();
  t.strictSame((await tx.cmd('BEGIN')).body, { status: 201, message: 'BEGIN OK' });
  t.strictSame((await tx.cmd('SET 1 . Snmp enabled="2"')).body, { status: 100, message: 'QUEUED' });
  const commit = await tx.cmd('COMMIT');
  t.equal(commit.status, 409);
  t.match(commit.body.data.errors, [{ error: 'Error: 302 BAD DATA 1 enabled "[[base-cce.invalidData]]"', status: 302 }]);
});

t.test('PUT .../distrib-json with any JSON value reads back as that value, as application/json', async (t) => {
  await seedCatalog(d);
  const a: Rest = await adminRest(d);
  const { key } = await newDevice(a);
  const values: unknown[] = [
    { version: '1.2', packages: ['a', 'b'], nested: { on: true, n: null } },
    ['x', 1, false],
    'just a string',
    '',
    42,
    -0.5,
    true,
    false,
    null,
    {},
    [],
    { unicode: 'żółw ✓', quote: '"\\' },
  ];
  for (const value of values) {
    const text = JSON.stringify(value);
    const put = await a.put(`/api/devices/${key}/distrib-json`, text, { 'content-type': 'application/json' });
    t.equal(put.status, 200, `PUT ${text}`);
    t.strictSame(put.body, { success: true }, `PUT ${text}`);
    const got = await a.get(`/api/devices/${key}/distrib-json`);
    t.equal(got.status, 200, `GET ${text}`);
    t.equal(got.headers['content-type'], 'application/json; charset=utf-8', `GET ${text}: the type`);
    t.equal(got.text, text, `GET ${text}: the same JSON text`);
    t.strictSame(JSON.parse(got.text), value, `GET ${text}: the same value`);
  }
});
