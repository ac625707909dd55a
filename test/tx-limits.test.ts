/**
 * BEGIN queues under attack, over HTTP: bounded in bytes per queue, per user and in all; a queued write
 * that cannot succeed is refused at once; the bytes come back on COMMIT, ROLLBACK and the session's end.
 */
import t from 'tap';
import { startDaemon, adminClient, CceClient, ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { failure, makeUser, GOODBYE } from './helpers/replies.js';

const QUEUED = { status: 100, message: 'QUEUED' };
const BEGIN_OK = { status: 201, message: 'BEGIN OK' };
/** 60,000 characters: about the most one argument may hold (64 KiB). */
const LONG = 'x'.repeat(60_000);
/** Every free-text property a user may write on itself. */
const OWN_TEXT = ['fullName', 'sortName', 'localePreference', 'stylePreference', 'gui_theme'];

async function fullName(c: CceClient, oid: string): Promise<string> {
  return (await c.cmd(`GET ${oid}`)).body.data.DATA.fullName;
}

/** A SET of ~300 KB that a user may make on itself; queued, it counts ~600 KB (the arguments and the echo). */
function bigSet(oid: string, i: number) {
  return { cmd: 'SET', oid, args: Object.fromEntries(OWN_TEXT.map((k) => [k, `${i}${LONG}`])) };
}

t.test('byte budgets: per queue, per user across sessions, in all; released on COMMIT, ROLLBACK and the end of a session', async (t) => {
  const d = await startDaemon({
    config: { max_queue_bytes: '1500000', max_queue_bytes_per_user: '2000000', max_queue_bytes_total: '3100000' },
  });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const users = Object.fromEntries(
    await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin'].map(async (n) => [n, await makeUser(admin, n, `${n}-pw-1`)] as const)),
  );
  const { alice, bob, carol, dave, erin } = users as Record<string, Awaited<ReturnType<typeof makeUser>>>;

  await t.test('one queue: two writes fit, the third is refused naming the limit; the daemon stays up', async (t) => {
    const a = alice!.client;
    t.same((await a.cmd('BEGIN')).body, BEGIN_OK);
    for (const i of [1, 2]) t.same((await a.cmd(bigSet(alice!.oid, i))).body, QUEUED);
    const over = await a.cmd(bigSet(alice!.oid, 3));
    t.equal(over.status, 400);
    t.same(over.body, failure([403, 'BAD PARAMETERS the transaction queue is full (max_queue_bytes = 1500000)']));
    t.same((await admin.raw({ cmd: 'PING' })).body, { status: 202, message: 'PONG' });
    t.same((await bob!.client.cmd(`SET ${bob!.oid} fullName="Bob"`)).body, GOODBYE, 'another session writes as usual');
    // A small write still fits where a big one did not.
    t.same((await a.cmd(`SET ${alice!.oid} description2="x"`)).body.data.errors[0].code, 302);
    t.same((await a.cmd(`SET ${alice!.oid} sortName="small"`)).body, QUEUED);
    const r = await a.cmd('COMMIT');
    t.equal(r.status, 200);
    t.same(r.body.data.results.map((x: { index: number; status: number }) => [x.index, x.status]), [[0, 201], [1, 201], [2, 201]]);
    t.equal(await fullName(admin, alice!.oid), `2${LONG}`, 'the queued writes landed, the refused one did not');
    // COMMIT gave the bytes back: a new queue takes two big writes again.
    await a.cmd('BEGIN');
    for (const i of [4, 5]) t.same((await a.cmd(bigSet(alice!.oid, i))).body, QUEUED);
    t.same((await a.cmd('ROLLBACK')).body, { status: 201, message: 'ROLLBACK OK', data: { discarded: 2 } });
    await a.cmd('BEGIN');
    for (const i of [6, 7]) t.same((await a.cmd(bigSet(alice!.oid, i))).body, QUEUED, 'and so did ROLLBACK');
    await a.cmd('ROLLBACK');
  });

  await t.test("one user's queues share a budget across its sessions; the session's end gives its bytes back", async (t) => {
    const first = bob!.client;
    const second = await new CceClient(d, 'bob').login('bob-pw-1');
    await first.cmd('BEGIN');
    await second.cmd('BEGIN');
    for (const i of [1, 2]) t.same((await first.cmd(bigSet(bob!.oid, i))).body, QUEUED);
    t.same((await second.cmd(bigSet(bob!.oid, 3))).body, QUEUED);
    const over = await second.cmd(bigSet(bob!.oid, 4));
    t.equal(over.status, 400);
    t.same(over.body, failure([403, "BAD PARAMETERS this user's transaction queues are full (max_queue_bytes_per_user = 2000000)"]));
    // Another user is not held by bob's budget.
    await carol!.client.cmd('BEGIN');
    t.same((await carol!.client.cmd(bigSet(carol!.oid, 1))).body, QUEUED);
    await carol!.client.cmd('ROLLBACK');
    // ENDKEY ends the first session and its queue: its bytes are bob's again.
    t.same((await first.cmd('ENDKEY')).body, GOODBYE);
    t.same((await second.cmd(bigSet(bob!.oid, 5))).body, QUEUED);
    const r = await second.cmd('COMMIT');
    t.same(r.body.data.results.map((x: { index: number; status: number }) => [x.index, x.status]), [[0, 201], [1, 201]]);
    t.equal(await fullName(admin, bob!.oid), `5${LONG}`);
  });

  await t.test('all queues together are bounded too', async (t) => {
    const holders: [typeof alice, number][] = [[alice, 2], [carol, 2], [dave, 1]];
    for (const [u, n] of holders) {
      await u!.client.cmd('BEGIN');
      for (let i = 0; i < n; i++) t.same((await u!.client.cmd(bigSet(u!.oid, i))).body, QUEUED);
    }
    // 5 writes of ~600 KB are held; a sixth would pass 3.1 MB.
    await erin!.client.cmd('BEGIN');
    const over = await erin!.client.cmd(bigSet(erin!.oid, 9));
    t.equal(over.status, 400);
    t.same(over.body, failure([403, 'BAD PARAMETERS the transaction queues of the daemon are full (max_queue_bytes_total = 3100000)']));
    // alice's sessions end when an admin changes her password: her queue with them.
    t.same((await admin.cmd({ cmd: 'SET', oid: alice!.oid, args: { password: 'alice-pw-2' } })).body, GOODBYE);
    t.same((await erin!.client.cmd(bigSet(erin!.oid, 9))).body, QUEUED, 'an ended session holds nothing');
    for (const u of [carol, dave, erin]) t.same((await u!.client.cmd('ROLLBACK')).body.status, 201);
  });
});

t.test('a queued write that cannot succeed is refused at once; what passes is checked again at COMMIT', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const plain = await makeUser(admin, 'plain', 'plain-pw-1');
  const other = await makeUser(admin, 'other', 'other-pw-1');
  const manager = await makeUser(admin, 'manager', 'manager-pw-1', { capabilities: '&adminUser&' });
  const p = plain.client;
  const adminOid = (await admin.cmd('WHOAMI')).body.data.oid as string;

  await t.test('made-up properties, other users, unknown objects, classes and namespaces, bad values', async (t) => {
    t.same((await p.cmd('BEGIN')).body, BEGIN_OK);
    const refused: [string | Record<string, unknown>, number, number, string][] = [
      [{ cmd: 'SET', oid: plain.oid, args: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`made_up${i}`, LONG])) }, 422, 302, `BAD DATA ${plain.oid} made_up0 "[[base-cce.unknownAttr]]"`],
      [{ cmd: 'SET', oid: other.oid, args: { made_up: 'x' } }, 422, 302, `BAD DATA ${other.oid} made_up "[[base-cce.unknownAttr]]"`],
      [`SET ${other.oid} fullName="mine now"`, 403, 304, 'PERMISSION DENIED fullName'],
      [`SET ${other.oid} password="taken-over"`, 403, 304, 'PERMISSION DENIED password'],
      [`SET ${plain.oid} enabled="0"`, 403, 304, 'PERMISSION DENIED enabled'],
      [`SET ${adminOid} fullName="x"`, 403, 304, 'PERMISSION DENIED fullName'],
      [`DESTROY ${other.oid}`, 403, 304, 'PERMISSION DENIED DESTROY'],
      ['CREATE User name="sneaky"', 403, 304, 'PERMISSION DENIED CREATE'],
      ['CREATE NoSuchClass a="b"', 404, 301, 'UNKNOWN CLASS NoSuchClass'],
      ['SET 999999 fullName="x"', 404, 300, 'UNKNOWN OBJECT 999999'],
      [`SET ${plain.oid} . NoSuchNs a="b"`, 404, 303, 'UNKNOWN NAMESPACE NoSuchNs'],
      [`SET ${plain.oid} gui_theme_timer="soon"`, 422, 302, `BAD DATA ${plain.oid} gui_theme_timer "[[base-cce.invalidData]]"`],
      [{ cmd: 'SET', oid: plain.oid, args: { password: 5 } }, 422, 302, `BAD DATA ${plain.oid} password "[[base-cce.invalidData]]"`],
      ['SET $0 fullName="x"', 400, 403, 'BAD PARAMETERS $0 refers to a command that runs after this one (index 0)'],
      ['SET 0x1 fullName="x"', 400, 403, 'BAD PARAMETERS bad oid "0x1"'],
    ];
    for (const [cmd, http, code, message] of refused) {
      const r = await p.cmd(cmd);
      t.same([r.status, r.body], [http, failure([code, message])], JSON.stringify(cmd).slice(0, 80));
    }
    t.same((await p.cmd(`SET ${plain.oid} fullName="Plain"`)).body, QUEUED, 'a write that can succeed is queued');
    const r = await p.cmd('COMMIT');
    t.same(r.body, { status: 201, message: 'COMMIT successful', data: { results: [{ command: `SET ${plain.oid} fullName = "Plain"`, index: 0, message: 'OK', status: 201 }] } });
  });

  await t.test('$n: names a queued CREATE, whose class is checked; anything else is refused at once', async (t) => {
    const m = manager.client;
    await m.cmd('BEGIN');
    t.same((await m.cmd('CREATE User name="managed" fullName="M"')).body, QUEUED);
    t.same((await m.cmd('SET $0 sortName="m"')).body, QUEUED);
    t.same((await m.cmd('SET $0 password="managed-pw-1"')).body, QUEUED);
    const refused: [string, number, string][] = [
      ['SET $0 made_up="x"', 302, 'BAD DATA 0 made_up "[[base-cce.unknownAttr]]"'],
      ['SET $0 systemAdministrator="1"', 304, 'PERMISSION DENIED systemAdministrator'],
      ['SET $0 . Email vacationMsgStart="tomorrow"', 302, 'BAD DATA 0 vacationMsgStart "[[base-cce.invalidData]]"'],
      ['SET $1 fullName="x"', 403, 'BAD PARAMETERS $1: command 1 created no object'],
      ['SET $3 fullName="x"', 403, 'BAD PARAMETERS $3 refers to a command that runs after this one (index 3)'],
      ['SET $x fullName="x"', 403, 'BAD PARAMETERS bad reference "$x"'],
      ['CREATE User fullName="no name"', 302, 'BAD DATA 0 name "[[base-cce.invalidData]]"'],
    ];
    for (const [cmd, code, message] of refused) t.same((await m.cmd(cmd)).body, failure([code, message]), cmd);
    t.same((await m.cmd('DESTROY $0')).body, QUEUED);
    const r = await m.cmd('COMMIT');
    t.equal(r.status, 200);
    t.same(r.body.data.results.map((x: { status: number }) => x.status), [201, 201, 201, 201]);
  });

  await t.test('uniqueness waits for COMMIT (an earlier queued write may free the name); COMMIT checks everything again', async (t) => {
    const m = manager.client;
    const gone = (await admin.cmd('CREATE User name="taken"')).body.data.oid as string;
    await m.cmd('BEGIN');
    t.same((await m.cmd(`DESTROY ${gone}`)).body, QUEUED);
    t.same((await m.cmd('CREATE User name="taken"')).body, QUEUED, 'the name is free by then');
    t.equal((await m.cmd('COMMIT')).status, 200);

    const target = (await admin.cmd('CREATE User name="target"')).body.data.oid as string;
    await m.cmd('BEGIN');
    t.same((await m.cmd('CREATE User name="twice"')).body, QUEUED);
    t.same((await m.cmd('CREATE User name="twice"')).body, QUEUED);
    t.same((await m.cmd(`SET ${target} fullName="T"`)).body, QUEUED);
    // What changes between queueing and COMMIT counts: the object is destroyed meanwhile.
    t.same((await admin.cmd(`DESTROY ${target}`)).body, GOODBYE);
    const r = await m.cmd('COMMIT');
    t.equal(r.status, 409);
    t.same(r.body.data.errors.map((e: { index: number; error: string }) => [e.index, e.error]), [
      [1, 'Error: 302 BAD DATA 0 name "[[base-cce.notUnique]]"'],
      [2, `Error: 300 UNKNOWN OBJECT ${target}`],
    ]);
  });

  await t.test("a sysadmin's queue is checked at COMMIT, as the reference's is (its example: every result reported)", async (t) => {
    await admin.cmd('BEGIN');
    t.same((await admin.cmd(`SET ${other.oid} invalid_key="Testing"`)).body, QUEUED);
    t.equal((await admin.cmd('COMMIT')).status, 409);
  });
});

t.test('a COMMIT of 200 password SETs runs at most 2 argon2 jobs at once; an admin SET and an AUTH meanwhile answer as usual', async (t) => {
  // FULL: every write's fsync then runs on libuv's thread pool (WalSync), beside the argon2 jobs.
  const d: TestDaemon = await startDaemon({ config: { db_synchronous: 'FULL' } });
  t.teardown(() => d.close());
  const { passwordJobs } = await import('../src/auth/passwords.js');
  const admin = await adminClient(d);
  const writer = await adminClient(d);
  const user = await makeUser(admin, 'hashed', 'hashed-pw-0');
  const witness = (await admin.cmd('CREATE User name="witness"')).body.data.oid as string;
  await admin.cmd('BEGIN');
  for (let i = 1; i <= 200; i++) t.equal((await admin.cmd({ cmd: 'SET', oid: user.oid, args: { password: `hashed-pw-${i}` } })).body.status, 100);
  passwordJobs.peak = 0;
  const commit = admin.cmd('COMMIT');
  // Sent once the COMMIT is under way (its first hashes are running).
  while (passwordJobs.active === 0) await new Promise((r) => setImmediate(r));
  const started = Date.now();
  const [set, auth] = await Promise.all([
    writer.cmd(`SET ${witness} fullName="during the commit"`).then((r) => ({ r, ms: Date.now() - started })),
    admin.raw({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }).then((r) => ({ r, ms: Date.now() - started })),
  ]);
  const done = await commit;
  const ms = Date.now() - started;
  t.same(set.r.body, GOODBYE);
  t.equal(auth.r.status, 200);
  t.same(Object.keys(auth.r.body.data), ['sessionid']);
  t.same([auth.r.body.status, auth.r.body.message], [201, 'GOODBYE']);
  t.equal(done.status, 200);
  t.same(done.body.data.results.length, 200);
  t.ok(done.body.data.results.every((r: { status: number; command: string }, i: number) => r.status === 201 && r.command === `SET ${user.oid} password = "***"` && i >= 0));
  t.equal(passwordJobs.peak, 2, 'never more than password_hash_jobs = 2 at once');
  t.ok(await new CceClient(d, 'hashed').login('hashed-pw-200'), 'the last password queued is the one that holds');
  t.equal(await fullName(admin, witness), 'during the commit');
  t.comment(`during a COMMIT of 200 password SETs (${ms} ms): SET answered in ${set.ms} ms, AUTH in ${auth.ms} ms`);
});

t.test('Queues: closing twice gives the bytes back once; a committing queue whose session ends is dropped once', async (t) => {
  const { Queues } = await import('../src/dispatch/queues.js');
  const valid = new Set<object>();
  const grant = (userOid: number) => {
    const g = { kind: 'session', userOid, userName: `u${userOid}`, origin: 'local', expires: Infinity, lifetimeMs: 1, sliding: true } as const;
    valid.add(g);
    return g;
  };
  const queues = new Queues({ max_queue: 10, max_queue_bytes: 100, max_queue_bytes_per_user: 150, max_queue_bytes_total: 1000 }, (g) => valid.has(g));
  const write = (text: string) => () => ({ command: {} as never, args: '', text });
  const [a, b] = [grant(1), grant(1)];
  const qa = queues.open(a);
  await queues.add(qa, write('x'.repeat(78)), async () => {}); // 80 bytes with the args' '""'
  queues.detach(qa); // a COMMIT under way: still counted
  t.equal(queues.of(a), undefined);
  const qb = queues.open(b);
  await t.rejects(queues.add(qb, write('x'.repeat(78)), async () => {}), { code: 403 }, '80 + 80 > 150');
  valid.delete(a); // the committing session ends
  await queues.add(qb, write('x'.repeat(78)), async () => {});
  queues.close(qa); // the COMMIT ends after its bytes were dropped
  queues.close(qa);
  const qa2 = queues.open(grant(1));
  await t.rejects(queues.add(qa2, write('x'.repeat(78)), async () => {}), { code: 403 }, "b's 80 still count, once");
  queues.close(qb);
  await queues.add(qa2, write('x'.repeat(78)), async () => {});
  t.throws(() => queues.open(qa2.grant), { code: 402 });
});
