/**
 * /v2/events as a client meets it: credentials (envelope body, headers, LOGIN
 * token), refusals before any event (query-string credentials, none, the gate,
 * a banned address, too many streams), filters, Last-Event-ID resume after
 * 1,000 missed changes, reset past the retention, an ended session ending its
 * stream, 200 concurrent streams, and a reader that stops reading.
 */
import t from 'tap';
import { request } from 'node:http';
import { adminClient, http, onPostgres, startDaemon, type CceClient, type TestDaemon } from './helpers/daemon.js';
import { makeUser } from './helpers/replies.js';
import { accessSecrets, login as loginToken } from './helpers/gate.js';
import { SseClient } from './helpers/sse.js';
import { rowsOf } from './helpers/store-rows.js';

const FAIL_401 = { status: 401, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }] } };

const sessionHeaders = (c: CceClient) => ({ 'x-cce-user': c.user, 'x-cce-session': c.sessionid! });

/** The status of a GET /v2/events from `ip` (a stream is closed as soon as its status is known). */
function streamStatus(d: TestDaemon, ip: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${d.url}/v2/events`, { localAddress: ip, headers }, (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

async function head(c: CceClient): Promise<number> {
  return Number((await c.cmd({ cmd: 'EVENT' })).body.data.last);
}

/** `n` Users created in one COMMIT: n changes, one transaction. */
async function createUsers(c: CceClient, prefix: string, n: number, extra: Record<string, string> = {}): Promise<void> {
  if ((await c.cmd({ cmd: 'BEGIN' })).body.status !== 201) throw new Error('BEGIN failed');
  for (let i = 0; i < n; i++) await c.cmd({ cmd: 'CREATE', class: 'User', args: { name: `${prefix}${i}`, ...extra } });
  const r = await c.cmd({ cmd: 'COMMIT' });
  if (r.body.status !== 201) throw new Error(`COMMIT: ${r.text.slice(0, 300)}`);
}

t.test('credentials and refusals', async (t) => {
  const d = await startDaemon({
    config: { api_access: '127.0.0.2', local_addresses: '127.0.0.1, ::1, 127.0.0.4', api_auth_fails: '1', api_auth_fails_per_address: '2', api_ban_time: '30', event_streams_per_ip: '2' },
  });
  t.teardown(() => d.close());
  const admin = await adminClient(d);

  t.test('GET with X-CCE-User and X-CCE-Session, filters as query parameters', async (t) => {
    const s = await SseClient.open(d.url, { headers: sessionHeaders(admin), query: 'class=User' });
    t.teardown(() => s.close());
    t.equal(s.status, 200);
    t.equal(s.headers['cache-control'], 'no-cache');
    await admin.cmd('CREATE Device device_key="KEY0001" token_code="0123456789abcdef"');
    await admin.cmd('CREATE User name="ursula"');
    const [f] = await s.waitFor(1);
    t.equal(f!.event, 'change');
    t.equal(f!.data.class, 'User', 'the Device change was filtered out');
  });

  t.test('credentials in a query string are refused before anything else', async (t) => {
    for (const q of [`sessionid=${admin.sessionid}&user=admin`, 'token=abc', 'password=x']) {
      const s = await SseClient.open(d.url, { query: q, headers: sessionHeaders(admin) });
      await s.waitEnd();
      t.equal(s.status, 400, q.split('=')[0]);
      t.match(s.text, /credentials in a query string are refused/);
    }
    t.notOk(d.logs.some((l) => l.includes(admin.sessionid!)), 'the session id is in no log line');
  });

  t.test('no or wrong credentials: the /v2/cce failure envelope with 401, no event', async (t) => {
    for (const [what, opts] of [
      ['none', {}],
      ['POST without credentials', { body: {} }],
      ['a session with the wrong user', { body: { user: 'nobody', sessionid: admin.sessionid } }],
      ['a session sent as a token', { body: { token: admin.sessionid } }],
      ['headers with a made-up session', { headers: { 'x-cce-user': 'admin', 'x-cce-session': 'x'.repeat(64) } }],
    ] as const) {
      const s = await SseClient.open(d.url, opts);
      await s.waitEnd();
      t.equal(s.status, 401, what);
      t.strictSame(JSON.parse(s.text), FAIL_401, what);
      t.equal(s.frames.length, 0);
    }
  });

  t.test('bad filters and ids: 403 BAD PARAMETERS (HTTP 400); an unknown class: 301 (HTTP 404)', async (t) => {
    const bad = async (opts: Parameters<typeof SseClient.open>[1]) => {
      const s = await SseClient.open(d.url, opts);
      await s.waitEnd();
      return { status: s.status, body: JSON.parse(s.text) };
    };
    t.equal((await bad({ headers: sessionHeaders(admin), query: 'oid=abc' })).status, 400);
    t.equal((await bad({ headers: { ...sessionHeaders(admin), 'last-event-id': 'yesterday' } })).status, 400);
    t.equal((await bad({ body: { user: 'admin', sessionid: admin.sessionid, since: -4 } })).status, 400);
    const unknown = await bad({ body: { user: 'admin', sessionid: admin.sessionid, class: 'Spaceship' } });
    t.equal(unknown.status, 404);
    t.equal(unknown.body.data.errors[0].message, 'UNKNOWN CLASS Spaceship');
    const s = await SseClient.open(d.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: undefined });
    await s.waitEnd();
    t.equal(s.status, 400, 'an empty POST body is malformed JSON');
  });

  t.test('the gate: an address neither local nor whitelisted gets 403', async (t) => {
    const r = await http(`${d.url}/v2/events`, undefined, { localAddress: '127.0.0.3', headers: sessionHeaders(admin) });
    t.equal(r.status, 403);
  });

  t.test('a LOGIN token with its client secret, from its whitelisted address', async (t) => {
    const token = await loginToken(d, '127.0.0.2');
    const secret = accessSecrets(d).get('127.0.0.2')!;
    t.equal(await streamStatus(d, '127.0.0.2', { 'x-cce-token': token, 'x-client-secret': secret }), 200);
    const wrong = await http(`${d.url}/v2/events`, undefined, { localAddress: '127.0.0.2', headers: { 'x-cce-token': token, 'x-client-secret': 'wrong-secret-value' } });
    t.equal(wrong.status, 401);
    t.equal(wrong.text, 'Unauthorized: invalid client secret');
  });

  t.test('a banned address: 429 without credentials, its established session still streams', async (t) => {
    const local4 = await new (admin.constructor as typeof CceClient)(d, 'admin', { localAddress: '127.0.0.4' }).login();
    for (const user of ['x1', 'x2', 'x3']) await http(`${d.url}/v2/cce`, { cmd: 'AUTH', user, password: 'wrong' }, { localAddress: '127.0.0.4' });
    const anonymous = await http(`${d.url}/v2/events`, undefined, { localAddress: '127.0.0.4' });
    t.equal(anonymous.status, 429);
    t.equal(await streamStatus(d, '127.0.0.4', sessionHeaders(local4)), 200);
  });

  t.test('at most event_streams_per_ip streams per address', async (t) => {
    const a = await SseClient.open(d.url, { headers: sessionHeaders(admin) });
    const b = await SseClient.open(d.url, { headers: sessionHeaders(admin) });
    const c = await SseClient.open(d.url, { headers: sessionHeaders(admin) });
    await c.waitEnd();
    t.equal(c.status, 429);
    t.match(c.text, /at most 2 event streams per address/);
    a.close();
    b.close();
  });

  t.test('ENDKEY ends the session: its stream closes at the next change', async (t) => {
    const { client: gina } = await makeUser(admin, 'gina', 'gina-password-1');
    const s = await SseClient.open(d.url, { headers: sessionHeaders(gina) });
    t.equal(s.status, 200);
    t.equal((await gina.cmd('ENDKEY')).body.status, 201);
    await admin.cmd('CREATE User name="after_endkey"');
    await s.waitEnd();
    t.ok(s.ended);
    t.equal(s.frames.length, 0, 'nothing after the session ended');
  });
});

t.test('Last-Event-ID after 1,000 missed changes delivers exactly those, in order, once; then live ones', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const first = await SseClient.open(d.url, { headers: sessionHeaders(admin) });
  await admin.cmd('CREATE User name="before"');
  const [seen] = await first.waitFor(1);
  first.close();
  const last = Number(seen!.id);
  // 1,000 changes while away: 600 in one COMMIT, 400 written one by one (concurrently, so in several batches).
  await createUsers(admin, 'batch', 600);
  const me = (await admin.cmd('WHOAMI')).body.data.oid as string;
  const users = (await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { name: '^batch' } })).body.data.oidlist as string[];
  // 50 at a time (each its own connection): concurrent, so several group commits, within the per-address cap.
  for (let i = 0; i < 400; i += 50) {
    const results = await Promise.all(users.slice(i, i + 50).map((oid) => admin.cmd({ cmd: 'SET', oid, args: { fullName: 'F' } })));
    t.ok(results.every((r) => r.body.status === 201));
  }
  // On PostgreSQL a transaction that ran again (a serialization failure among the concurrent SETs) leaves the
  // change ids its first run took unused: the ids are in commit order, not contiguous.
  const missedUpTo = await head(admin);
  if (onPostgres) t.ok(missedUpTo >= last + 1000, 'on PostgreSQL: at least 1000 ids further, gaps allowed');
  else t.equal(missedUpTo, last + 1000);

  const again = await SseClient.open(d.url, { headers: { ...sessionHeaders(admin), 'last-event-id': String(last) } });
  t.teardown(() => again.close());
  const frames = await again.waitFor(1000);
  t.equal(frames.length, 1000);
  const ids = frames.map((f) => Number(f.id));
  if (onPostgres) {
    t.ok(ids.every((id, i) => id > (i === 0 ? last : ids[i - 1]!)), 'the missed ids, in order, each once');
    t.equal(ids.at(-1), missedUpTo, 'up to the newest');
  } else {
    t.strictSame(ids, Array.from({ length: 1000 }, (_, i) => last + 1 + i), 'exactly the missed ids, in order');
  }
  t.ok(frames.every((f) => f.event === 'change' && f.data.id === f.id));
  await admin.cmd({ cmd: 'SET', oid: me, args: { description: 'live' } });
  const live = await again.waitFor(1001);
  t.equal(live[1000]!.id, String(onPostgres ? await head(admin) : last + 1001));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(again.frames.length, 1001, 'nothing twice');
  // The same through EVENT, in pages.
  const page = await admin.cmd({ cmd: 'EVENT', since: String(last), limit: 1000 });
  t.strictSame(page.body.data.events.map((e: any) => e.id), frames.map((f) => f.id));
});

t.test('a client further behind than the retention gets reset, then what follows', async (t) => {
  const d = await startDaemon({ config: { event_retention: '10', event_retention_age: '0' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const start = await head(admin);
  await createUsers(admin, 'r', 30);
  await d.app.services.changes.pruneNow();
  const newest = await head(admin);
  t.equal(newest, start + 30);
  t.ok(Number(((await rowsOf(d, 'SELECT count(*) AS n FROM changes'))[0] as { n: number | string }).n) <= 10, 'at most event_retention kept');

  const polled = await admin.cmd({ cmd: 'EVENT', since: String(start) });
  t.strictSame(polled.body.data, { events: [], last: String(newest), reset: true });
  const inRange = await admin.cmd({ cmd: 'EVENT', since: String(newest - 5) });
  t.equal(inRange.body.data.events.length, 5, 'a position still kept is served');

  const s = await SseClient.open(d.url, { headers: { ...sessionHeaders(admin), 'last-event-id': String(start) } });
  t.teardown(() => s.close());
  const [reset] = await s.waitFor(1);
  t.strictSame(reset, { id: String(newest), event: 'reset', data: { last: String(newest) } });
  await admin.cmd('CREATE User name="after_reset"');
  const [, next] = await s.waitFor(2);
  t.equal(next!.id, String(newest + 1));
});

t.test('200 concurrent streams each get every change of a COMMIT, exactly', async (t) => {
  const d = await startDaemon({ config: { event_streams_per_ip: '250', max_connections_per_ip: '400' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const streams = await Promise.all(Array.from({ length: 200 }, () => SseClient.open(d.url, { headers: sessionHeaders(admin) })));
  t.teardown(() => streams.forEach((s) => s.close()));
  t.ok(streams.every((s) => s.status === 200));
  const start = await head(admin);
  await createUsers(admin, 'c', 100);
  const got = await Promise.all(streams.map((s) => s.waitFor(100)));
  const want = Array.from({ length: 100 }, (_, i) => String(start + 1 + i));
  t.ok(got.every((frames) => frames.length === 100 && frames.every((f, i) => f.id === want[i])), 'all 200 got the 100 ids in order');
  t.equal(d.app.services.changes.readers, 200);
});

t.test('a reader that stops reading is closed once its buffer is full; the others and the writers go on', async (t) => {
  const d = await startDaemon({ config: { event_stream_buffer_bytes: '65536' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const slow = await SseClient.open(d.url, { headers: sessionHeaders(admin), paused: true });
  const reader = await SseClient.open(d.url, { headers: sessionHeaders(admin), query: 'oid=1' });
  t.teardown(() => reader.close());
  const hub = d.app.services.changes;
  t.equal(hub.readers, 2);
  // Until the kernel's socket buffers are full and 64 KiB wait in the daemon: bounded at 40 batches.
  const filler = { fullName: 'x', description: 'y', localePreference: 'en_US', stylePreference: 's', gui_theme: 'g' };
  let batches = 0;
  while (hub.readers === 2 && batches < 40) await createUsers(admin, `s${batches++}_`, 1000, filler);
  t.equal(hub.readers, 1, `the slow reader was closed (after ${batches} batches of 1000 changes)`);
  t.ok(d.logs.some((l) => l.includes('"why":"slow"') && l.includes('event stream closed')), 'and the log says why');
  slow.close();
  // The writers were never refused, and the other stream still works.
  const me = (await admin.cmd('WHOAMI')).body.data.oid as string;
  t.equal((await admin.cmd({ cmd: 'SET', oid: me, args: { description: 'still' } })).body.status, 201);
  t.equal(reader.ended, false);
});

t.test('the daemon closing ends every stream', async (t) => {
  const d = await startDaemon();
  const admin = await adminClient(d);
  const s = await SseClient.open(d.url, { body: { user: 'admin', sessionid: admin.sessionid } });
  await d.close();
  await s.waitEnd();
  t.ok(s.ended);
});
