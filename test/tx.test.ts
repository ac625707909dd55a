/** BEGIN ... COMMIT over HTTP: all-or-nothing, $n references, every error path. */
import t from 'tap';
import { startDaemon, adminClient, CceClient, ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { commitQueue } from '../src/dispatch/transaction.js';
import type { QueuedWrite } from '../src/dispatch/dispatcher.js';
import type { CommandContext, WriteCommand } from '../src/dispatch/types.js';

const QUEUED = { status: 100, message: 'QUEUED' };
const BEGIN_OK = { status: 201, message: 'BEGIN OK' };
const TX_FAILED = 'One or more commands in the transaction failed.';

function fail(code: number, message: string) {
  return { status: 401, message: 'GOODBYE', data: { errors: [{ code, message }, { code: 401, message: 'FAIL' }] } };
}

async function createUser(c: CceClient, name: string): Promise<string> {
  const r = await c.cmd(`CREATE User name="${name}"`);
  if (r.body?.data?.oid === undefined) throw new Error(`CREATE failed: ${r.text}`);
  return r.body.data.oid;
}

async function fullName(c: CceClient, oid: string): Promise<string> {
  return (await c.cmd(`GET ${oid}`)).body.data.DATA.fullName;
}

async function findUser(c: CceClient, name: string): Promise<string[]> {
  return (await c.cmd(`FIND User name="${name}"`)).body.data?.oidlist ?? [];
}

let d: TestDaemon;
let c: CceClient;
t.before(async () => {
  d = await startDaemon();
  c = await adminClient(d);
});
t.teardown(() => d.close());

t.test("the seed's example: the second SET fails, the first is not applied, both are reported", async (t) => {
  const a = await createUser(c, 'seed_a');
  const b = await createUser(c, 'seed_b');
  t.same((await c.cmd({ cmd: 'BEGIN' })).body, BEGIN_OK);
  const q1 = await c.cmd({ cmd: 'SET', oid: a, args: { description: 'Testing' } });
  t.equal(q1.status, 200);
  t.same(q1.body, QUEUED);
  t.same((await c.cmd({ cmd: 'SET', oid: b, args: { invalid_key: 'Testing' } })).body, QUEUED);
  const r = await c.cmd({ cmd: 'COMMIT' });
  t.equal(r.status, 409);
  const second = {
    command: `SET ${b} invalid_key = "Testing"`,
    error: `Error: 302 BAD DATA ${b} invalid_key "[[base-cce.unknownAttr]]"`,
    index: 1,
    message: 'BAD DATA',
    status: 302,
  };
  // The exact text: key order as the reference prints it.
  t.equal(
    r.text,
    JSON.stringify({
      status: 409,
      message: TX_FAILED,
      data: {
        errors: [second],
        results: [{ command: `SET ${a} description = "Testing"`, index: 0, message: 'OK', status: 201 }, second],
        rolled_back: true,
      },
    }),
  );
  t.equal((await c.cmd(`GET ${a}`)).body.data.DATA.description, '', 'the first SET was rolled back');

  // The queue was consumed: the same session writes directly again.
  t.same((await c.cmd('COMMIT')).body, fail(402, 'BAD COMMAND no transaction is open (BEGIN first)'));
  t.same((await c.cmd({ cmd: 'BEGIN' })).body, BEGIN_OK);
  t.same((await c.cmd({ cmd: 'SET', oid: a, args: { description: 'Testing' } })).body, QUEUED);
  const ok = await c.cmd({ cmd: 'COMMIT' });
  t.equal(ok.status, 200);
  t.equal(ok.text, JSON.stringify({ status: 201, message: 'COMMIT successful', data: { results: [{ command: `SET ${a} description = "Testing"`, index: 0, message: 'OK', status: 201 }] } }));
  t.equal((await c.cmd(`GET ${a}`)).body.data.DATA.description, 'Testing');
});

t.test('mixed CREATE / SET / DESTROY with $n references', async (t) => {
  const before = await createUser(c, 'mixed_old');
  t.same((await c.cmd('BEGIN')).body, BEGIN_OK);
  for (const cmd of [
    'CREATE User name="mixed_a" fullName="A"',
    'SET $0 fullName="Alice"',
    'SET $0 . Email forwardEnable="1"',
    { cmd: 'CREATE', class: 'User', args: { name: 'mixed_b' } },
    { cmd: 'DESTROY', oid: '$3' },
    'SET $0 password="mixed-secret"',
    `DESTROY ${before}`,
  ]) {
    t.same((await c.cmd(cmd)).body, QUEUED);
  }
  t.same(await findUser(c, 'mixed_a'), [], 'nothing is applied before COMMIT');
  const r = await c.cmd('COMMIT');
  t.equal(r.status, 200);
  const [oidA] = await findUser(c, 'mixed_a');
  const results = r.body.data.results;
  const oidB = results[3].oid;
  t.same(r.body, {
    status: 201,
    message: 'COMMIT successful',
    data: {
      results: [
        { command: 'CREATE User name = "mixed_a" fullName = "A"', index: 0, message: 'OK', oid: oidA, status: 201 },
        { command: 'SET $0 fullName = "Alice"', index: 1, message: 'OK', status: 201 },
        { command: 'SET $0 . Email forwardEnable = "1"', index: 2, message: 'OK', status: 201 },
        { command: 'CREATE User name = "mixed_b"', index: 3, message: 'OK', oid: oidB, status: 201 },
        { command: 'DESTROY $3', index: 4, message: 'OK', status: 201 },
        { command: 'SET $0 password = "***"', index: 5, message: 'OK', status: 201 },
        { command: `DESTROY ${before}`, index: 6, message: 'OK', status: 201 },
      ],
    },
  });
  t.equal(typeof oidA, 'string');
  t.equal(await fullName(c, oidA!), 'Alice');
  t.equal((await c.cmd(`GET ${oidA} . Email`)).body.data.DATA.forwardEnable, '1');
  t.same(await findUser(c, 'mixed_b'), []);
  t.same(await findUser(c, 'mixed_old'), []);
  // The password set through $0 was hashed like any other: the new user can log in with it.
  t.ok(await new CceClient(d, 'mixed_a').login('mixed-secret'));

  // "format":"json" on COMMIT answers created oids as numbers.
  await c.cmd('BEGIN');
  await c.cmd('CREATE User name="mixed_json"');
  const j = await c.cmd({ cmd: 'COMMIT', format: 'json' });
  t.equal(typeof j.body.data.results[0].oid, 'number');
});

t.test('bad $n references and failures at prepare time fail the whole COMMIT, every error reported', async (t) => {
  const u = await createUser(c, 'refs_u');
  await c.cmd(`SET ${u} fullName="before"`);
  await c.cmd('BEGIN');
  for (const cmd of [
    'SET $5 fullName="x"',
    `SET ${u} fullName="after"`,
    'SET $1 fullName="x"',
    'SET $x fullName="x"',
    'CREATE User name="refs_new"',
    'CREATE NoSuchClass a="b"',
    'SET $5 fullName="x"',
    'SET $4 fullName="New"',
  ]) {
    t.same((await c.cmd(cmd)).body, QUEUED);
  }
  const r = await c.cmd('COMMIT');
  t.equal(r.status, 409);
  const err = (index: number, command: string, status: number, message: string, error: string) => ({ command, error, index, message, status });
  const errors = [
    err(0, 'SET $5 fullName = "x"', 403, 'BAD PARAMETERS', 'Error: 403 BAD PARAMETERS $5 refers to a command that runs after this one (index 0)'),
    err(2, 'SET $1 fullName = "x"', 403, 'BAD PARAMETERS', 'Error: 403 BAD PARAMETERS $1: command 1 created no object'),
    err(3, 'SET $x fullName = "x"', 403, 'BAD PARAMETERS', 'Error: 403 BAD PARAMETERS bad reference "$x"'),
    err(5, 'CREATE NoSuchClass a = "b"', 301, 'UNKNOWN CLASS', 'Error: 301 UNKNOWN CLASS NoSuchClass'),
    err(6, 'SET $5 fullName = "x"', 403, 'BAD PARAMETERS', 'Error: 403 BAD PARAMETERS $5: command 5 created no object'),
  ];
  const created = r.body.data.results[4].oid;
  t.same(r.body, {
    status: 409,
    message: TX_FAILED,
    data: {
      errors,
      results: [
        errors[0],
        { command: `SET ${u} fullName = "after"`, index: 1, message: 'OK', status: 201 },
        errors[1],
        errors[2],
        { command: 'CREATE User name = "refs_new"', index: 4, message: 'OK', oid: created, status: 201 },
        errors[3],
        errors[4],
        { command: 'SET $4 fullName = "New"', index: 7, message: 'OK', status: 201 },
      ],
      rolled_back: true,
    },
  });
  t.equal(await fullName(c, u), 'before');
  t.same(await findUser(c, 'refs_new'), []);
  t.equal((await c.cmd(`GET ${created}`)).body.data.errors[0].code, 300, 'the object created inside the failed COMMIT is gone');
  t.match(d.logs.join('\n'), /"audit":"COMMIT".*"failed":5.*"outcome":"rolled_back"/);
  // Outside a transaction $n means nothing.
  t.same((await c.cmd('SET $0 fullName="x"')).body, fail(403, 'BAD PARAMETERS $0 is only valid inside BEGIN ... COMMIT'));
});

t.test('BEGIN / COMMIT / ROLLBACK misuse', async (t) => {
  const u = await createUser(c, 'misuse_u');
  const r = await c.cmd('COMMIT');
  t.equal(r.status, 400);
  t.same(r.body, fail(402, 'BAD COMMAND no transaction is open (BEGIN first)'));
  t.same((await c.cmd('ROLLBACK')).body, fail(402, 'BAD COMMAND no transaction is open (BEGIN first)'));
  t.same((await c.cmd('BEGIN')).body, BEGIN_OK);
  const twice = await c.cmd('BEGIN');
  t.equal(twice.status, 400);
  t.same(twice.body, fail(402, 'BAD COMMAND a transaction is already open (COMMIT or ROLLBACK it first)'));
  t.same((await c.cmd('BEGIN now')).body, fail(403, 'BAD PARAMETERS unexpected "now"'));
  t.same((await c.cmd(`SET ${u} fullName="rolled"`)).body, QUEUED);
  t.same((await c.cmd(`DESTROY ${u}`)).body, QUEUED);
  t.same((await c.cmd('ROLLBACK')).body, { status: 201, message: 'ROLLBACK OK', data: { discarded: 2 } });
  t.equal(await fullName(c, u), '', 'nothing of a rolled back queue is applied');
  t.same((await c.cmd(`SET ${u} fullName="direct"`)).body, { status: 201, message: 'GOODBYE' }, 'writes go direct again');
  t.equal(await fullName(c, u), 'direct');
  // An empty transaction commits to nothing.
  await c.cmd('BEGIN');
  t.same((await c.cmd('COMMIT')).body, { status: 201, message: 'COMMIT successful', data: { results: [] } });
  // Anonymous callers cannot open one.
  const anon = await c.raw({ cmd: 'BEGIN' });
  t.equal(anon.status, 401);
  t.same(anon.body, { status: 401, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }] } });
});

t.test('a write that cannot parse is refused at once and not queued; reads see committed data', async (t) => {
  const u = await createUser(c, 'parse_u');
  await c.cmd(`SET ${u} fullName="committed"`);
  await c.cmd('BEGIN');
  t.same((await c.cmd('SET')).body, fail(403, 'BAD PARAMETERS expected an oid'));
  t.same((await c.cmd(`SET ${u} fullName`)).body, fail(403, 'BAD PARAMETERS expected = after fullName'));
  const lexErr = await c.cmd(`SET ${u} fullName="x`);
  t.equal(lexErr.body.data.errors[0].code, 306);
  t.same((await c.cmd(`SET ${u} fullName="queued"`)).body, QUEUED);
  t.equal(await fullName(c, u), 'committed', 'a read inside BEGIN runs at once on committed data');
  const r = await c.cmd('COMMIT');
  t.same(r.body.data.results, [{ command: `SET ${u} fullName = "queued"`, index: 0, message: 'OK', status: 201 }]);
  t.equal(await fullName(c, u), 'queued');
});

t.test('the queue dies with its session (ENDKEY)', async (t) => {
  const u = await createUser(c, 'endkey_u');
  const s = await adminClient(d);
  await s.cmd('BEGIN');
  t.same((await s.cmd(`SET ${u} fullName="never"`)).body, QUEUED);
  t.same((await s.cmd('ENDKEY')).body, { status: 201, message: 'GOODBYE' });
  t.equal((await s.cmd('COMMIT')).status, 401, 'the session is gone');
  await s.login();
  t.same((await s.cmd('COMMIT')).body, fail(402, 'BAD COMMAND no transaction is open (BEGIN first)'), 'a new session has no queue');
  t.equal(await fullName(c, u), '');
});

t.test('SUSPEND while a queue waits: COMMIT answers 309 and keeps it; after RESUME it commits', async (t) => {
  const u = await createUser(c, 'suspend_u');
  await c.cmd('BEGIN');
  t.same((await c.cmd(`SET ${u} fullName="later"`)).body, QUEUED);
  t.same((await c.cmd('SUSPEND maintenance')).body, { status: 201, message: 'GOODBYE' });
  t.same((await c.cmd(`SET ${u} fullName="refused"`)).body, fail(309, 'SUSPENDED "maintenance"'), 'no queuing while suspended');
  const r = await c.cmd('COMMIT');
  t.equal(r.status, 503);
  t.same(r.body, fail(309, 'SUSPENDED "maintenance"'));
  t.equal(await fullName(c, u), '');
  await c.cmd('RESUME');
  const ok = await c.cmd('COMMIT');
  t.same(ok.body.data.results, [{ command: `SET ${u} fullName = "later"`, index: 0, message: 'OK', status: 201 }], 'the queue was kept');
  t.equal(await fullName(c, u), 'later');
});

t.test('two sessions committing the same unique name at once: one 201, the other 409 whole', async (t) => {
  const [s1, s2] = await Promise.all([adminClient(d), adminClient(d)]);
  const witness = await createUser(c, 'race_witness');
  for (const [i, s] of [s1, s2].entries()) {
    await s.cmd('BEGIN');
    await s.cmd(`SET ${witness} fullName="session${i}"`);
    await s.cmd('CREATE User name="race_same"');
  }
  const replies = await Promise.all([s1.cmd('COMMIT'), s2.cmd('COMMIT')]);
  t.same(replies.map((r) => r.status).sort(), [200, 409]);
  const winner = replies.findIndex((r) => r.status === 200);
  const loser = replies[1 - winner]!;
  t.same(loser.body.data.errors, [
    { command: 'CREATE User name = "race_same"', error: 'Error: 302 BAD DATA 0 name "[[base-cce.notUnique]]"', index: 1, message: 'BAD DATA', status: 302 },
  ]);
  t.equal((await findUser(c, 'race_same')).length, 1);
  t.equal(await fullName(c, witness), `session${winner}`, "the loser's SET was rolled back with it");
});

t.test('max_queue bounds a queue; overflow keeps it as it was', async (t) => {
  const small = await startDaemon({ config: { max_queue: '3' } });
  t.teardown(() => small.close());
  const s = await adminClient(small);
  await s.cmd('BEGIN');
  for (let i = 0; i < 3; i++) t.same((await s.cmd(`CREATE User name="q${i}"`)).body, QUEUED);
  const over = await s.cmd('CREATE User name="q3"');
  t.equal(over.status, 400);
  t.same(over.body, fail(403, 'BAD PARAMETERS the transaction queue is full (max_queue = 3)'));
  const r = await s.cmd('COMMIT');
  t.same(r.body.data.results.map((x: { command: string }) => x.command), ['CREATE User name = "q0"', 'CREATE User name = "q1"', 'CREATE User name = "q2"']);
  t.same(await findUser(s, 'q3'), []);
});

t.test('the COMMIT echo hides passwords', async (t) => {
  await c.cmd('BEGIN');
  await c.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'echo_u', password: ADMIN_PASSWORD } });
  const r = await c.cmd('COMMIT');
  t.equal(r.body.data.results[0].command, 'CREATE User name = "echo_u" password = "***"');
  t.notMatch(d.logs.join('\n'), ADMIN_PASSWORD);
});

t.test('a bug (not a CCE error) in a queued command fails the COMMIT as an internal error, nothing applied', async (t) => {
  const s = d.app.services;
  const ctx = { ...s, caller: { kind: 'session', oid: 0, name: 'system', admin: true, capabilities: [] }, format: 'cce', ip: '127.0.0.1', headers: {} } as unknown as CommandContext;
  const count = await s.store.count();
  const write = (prepare: WriteCommand['prepare']): QueuedWrite => ({ command: { verb: 'X', kind: 'write', access: 'user', parse: () => undefined, describe: () => 'X', prepare }, args: undefined, text: 'X' });
  const create: QueuedWrite = { ...write(async () => async (w) => ({ status: 201, message: 'GOODBYE', data: { oid: String(await s.store.at(w).create(ctx.caller, 'User', { name: 'bug_u' })) } })) };
  await t.rejects(commitQueue(ctx, [create, write(async () => { throw new TypeError('prepare bug'); })]), TypeError);
  await t.rejects(commitQueue(ctx, [create, write(async () => () => { throw new TypeError('mutation bug'); })]), TypeError);
  t.equal(await s.store.count(), count);
});

t.test('side effects of a rolled-back COMMIT never happen: no logout, no audit line', async (t) => {
  const bobOid = await createUser(c, 'fx_bob');
  t.equal((await c.cmd(`SET ${bobOid} password="bob-pw"`)).status, 200);
  const bob = await new CceClient(d, 'fx_bob').login('bob-pw');
  const before = d.logs.length;
  await c.cmd({ cmd: 'BEGIN' });
  await c.cmd(`SET ${bobOid} enabled="0" fullName="Gone"`);
  await c.cmd(`SET ${bobOid} no_such_property="x"`);
  t.equal((await c.cmd({ cmd: 'COMMIT' })).status, 409);
  t.same((await bob.cmd('WHOAMI')).body.data.oid, bobOid, 'the disable was rolled back, so the session lives');
  const audits = d.logs.slice(before).filter((l) => l.includes('"msg":"write"'));
  t.same(audits, [], 'no audit line for writes that were rolled back');

  // The same disable committed: the session ends, and the write is audited once.
  t.equal((await c.cmd(`SET ${bobOid} enabled="0"`)).status, 200);
  t.equal((await bob.cmd('GET 1')).status, 401);
  t.equal(d.logs.slice(before).filter((l) => l.includes('"msg":"write"') && l.includes(`"oid":${bobOid}`)).length, 1);
});

t.test('COMMIT results never echo a secret value (schema "secret": true)', async (t) => {
  await c.cmd({ cmd: 'BEGIN' });
  await c.cmd('CREATE Device device_key="ECHO1" token_code="echo-secret-00001" ap_password="echo-secret-2"');
  const r = await c.cmd({ cmd: 'COMMIT' });
  t.equal(r.status, 200);
  t.equal(r.body.data.results[0].command, 'CREATE Device device_key = "ECHO1" token_code = "***" ap_password = "***"');
  t.notMatch(r.text, /echo-secret/);
});
