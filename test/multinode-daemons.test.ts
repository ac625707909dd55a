/**
 * Two daemons on one PostgreSQL (`db_url`), driven over HTTP as clients
 * behind a load balancer would: a SET on A is read on B at once; a session
 * from A is valid on B; failed AUTHs spread over both nodes ban on both;
 * SUSPEND on A refuses writes on B; a BEGIN on A is refused on B with the
 * error naming A; concurrent flash requests spend exactly the device's
 * tokens; concurrent tunnel requests never lease a port twice; a COMMIT on A
 * and a conflicting SET on B: one wins whole. Exact replies checked; bounded
 * in count. Skipped, with the reason, without a PostgreSQL (never in CI:
 * TEST_REQUIRE_POSTGRES=1).
 */
import t, { type Test } from 'tap';
import { adminClient, CceClient, startDaemon, ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { testDatabase } from './helpers/postgres.js';
import { failure, GOODBYE } from './helpers/replies.js';
import { FAIL_ONLY, from } from './helpers/gate.js';
import { adminRest, deviceRest, seedCatalog } from './helpers/meeting.js';
import { keygen, onlineDevice, portRange, sshLogin } from './helpers/tunnels.js';
import { spawnDaemon } from './helpers/child-daemon.js';

const URL_A = 'http://node-a.test:9092';
const URL_B = 'http://node-b.test:9092';

/** Node A, then node B (A made the layout and the admin), on one fresh database; undefined when skipped. */
async function twoNodes(t: Test, config: Record<string, string> = {}): Promise<[TestDaemon, TestDaemon] | undefined> {
  const db = await testDatabase(t);
  if (db.skip !== undefined) {
    t.pass('skipped: no PostgreSQL', { skip: db.skip });
    return undefined;
  }
  const a = await startDaemon({ config: { db_url: db.url, node_url: URL_A, ...config } });
  t.teardown(() => a.close());
  const b = await startDaemon({ config: { db_url: db.url, node_url: URL_B, ...config } });
  t.teardown(() => b.close());
  return [a, b];
}

/** Two nodes, an admin session on each. */
async function adminOnEach(t: Test): Promise<{ onA: CceClient; onB: CceClient } | undefined> {
  const nodes = await twoNodes(t);
  return nodes && { onA: await adminClient(nodes[0]), onB: await adminClient(nodes[1]) };
}

/** Two nodes, and one admin session used on both (AUTH on A). */
async function oneSessionOnBoth(t: Test): Promise<{ onA: CceClient; onB: CceClient } | undefined> {
  const nodes = await twoNodes(t);
  if (!nodes) return undefined;
  const onA = await adminClient(nodes[0]);
  return { onA, onB: Object.assign(new CceClient(nodes[1]), { sessionid: onA.sessionid }) };
}

t.test("a session from A is valid on B, which reads A's writes", async (t) => {
  const both = await oneSessionOnBoth(t);
  if (!both) return;
  const { onA, onB } = both;
  const created = await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'ann', fullName: 'Ann' } });
  const oid = String(created.body.data.oid);
  const got = await onB.cmd({ cmd: 'GET', oid, format: 'json' });
  t.equal(got.status, 200, "A's session on B");
  t.match(got.body, { status: 201, data: { DATA: { OID: oid, name: 'ann', fullName: 'Ann' } } }, "A's CREATE, read on B");
});

// Each request first learns of what other nodes acknowledged before it came (Store.catchUp, src/http/server.ts):
// B never answers from its caches a value older than A's acknowledged SET, and A drops a session B ended.
t.test('a SET on A is read on B at once; a session ended on B is ended on A at once', async (t) => {
  const both = await oneSessionOnBoth(t);
  if (!both) return;
  const { onA, onB } = both;
  const oid = String((await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'ann', fullName: 'Ann' } })).body.data.oid);
  for (let i = 0; i < 10; i++) {
    t.strictSame((await onA.cmd({ cmd: 'SET', oid, args: { fullName: `Ann ${i}` } })).body, GOODBYE);
    t.equal((await onB.cmd({ cmd: 'GET', oid, format: 'json' })).body.data.DATA.fullName, `Ann ${i}`, `SET ${i} on A, read on B at once`);
  }
  t.strictSame((await onB.cmd('ENDKEY')).body, GOODBYE, 'the session ends on B');
  t.strictSame((await onA.cmd({ cmd: 'GET', oid })).body, failure(), 'and is no longer valid on A');
});

t.test("the change log is one: EVENT on B reads A's writes, in commit order, from the position B last saw", async (t) => {
  const both = await adminOnEach(t);
  if (!both) return;
  const { onA, onB } = both;
  const since = String((await onB.cmd({ cmd: 'EVENT' })).body.data.last);
  const oid = String((await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'eve' } })).body.data.oid);
  t.strictSame((await onA.cmd({ cmd: 'SET', oid, args: { fullName: 'Eve' } })).body, GOODBYE);
  const page = await onB.cmd({ cmd: 'EVENT', since });
  t.equal(page.body.status, 201, page.text);
  const events = page.body.data.events as { id: string; oid: string; class: string; properties: string[]; created: boolean }[];
  t.strictSame(
    events.map((e) => [e.oid, e.class, e.created, e.properties.includes('fullName')]),
    [
      [oid, 'User', true, false],
      [oid, 'User', false, true],
    ],
    "A's CREATE then its SET",
  );
  t.ok(Number(events[0]!.id) < Number(events[1]!.id) && page.body.data.last === events[1]!.id, 'ids in commit order; last is the SET');
  t.strictSame((await onA.cmd({ cmd: 'EVENT', since: page.body.data.last })).body.data.events, [], 'and A, asked from there, has nothing newer');
});

t.test("a device key replaced on A is refused at once by B's SSH server, the new one let in", async (t) => {
  const nodes = await twoNodes(t, { ssh_listen_address: '127.0.0.1:0' });
  if (!nodes) return;
  const [a, b] = nodes;
  await seedCatalog(a);
  const admin = await adminRest(a);
  const { key } = await onlineDevice(admin, a);
  const dir = t.testdir({});
  const [k1, k2] = [keygen(dir, 'one'), keygen(dir, 'two')];
  t.equal((await admin.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub })).status, 200);
  t.ok(await sshLogin(b, key, k1.file), 'B lets the device in with its key (and has read it)');
  t.equal((await admin.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k2.pub })).status, 200, 'A replaces it: the old one is revoked');
  t.notOk(await sshLogin(b, key, k1.file), 'B refuses the revoked key at once');
  t.ok(await sshLogin(b, key, k2.file), 'and lets the new one in');
});

t.test('five failed AUTHs spread over both nodes ban the address on both', async (t) => {
  const nodes = await twoNodes(t, { api_auth_fails: '5', api_ban_time: '60', local_addresses: '127.0.0.1, ::1, 127.0.0.9' });
  if (!nodes) return;
  const [a, b] = nodes;
  const ip = '127.0.0.9';
  const auth = (d: TestDaemon, password: string) => from(d, ip, { cmd: 'AUTH', user: 'admin', password });
  for (const [i, d] of [a, b, a, b, a].entries()) {
    const r = await auth(d, 'wrong-password');
    t.strictSame([r.status, r.body], [401, FAIL_ONLY], `failure ${i + 1} on ${d === a ? 'A' : 'B'}`);
  }
  for (const [name, d] of [['A', a], ['B', b]] as const) {
    let r = await auth(d, ADMIN_PASSWORD);
    // The node that did not start the ban hears of it over a loopback notification: bounded wait.
    for (let i = 0; i < 100 && r.status !== 429; i++) {
      await new Promise((res) => setTimeout(res, 20));
      r = await auth(d, ADMIN_PASSWORD);
    }
    t.equal(r.status, 429, `banned on ${name}, the right password too`);
    t.match(r.body, { statusCode: 429, error: 'Too Many Requests', message: /^too many failed authentication attempts from this address; retry in \d+ s$/ });
  }
  t.equal((await from(b, '127.0.0.1', { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD })).status, 200, 'another address is not banned');
});

t.test('SUSPEND on A: a write on B is refused with 309 once A acknowledged; RESUME on A: B writes again', async (t) => {
  const both = await adminOnEach(t);
  if (!both) return;
  const { onA, onB } = both;
  const oid = String((await onB.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'sue' } })).body.data.oid);
  t.strictSame((await onA.cmd('SUSPEND maintenance')).body, GOODBYE);
  t.strictSame((await onB.cmd({ cmd: 'SET', oid, args: { fullName: 'during' } })).body, failure([309, 'SUSPENDED "maintenance"']), 'refused on B at once');
  t.strictSame((await onA.cmd('RESUME')).body, GOODBYE);
  t.strictSame((await onB.cmd({ cmd: 'SET', oid, args: { fullName: 'after' } })).body, GOODBYE, 'B writes again');
  t.equal((await onA.cmd({ cmd: 'GET', oid, format: 'json' })).body.data.DATA.fullName, 'after');
});

t.test("a session's BEGIN is held by its node: B refuses its writes and COMMIT naming A, never runs them", async (t) => {
  const both = await oneSessionOnBoth(t);
  if (!both) return;
  const { onA, onB } = both;
  const oid = String((await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'tess', fullName: 'Tess' } })).body.data.oid);
  t.strictSame((await onA.cmd('BEGIN')).body, { status: 201, message: 'BEGIN OK' });
  t.strictSame((await onA.cmd({ cmd: 'SET', oid, args: { fullName: 'queued on A' } })).body, { status: 100, message: 'QUEUED' });
  const held = failure([402, `BAD COMMAND this session's transaction is open on node ${URL_A}: send its writes, COMMIT or ROLLBACK there (or ROLLBACK here to end it)`]);
  t.strictSame((await onB.cmd({ cmd: 'SET', oid, args: { fullName: 'sent to B' } })).body, held, 'a write on B');
  t.strictSame((await onB.cmd('COMMIT')).body, held, 'a COMMIT on B');
  t.strictSame((await onB.cmd('BEGIN')).body, held, 'a BEGIN on B');
  t.equal((await onB.cmd({ cmd: 'GET', oid, format: 'json' })).body.data.DATA.fullName, 'Tess', 'nothing of it ran');
  const committed = await onA.cmd('COMMIT');
  t.equal(committed.body.status, 201, committed.text);
  t.equal((await onA.cmd({ cmd: 'GET', oid, format: 'json' })).body.data.DATA.fullName, 'queued on A', 'the COMMIT on A applied it');
  t.strictSame((await onB.cmd({ cmd: 'SET', oid, args: { fullName: 'direct on B' } })).body, GOODBYE, 'once it ended, B takes the writes again');
});

t.test('10 concurrent flash requests spread over both nodes on a device with 3 tokens: exactly 3 succeed', async (t) => {
  const nodes = await twoNodes(t);
  if (!nodes) return;
  const [a, b] = nodes;
  await seedCatalog(a);
  const { key, token } = await onlineDevice(await adminRest(a), a, 3);
  const devices = [deviceRest(a, token), deviceRest(b, token)];
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => devices[i % 2]!.post(`/api/devices/${key}/flash-request`)));
  const won = replies.filter((r) => r.status === 200);
  const lost = replies.filter((r) => r.status !== 200);
  t.equal(won.length, 3, JSON.stringify(replies.map((r) => r.status)));
  t.strictSame(won.map((r) => r.body.tokens_left).sort(), [0, 1, 2], 'each token spent once');
  t.strictSame(
    lost.map((r) => [r.status, r.body]),
    Array.from({ length: 7 }, () => [403, { error: 'No tokens left' }]),
    'the other seven refused: no tokens left',
  );
});

t.test('20 concurrent tunnel requests spread over both nodes: no port leased twice, one lease per device', async (t) => {
  const range = portRange();
  const { min, ...ports } = range;
  const nodes = await twoNodes(t, ports);
  if (!nodes) return;
  const [a, b] = nodes;
  await seedCatalog(a);
  const admin = await adminRest(a);
  const devices = [];
  for (let i = 0; i < 20; i++) devices.push(await onlineDevice(admin, a));
  // 409 TRANSACTION FAILED is the documented "nothing applied, try again" of a write that met concurrent writes of
  // other nodes more often than the store retries. Each node's requests are one batch at a time (group commit), so
  // only the two nodes' batches meet, and the store's retries settle them: none may reach the client (counted, and
  // tried again so that the other assertions still say what they check).
  let conflicts = 0;
  const ask = async (i: number, key: string, token: string) => {
    for (;;) {
      const r = await deviceRest(i % 2 === 0 ? a : b, token).post(`/api/devices/${key}/service`, { service: 'ssh' });
      if (r.status !== 409) return r;
      t.match(r.body, { error: /^TRANSACTION FAILED the write conflicted with concurrent writes \d+ times and was not applied; try again$/ });
      if (++conflicts > 400) throw new Error('no progress');
    }
  };
  const replies = await Promise.all(devices.map(({ key, token }, i) => ask(i, key, token)));
  t.strictSame(new Set(replies.map((r) => r.status)), new Set([202]), 'all reserved');
  const leased = replies.map((r) => r.body.port as number);
  t.equal(new Set(leased).size, 20, 'twenty different ports');
  t.ok(leased.every((p) => p >= min && p < min + 20), 'the lowest of the range');
  t.strictSame(
    replies.map((r) => r.body.node_url),
    devices.map((_, i) => (i % 2 === 0 ? URL_A : URL_B)),
    'each lease held by the node that reserved it',
  );

  const one = devices[0]!;
  const same = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(i, one.key, one.token)));
  t.strictSame(new Set(same.map((r) => `${r.status} ${r.body.port} ${r.body.node_url}`)), new Set([`202 ${leased[0]} ${URL_A}`]), 'one winner: the same lease, held by A, whichever node was asked');
  t.equal(conflicts, 0, 'no request answered 409: the store settled every conflict between the nodes');
  t.equal((await admin.get('/api/tunnels')).body.tunnels.length, 20);
});

t.test('a COMMIT on A and a conflicting SET on B: one wins whole', async (t) => {
  const both = await adminOnEach(t);
  if (!both) return;
  const { onA, onB } = both;
  for (let round = 0; round < 5; round++) {
    const name = `contested${round}`;
    const witness = String((await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name: `witness${round}`, fullName: 'before' } })).body.data.oid);
    const other = String((await onB.cmd({ cmd: 'CREATE', class: 'User', args: { name: `other${round}` } })).body.data.oid);
    await onA.cmd('BEGIN');
    await onA.cmd({ cmd: 'SET', oid: witness, args: { fullName: 'by the COMMIT' } });
    await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name } });
    const [commit, set] = await Promise.all([onA.cmd('COMMIT'), onB.cmd({ cmd: 'SET', oid: other, args: { name } })]);
    const holders = ((await onB.cmd(`FIND User name = "${name}"`)).body.data.oidlist as unknown[]).map(String);
    const fullName = (await onB.cmd({ cmd: 'GET', oid: witness, format: 'json' })).body.data.DATA.fullName;
    t.equal(holders.length, 1, `${name}: one holder`);
    if (set.body.status === 201) {
      t.strictSame(holders, [other], `${name}: B's SET won`);
      t.equal(commit.body.status, 409, `${name}: the COMMIT failed (${commit.text})`);
      t.equal(fullName, 'before', `${name}: nothing of the COMMIT applied`);
    } else {
      t.strictSame(set.body, failure([302, `BAD DATA ${other} name "[[base-cce.notUnique]]"`]), `${name}: B's SET refused`);
      t.equal(commit.body.status, 201, `${name}: the COMMIT won (${commit.text})`);
      t.equal(fullName, 'by the COMMIT', `${name}: all of it applied`);
    }
  }
});

t.test('kill -9 of one node mid-stream: every acknowledged write is there, the other node keeps serving', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const b = await startDaemon({ config: { db_url: db.url, node_url: URL_B } });
  t.teardown(() => b.close());
  const a = await spawnDaemon({ CCED_DB_URL: db.url, CCED_NODE_URL: URL_A });
  t.teardown(() => a.close());
  const onA = await adminClient({ url: a.url } as TestDaemon);
  const onB = await adminClient(b);
  // Four writers on A, each creating users one after the other, until A is killed under them.
  const acknowledged = new Map<string, string>();
  let refused = 0;
  const writer = async (w: number) => {
    for (let i = 0; i < 200; i++) {
      const name = `stream${w}x${i}`;
      const r = await onA.cmd({ cmd: 'CREATE', class: 'User', args: { name } }).catch(() => undefined);
      if (r === undefined || r.body?.status !== 201) return void refused++;
      acknowledged.set(name, String(r.body.data.oid));
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  while (acknowledged.size < 40) await new Promise((r) => setTimeout(r, 5));
  await a.kill();
  await Promise.all(writers);
  t.ok(acknowledged.size >= 40 && acknowledged.size < 800, `${acknowledged.size} creations acknowledged before the kill`);
  t.equal(refused, 4, 'each writer saw its connection end');
  for (const [name, oid] of acknowledged) {
    const found = await onB.cmd(`FIND User name = "${name}"`);
    if (found.body.data.oidlist.map(String).join() !== oid) t.fail(`${name}: acknowledged as ${oid}, B finds ${JSON.stringify(found.body.data.oidlist)}`);
  }
  t.pass(`every one of the ${acknowledged.size} acknowledged creations is on B`);
  const after = await onB.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'after-the-kill' } });
  t.equal(after.body.status, 201, 'B keeps serving writes');
});
