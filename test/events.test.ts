/**
 * The change log and its readers, over HTTP against a running daemon: what a
 * /v2/events subscriber and EVENT see of SET, CREATE, DESTROY, COMMIT,
 * heartbeats and a Meeting PUT; nothing of a rolled-back COMMIT; the read-ACL
 * filter; resume with Last-Event-ID; reset past the retention.
 */
import t from 'tap';
import { adminClient, startDaemon, type CceClient, type TestDaemon } from './helpers/daemon.js';
import { makeUser } from './helpers/replies.js';
import { SseClient, type Frame } from './helpers/sse.js';
import { catalogWorld, deviceRest, newDevice } from './helpers/meeting.js';

/** The stream of a logged-in client, by POST (envelope credentials). */
const stream = (d: TestDaemon, c: CceClient, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  SseClient.open(d.url, { body: { user: c.user, sessionid: c.sessionid, ...extra }, headers });

/** The data of change frames without their time (which the test cannot know). */
const changes = (frames: Frame[]) =>
  frames.map((f) => {
    const { time, ...rest } = f.data;
    return { id: f.id, event: f.event, ...rest, timeIsIso: typeof time === 'string' && new Date(time).toISOString() === time };
  });

const ev = (id: string, oid: string, cls: string, properties: string[], more: Partial<{ namespace: string; created: boolean; destroyed: boolean }> = {}) => ({
  id,
  event: 'change',
  oid,
  class: cls,
  namespace: more.namespace ?? '',
  properties,
  created: more.created ?? false,
  destroyed: more.destroyed ?? false,
  timeIsIso: true,
});

/** The newest change id, through EVENT without `since`. */
async function head(c: CceClient): Promise<number> {
  const r = await c.cmd({ cmd: 'EVENT' });
  return Number(r.body.data.last);
}

t.test('a subscriber sees SET, CREATE, DESTROY and a COMMIT as one batch, with ids from the log', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const s = await stream(d, admin);
  t.teardown(() => s.close());
  t.equal(s.status, 200);
  t.match(String(s.headers['content-type']), /^text\/event-stream/);
  const start = await head(admin);

  const created = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'alice', fullName: 'Alice' } });
  const oid = created.body.data.oid as string;
  t.equal((await admin.cmd(`SET ${oid} fullName="Alice A" description="x"`)).body.status, 201);
  t.equal((await admin.cmd({ cmd: 'BEGIN' })).body.status, 201);
  await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'bob' } });
  await admin.cmd({ cmd: 'SET', oid: '$0', args: { fullName: 'Bob' } });
  await admin.cmd({ cmd: 'SET', oid, args: { description: 'y' } });
  const commit = await admin.cmd({ cmd: 'COMMIT' });
  t.equal(commit.body.status, 201, commit.text);
  const bob = String(Number(oid) + 1);
  t.equal((await admin.cmd(`DESTROY ${bob}`)).body.status, 201);

  const frames = await s.waitFor(5);
  const id = (n: number) => String(start + n);
  t.strictSame(changes(frames), [
    ev(id(1), oid, 'User', ['name', 'fullName'], { created: true }),
    ev(id(2), oid, 'User', ['fullName', 'description']),
    // The COMMIT: one change per object, its writes merged (bob's CREATE and SET are one), in one transaction.
    ev(id(3), bob, 'User', ['name', 'fullName'], { created: true }),
    ev(id(4), oid, 'User', ['description']),
    ev(id(5), bob, 'User', [], { destroyed: true }),
  ]);
  t.equal(frames[2]!.data.time, frames[3]!.data.time, 'the COMMIT is one batch: one commit time');
  t.equal(await head(admin), start + 5);
});

t.test('a rolled-back COMMIT, a refused SET and a refused CREATE record nothing', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const s = await stream(d, admin);
  t.teardown(() => s.close());
  const start = await head(admin);
  await admin.cmd({ cmd: 'BEGIN' });
  await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'carol' } });
  await admin.cmd({ cmd: 'SET', oid: '1', args: { nosuchproperty: '1' } });
  const commit = await admin.cmd({ cmd: 'COMMIT' });
  t.equal(commit.body.status, 409);
  t.equal(commit.body.data.rolled_back, true);
  t.equal((await admin.cmd('SET 1 nosuch="1"')).body.status, 401);
  t.equal((await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'admin' } })).body.status, 401, 'duplicate name');
  // Then one real write: it is the next change, right after the start.
  await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'dave' } });
  const frames = await s.waitFor(1);
  t.equal(frames[0]!.id, String(start + 1));
  t.strictSame(frames[0]!.data.properties, ['name']);
  const r = await admin.cmd({ cmd: 'EVENT', since: String(start) });
  t.equal(r.body.data.events.length, 1, 'EVENT sees only the committed one');
  t.equal(s.frames.length, 1);
});

t.test('a non-admin sees only what its read ACLs allow: never a secret property, nor its own hidden ones of others', async (t) => {
  const { d, a } = await catalogWorld(t);
  const admin = await adminClient(d);
  const { client: erin, oid: erinOid } = await makeUser(admin, 'erin', 'erin-password-1');
  const { oid: frankOid } = await makeUser(admin, 'frank', 'frank-password-1');
  const device = await newDevice(a);
  const deviceOid = (await admin.cmd(`FIND Device device_key="${device.key}"`)).body.data.oidlist[0] as string;
  const s = await stream(d, erin);
  t.teardown(() => s.close());
  const start = await head(erin);

  // A secret property alone: nothing at all for erin.
  t.equal((await admin.cmd({ cmd: 'SET', oid: deviceOid, args: { ap_password: 'hunter22' } })).body.status, 201);
  // A secret and a plain one: only the plain one's name.
  t.equal((await admin.cmd({ cmd: 'SET', oid: deviceOid, args: { http_pw_low: 'secret99', device_name: 'lobby' } })).body.status, 201);
  // capabilities is readable by its owner only (ruleSelf): frank's change is hidden from erin, hers is not.
  t.equal((await admin.cmd({ cmd: 'SET', oid: frankOid, args: { capabilities: '&adminUser&' } })).body.status, 201);
  t.equal((await admin.cmd({ cmd: 'SET', oid: erinOid, args: { capabilities: '&x&' } })).body.status, 201);
  // A password (write-only): its name is never shown to a non-admin.
  t.equal((await admin.cmd({ cmd: 'SET', oid: frankOid, args: { password: 'another-password-2' } })).body.status, 201);
  await admin.cmd({ cmd: 'SET', oid: frankOid, args: { fullName: 'Frank' } });

  const frames = await s.waitFor(3);
  t.strictSame(
    changes(frames).map(({ id, ...rest }) => ({ ...rest, id: Number(id) - start })),
    [
      { ...ev('', deviceOid, 'Device', ['device_name']), id: 2 },
      { ...ev('', erinOid, 'User', ['capabilities']), id: 4 },
      { ...ev('', frankOid, 'User', ['fullName']), id: 6 },
    ],
  );
  const polled = await erin.cmd({ cmd: 'EVENT', since: String(start) });
  t.strictSame(polled.body.data.events.map((e: any) => [e.oid, e.properties]), [
    [deviceOid, ['device_name']],
    [erinOid, ['capabilities']],
    [frankOid, ['fullName']],
  ]);
  t.equal(polled.body.data.last, String(start + 6), 'last is how far the log was read, hidden changes included');
  const all = await admin.cmd({ cmd: 'EVENT', since: String(start) });
  t.strictSame(all.body.data.events[0].properties, ['ap_password'], 'an admin sees secret names');
  t.strictSame(all.body.data.events[4].properties, ['password']);
  for (const f of s.frames) t.notMatch(JSON.stringify(f), /hunter22|secret99|ap_password|http_pw|password/);
});

t.test('heartbeats and a Meeting PUT are changes; beats are coalesced per device', async (t) => {
  const { d, a } = await catalogWorld(t);
  const admin = await adminClient(d);
  const device = await newDevice(a);
  const deviceOid = (await admin.cmd(`FIND Device device_key="${device.key}"`)).body.data.oidlist[0] as string;
  const s = await stream(d, admin, { class: 'Device' });
  t.teardown(() => s.close());
  const dev = deviceRest(d, device.token);
  for (let i = 0; i < 5; i++) t.equal((await dev.post(`/api/devices/${device.key}/online`)).status, 200);
  t.strictSame((await a.put(`/api/devices/${device.key}`, { services: ['ssh', 'http'] })).body, { success: true });
  const frames = await s.waitFor(2);
  t.strictSame(
    frames.map((f) => [f.data.oid, f.data.properties]),
    [
      [deviceOid, ['last_seen', 'ip_address']],
      [deviceOid, ['services']],
    ],
    'five beats within event_heartbeat_interval: one change; then the PUT',
  );
  // A beat whose address moved is news at once; its last_seen is not (the interval has not passed).
  t.equal((await dev.post(`/api/devices/${device.key}/online`, { services: ['ssh'] })).status, 200);
  const more = await s.waitFor(3, 3000);
  t.equal(more.length, 3);
  t.strictSame(more[2]!.data.properties, ['services']);
});

t.test('EVENT: from now, since, limit, long poll, CSCP form, bad arguments', async (t) => {
  const d = await startDaemon({ config: { event_max_wait: '5' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const now = await admin.cmd({ cmd: 'EVENT' });
  t.strictSame(now.body, { status: 201, message: 'OK', data: { events: [], last: now.body.data.last } });
  const start = Number(now.body.data.last);
  const me = (await admin.cmd('WHOAMI')).body.data.oid as string;
  for (let i = 0; i < 3; i++) t.equal((await admin.cmd(`SET ${me} description="n${i}"`)).body.status, 201);
  const two = await admin.cmd({ cmd: 'EVENT', since: start, limit: 2 });
  t.strictSame(two.body.data.events.map((e: any) => e.id), [String(start + 1), String(start + 2)]);
  t.equal(two.body.data.last, String(start + 2));
  const line = await admin.cmd(`EVENT ${start + 2}`);
  t.strictSame(line.body.data.events.map((e: any) => e.id), [String(start + 3)]);
  t.equal(line.body.data.last, String(start + 3));

  // Long poll: answered when a write commits, before the wait is up.
  const waiting = admin.cmd({ cmd: 'EVENT', since: String(start + 3), wait: 5 });
  await new Promise((r) => setTimeout(r, 100));
  await admin.cmd(`SET ${me} description="late"`);
  const woke = await waiting;
  t.strictSame(woke.body.data.events.map((e: any) => e.properties), [['description']]);
  // Nothing new: an empty list once the (short) wait is over, and the same last.
  const idle = await admin.cmd({ cmd: 'EVENT', since: woke.body.data.last, wait: '0.2' });
  t.strictSame(idle.body.data, { events: [], last: woke.body.data.last });

  for (const bad of [{ since: 'x' }, { since: '-1' }, { limit: 0 }, { limit: 10_001 }, { wait: -1 }, { wait: 'soon' }]) {
    const r = await admin.cmd({ cmd: 'EVENT', ...bad });
    t.equal(r.status, 400, JSON.stringify(bad));
    t.equal(r.body.data.errors[0].code, 403);
  }
  t.equal((await admin.cmd('EVENT 1 2')).body.data.errors[0].code, 403);
  const anonymous = await admin.raw({ cmd: 'EVENT' });
  t.equal(anonymous.status, 401);
  // A position the log never had (another database): reset.
  const ahead = await admin.cmd({ cmd: 'EVENT', since: String(start + 1000) });
  t.strictSame(ahead.body.data, { events: [], last: String(start + 4), reset: true });
});
