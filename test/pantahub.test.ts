/**
 * The Pantahub device registry (seed 004) over HTTP against a running daemon:
 * self-registration with a challenge, the claim (a wrong challenge refused,
 * single-use), the owner's list, another user sees nothing, registration by a
 * logged-in user, device login with its secret, and the seed's reply bodies
 * field by field. The secret is shown only in the reply that set it.
 */
import t, { type Test } from 'tap';
import type { ConfigInput } from '../src/config/schema.js';
import { ALL_LOGS, adminClient, http, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { rowsOf } from './helpers/store-rows.js';
import { call, daemonWithUsers } from './helpers/pantahub.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX24 = /^[0-9a-f]{24}$/;
const NICK = /^[a-z]+_[a-z]+_[a-z]+$/;
const CHALLENGE = /^[a-z]+-[a-z]+-[a-z]+-[a-z2-9]{5}$/;

async function token(d: TestDaemon, username: string, password: string): Promise<string> {
  const r = await call(d, 'POST', '/auth/login', { username, password });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  t.same(Object.keys(r.body), ['token'], 'the login reply is {"token": ...}');
  return r.body.token as string;
}

/** A daemon with the users user1 and user2, each logged in (its Pantahub token). */
async function twoUsers(t: Test, config: ConfigInput = {}): Promise<{ d: TestDaemon; user1: string; user2: string }> {
  const { d, tokens } = await daemonWithUsers(t, 2, config);
  return { d, user1: tokens[0]!, user2: tokens[1]! };
}

t.test('register, claim, list, device login', async (t) => {
  const { d, user1, user2 } = await twoUsers(t);

  // The device registers itself: a challenge, no owner, its secret shown this once.
  const reg = await call(d, 'POST', '/devices/', { secret: 'mysec1' });
  t.equal(reg.status, 200);
  const dev = reg.body;
  t.match(dev, { id: HEX24, nick: NICK, challenge: CHALLENGE, 'time-created': ISO });
  t.same(dev, {
    challenge: dev.challenge,
    'device-meta': {},
    id: dev.id,
    nick: dev.nick,
    owner: '',
    prn: `prn:::devices:/${dev.id}`,
    public: false,
    secret: 'mysec1',
    'time-created': dev['time-created'],
    'time-modified': dev['time-created'],
    'user-meta': {},
  });

  // Before the claim nobody's list has it, and the device is private: the same 404 as an unknown id.
  t.same((await call(d, 'GET', '/devices/', undefined, user1)).body, []);
  const hidden = await call(d, 'GET', `/devices/${dev.id}`, undefined, user1);
  t.same([hidden.status, hidden.body], [404, { Error: 'Not Found' }]);
  const unknown = await call(d, 'GET', `/devices/${'0'.repeat(24)}`, undefined, user1);
  t.same([unknown.status, unknown.body], [404, { Error: 'Not Found' }]);
  const malformed = await call(d, 'GET', '/devices/XYZ', undefined, user1);
  t.same([malformed.status, malformed.body], [400, { Error: 'Invalid device id' }]);

  // A wrong challenge is refused; a claim needs a logged-in user.
  const wrong = await call(d, 'PUT', `/devices/${dev.id}?challenge=not-the-challenge`, undefined, user1);
  t.same([wrong.status, wrong.body], [403, { Error: 'Invalid challenge' }]);
  const anonymous = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`);
  t.same([anonymous.status, anonymous.body], [401, { Error: 'Not Authorized' }]);

  const claimed = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1);
  t.equal(claimed.status, 200);
  t.match(claimed.body['time-modified'], ISO);
  t.same(claimed.body, {
    challenge: '',
    'device-meta': {},
    id: dev.id,
    nick: dev.nick,
    owner: 'prn:pantahub.com:auth:/user1',
    prn: `prn:::devices:/${dev.id}`,
    public: false,
    'time-created': dev['time-created'],
    'time-modified': claimed.body['time-modified'],
    'user-meta': {},
  });
  // Single-use: the same challenge again (by anyone) is refused.
  const again = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user2);
  t.same([again.status, again.body], [403, { Error: 'Invalid challenge' }]);

  // Only yours: user1 lists it (no secret), user2 sees nothing and cannot read it.
  const { challenge: _c, ...owned } = claimed.body;
  t.same((await call(d, 'GET', '/devices/', undefined, user1)).body, [owned]);
  t.same((await call(d, 'GET', '/devices', undefined, user1)).body, [owned]);
  t.same((await call(d, 'GET', `/devices/${dev.id}`, undefined, user1)).body, owned);
  t.same((await call(d, 'GET', '/devices/', undefined, user2)).body, []);
  const probe = await call(d, 'GET', `/devices/${dev.id}`, undefined, user2);
  t.same([probe.status, probe.body], [404, { Error: 'Not Found' }]);
  const noToken = await call(d, 'GET', '/devices/');
  t.same([noToken.status, noToken.body], [401, { Error: 'Not Authorized' }]);

  // The device logs in with its prn and secret and reads itself.
  const badDevice = await call(d, 'POST', '/auth/login', { username: `prn:::devices:/${dev.id}`, password: 'wrong-secret' });
  t.same([badDevice.status, badDevice.body], [401, { Error: 'Incorrect Username or Password' }]);
  const dtoken = await token(d, `prn:::devices:/${dev.id}`, 'mysec1');
  t.same((await call(d, 'GET', `/devices/${dev.id}`, undefined, dtoken)).body, claimed.body);
  // A device's token is not a user's: it lists nothing and claims nothing.
  const asDevice = await call(d, 'GET', '/devices/', undefined, dtoken);
  t.same([asDevice.status, asDevice.body], [403, { Error: 'Forbidden' }]);
  const badToken = await call(d, 'GET', '/devices/', undefined, 'not-a-token');
  t.same([badToken.status, badToken.body], [401, { Error: 'Invalid or expired token' }]);
  // A Meeting bearer token is not a Pantahub token (nor the other way round).
  const meetingToken = (await http(`${d.url}/api/auth/login`, { username: 'user1', password: 'user1-password' })).body.token as string;
  const meetingBearer = await call(d, 'GET', '/devices/', undefined, meetingToken);
  t.same([meetingBearer.status, meetingBearer.body], [401, { Error: 'Invalid or expired token' }]);
  t.equal((await call(d, 'GET', '/api/auth/me', undefined, user1)).status, 403);
  const badUser = await call(d, 'POST', '/auth/login', { username: 'user1', password: 'nope' });
  t.same([badUser.status, badUser.body], [401, { Error: 'Incorrect Username or Password' }]);

  // A logged-in user's registration is owned at once, no challenge.
  const mine = await call(d, 'POST', '/devices/', { secret: 'yourdevicesecret', 'device-meta': { arch: 'arm' } }, user2);
  t.equal(mine.status, 200);
  t.same(mine.body, {
    challenge: '',
    'device-meta': { arch: 'arm' },
    id: mine.body.id,
    nick: mine.body.nick,
    owner: 'prn:pantahub.com:auth:/user2',
    prn: `prn:::devices:/${mine.body.id}`,
    public: false,
    secret: 'yourdevicesecret',
    'time-created': mine.body['time-created'],
    'time-modified': mine.body['time-created'],
    'user-meta': {},
  });
  t.same((await call(d, 'GET', '/devices/', undefined, user2)).body.map((x: { id: string }) => x.id), [mine.body.id]);

  // No registration without a secret keeps none: one is drawn and shown once.
  const drawn = await call(d, 'POST', '/devices/');
  t.equal(drawn.status, 200);
  t.match(drawn.body.secret, /^[A-Za-z0-9_-]{16}$/);
  await token(d, `prn:::devices:/${drawn.body.id}`, drawn.body.secret);

  // Stored hashed: the store's rows and every log line hold neither secret.
  const rows = JSON.stringify(await rowsOf(d, 'SELECT * FROM props'));
  for (const secret of ['mysec1', 'yourdevicesecret', drawn.body.secret]) {
    t.notOk(rows.includes(`"${secret}"`), `${secret} is not stored in clear`);
    t.notOk(ALL_LOGS.some((l) => l.includes(secret)), `${secret} is in no log line`);
  }
});

t.test('an expired challenge is refused', async (t) => {
  const { d, user1 } = await twoUsers(t, { pantahub_challenge_ttl: '1' });
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' })).body;
  await new Promise((r) => setTimeout(r, 1100));
  const late = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1);
  t.same([late.status, late.body], [403, { Error: 'Invalid challenge' }]);
});

t.test('pantahub_prefix moves the paths', async (t) => {
  const d = await startDaemon({ config: { pantahub_prefix: '/pantahub' } });
  t.teardown(() => d.close());
  t.equal((await call(d, 'POST', '/devices/', { secret: 'mysec1' })).status, 404);
  const reg = await call(d, 'POST', '/pantahub/devices/', { secret: 'mysec1' });
  t.equal(reg.status, 200);
  t.equal(reg.body.owner, '');
});

t.test('an owner updates its device: secret, user-meta, device-meta, public, nick, delete', async (t) => {
  const { d, user1, user2 } = await twoUsers(t);
  const dev = (await call(d, 'POST', '/devices/', { secret: 'yourdevicesecret' }, user1)).body;
  const other = (await call(d, 'POST', '/devices/', { secret: 'anotherdevice' }, user1)).body;

  // A new secret: shown in this reply, the old one stops working.
  const put = await call(d, 'PUT', `/devices/${dev.id}`, { secret: 'mynewsecret1' }, user1);
  t.equal(put.status, 200);
  const { challenge: _none, ...registered } = dev;
  t.match(put.body['time-modified'], ISO);
  t.same(put.body, { ...registered, secret: 'mynewsecret1', 'time-modified': put.body['time-modified'] });
  t.equal((await call(d, 'POST', '/auth/login', { username: `prn:::devices:/${dev.id}`, password: 'yourdevicesecret' })).status, 401);
  const dtoken = await token(d, `prn:::devices:/${dev.id}`, 'mynewsecret1');
  const nothing = await call(d, 'PUT', `/devices/${dev.id}`, {}, user1);
  t.same([nothing.status, nothing.body], [400, { Error: 'Nothing to update' }]);

  // user-meta: the owner's; the seed's reply is the meta itself.
  const um = await call(d, 'PUT', `/devices/${dev.id}/user-meta`, { some: 'user', meta: 'datafields' }, user1);
  t.same([um.status, um.body], [200, { meta: 'datafields', some: 'user' }]);
  t.same((await call(d, 'GET', `/devices/${dev.id}`, undefined, user1)).body['user-meta'], { meta: 'datafields', some: 'user' });
  t.same((await call(d, 'GET', `/devices/${dev.id}/user-meta`, undefined, user1)).body, { meta: 'datafields', some: 'user' });
  const patched = await call(d, 'PATCH', `/devices/${dev.id}/user-meta`, { some: null, more: 1 }, user1);
  t.same(patched.body, { meta: 'datafields', more: 1 });
  const deviceWritesUserMeta = await call(d, 'PUT', `/devices/${dev.id}/user-meta`, { x: 1 }, dtoken);
  t.same([deviceWritesUserMeta.status, deviceWritesUserMeta.body], [403, { Error: 'Forbidden' }]);

  // device-meta: the device itself only.
  const dm = await call(d, 'PUT', `/devices/${dev.id}/device-meta`, { some: 'device', meta: 'datafields', work: 'too' }, dtoken);
  t.same([dm.status, dm.body], [200, { meta: 'datafields', some: 'device', work: 'too' }]);
  const userWritesDeviceMeta = await call(d, 'PUT', `/devices/${dev.id}/device-meta`, { x: 1 }, user1);
  t.same([userWritesDeviceMeta.status, userWritesDeviceMeta.body], [403, { Error: 'Forbidden' }]);
  const otherDevice = await call(d, 'PUT', `/devices/${other.id}/device-meta`, { x: 1 }, dtoken);
  t.same([otherDevice.status, otherDevice.body], [404, { Error: 'Not Found' }]);
  t.same((await call(d, 'GET', `/devices/${dev.id}`, undefined, user1)).body['device-meta'], { meta: 'datafields', some: 'device', work: 'too' });

  // public: only the owner switches it; a public device is visible to others, not changeable by them.
  t.equal((await call(d, 'PUT', `/devices/${dev.id}/public`, undefined, dtoken)).status, 403);
  const pub = await call(d, 'PUT', `/devices/${dev.id}/public`, undefined, user1);
  t.same([pub.status, pub.body.public], [200, true]);
  t.equal((await call(d, 'GET', `/devices/${dev.id}`, undefined, user2)).body.public, true);
  const foreign = await call(d, 'PUT', `/devices/${dev.id}/user-meta`, { x: 1 }, user2);
  t.same([foreign.status, foreign.body], [403, { Error: 'Forbidden' }]);
  t.equal((await call(d, 'GET', `/devices/${dev.id}/user-meta`, undefined, user2)).status, 403);
  const priv = await call(d, 'DELETE', `/devices/${dev.id}/public`, undefined, user1);
  t.same([priv.status, priv.body.public], [200, false]);
  t.equal((await call(d, 'GET', `/devices/${dev.id}`, undefined, user2)).status, 404);

  // nick: the seed's PATCH reply, and 409 when another of the owner's devices has it.
  const nick = await call(d, 'PATCH', `/devices/${dev.id}/`, { nick: 'mynewnick' }, user1);
  t.equal(nick.status, 200);
  t.same(Object.keys(nick.body), ['device-meta', 'id', 'nick', 'owner', 'prn', 'public', 'time-created', 'time-modified', 'user-meta']);
  t.equal(nick.body.nick, 'mynewnick');
  const taken = await call(d, 'PATCH', `/devices/${other.id}`, { nick: 'mynewnick' }, user1);
  t.same([taken.status, taken.body], [409, { Error: 'Device unique constraint violated' }]);
  t.same(JSON.parse(taken.text), { Error: 'Device unique constraint violated' });
  // Unique per owner only: user2 may have a device of that nick.
  const own2 = (await call(d, 'POST', '/devices/', { secret: 'user2device' }, user2)).body;
  t.equal((await call(d, 'PATCH', `/devices/${own2.id}`, { nick: 'mynewnick' }, user2)).status, 200);

  // Delete: the owner only; afterwards the id is unknown.
  t.equal((await call(d, 'DELETE', `/devices/${dev.id}`, undefined, user2)).status, 404);
  const del = await call(d, 'DELETE', `/devices/${dev.id}`, undefined, user1);
  t.same([del.status, del.body.id], [200, dev.id]);
  t.equal((await call(d, 'GET', `/devices/${dev.id}`, undefined, user1)).status, 404);
  t.same((await call(d, 'GET', '/devices/', undefined, user1)).body.map((x: { id: string }) => x.id), [other.id]);
});

t.test('GET /auth/login swaps a live token for a new one, for a user and for a device', async (t) => {
  const { d, user1 } = await twoUsers(t);
  const fresh = await call(d, 'GET', '/auth/login', undefined, user1);
  t.equal(fresh.status, 200);
  t.same(Object.keys(fresh.body), ['token']);
  t.not(fresh.body.token, user1);
  t.same((await call(d, 'GET', '/devices/', undefined, fresh.body.token)).body, [], 'the new token works');
  const old = await call(d, 'GET', '/devices/', undefined, user1);
  t.same([old.status, old.body], [401, { Error: 'Invalid or expired token' }], 'the old one has ended');
  t.equal((await call(d, 'GET', '/auth/login', undefined, user1)).status, 401, 'an ended token refreshes nothing');
  const none = await call(d, 'GET', '/auth/login');
  t.same([none.status, none.body, none.headers['www-authenticate']], [401, { Error: 'Not Authorized' }, 'Bearer']);

  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' }, fresh.body.token)).body;
  const dtoken = await token(d, `prn:::devices:/${dev.id}`, 'mysec1');
  const drefresh = (await call(d, 'GET', '/auth/login', undefined, dtoken)).body.token as string;
  t.equal((await call(d, 'PUT', `/devices/${dev.id}/device-meta`, { v: 1 }, drefresh)).status, 200, 'the device\'s new token is the device\'s');
  // A deleted device's live token refreshes no more.
  t.equal((await call(d, 'DELETE', `/devices/${dev.id}`, undefined, fresh.body.token)).status, 200);
  t.same((await call(d, 'GET', '/auth/login', undefined, drefresh)).body, { Error: 'Not Authorized' });
  t.notOk(ALL_LOGS.some((l) => l.includes(fresh.body.token) || l.includes(drefresh)), 'no log line holds a token');
});

t.test('?owner= and ?owner-nick= list another owner\'s public devices; no other query key is a filter', async (t) => {
  const { d, user1, user2 } = await twoUsers(t);
  const shown = (await call(d, 'POST', '/devices/', { secret: 'mysec1' }, user1)).body;
  const hidden = (await call(d, 'POST', '/devices/', { secret: 'mysec2' }, user1)).body;
  const { challenge: _c, secret: _s, ...publicOne } = (await call(d, 'PUT', `/devices/${shown.id}/public`, undefined, user1)).body;
  t.equal(publicOne.public, true);
  t.ok(hidden.id);

  const byNick = await call(d, 'GET', '/devices/?owner-nick=user1', undefined, user2);
  t.same([byNick.status, byNick.body], [200, [publicOne]]);
  t.same((await call(d, 'GET', `/devices?owner=${encodeURIComponent('prn:pantahub.com:auth:/user1')}`, undefined, user2)).body, [publicOne]);
  // The owner's own filtered list is its public devices too; an unknown owner and a foreign prn list nothing.
  t.same((await call(d, 'GET', '/devices/?owner-nick=user1', undefined, user1)).body, [publicOne]);
  t.same((await call(d, 'GET', '/devices/?owner-nick=nobody', undefined, user2)).body, []);
  t.same((await call(d, 'GET', '/devices/?owner=user1', undefined, user2)).body, [], 'owner is a prn, not a name');
  // A device's token may list them too; nobody without a token.
  const dtoken = await token(d, `prn:::devices:/${hidden.id}`, 'mysec2');
  t.same((await call(d, 'GET', '/devices/?owner-nick=user1', undefined, dtoken)).body, [publicOne]);
  t.same((await call(d, 'GET', '/devices/?owner-nick=user1')).body, { Error: 'Not Authorized' });

  for (const query of ['public=true', 'owner=x&owner-nick=y', 'nick=' + shown.nick, 'owner-nick=']) {
    const r = await call(d, 'GET', `/devices/?${query}`, undefined, user2);
    t.equal(r.status, 400, `?${query} is refused`);
    t.match(r.body, { Error: String });
  }
});

t.test('a list longer than max_results is cut: Link rel="next" continues it, every device exactly once while others come and go', async (t) => {
  const { d, user1, user2 } = await twoUsers(t, { max_results: '3' });
  const register = async () => (await call(d, 'POST', '/devices/', { secret: 'mysec1' }, user1)).body.id as string;
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push(await register());
  /** Follows the Link headers from `path`; `between` runs after each page. */
  async function walk(path: string, token: string, between: (page: number) => Promise<void> = async () => {}): Promise<{ seen: string[]; pages: number[] }> {
    const seen: string[] = [];
    const pages: number[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const r = await call(d, 'GET', next, undefined, token);
      t.equal(r.status, 200, next);
      pages.push(r.body.length);
      seen.push(...(r.body as { id: string }[]).map((x) => x.id));
      const link = r.headers.link as string | undefined;
      next = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1];
      if (next !== undefined) t.match(next, /^\/devices\/\?(.*&)?after=\d+/, 'the same path and query, with after=');
      await between(pages.length);
    }
    return { seen, pages };
  }
  t.same(await walk('/devices/', user1), { seen: ids, pages: [3, 3, 1] }, 'in creation order, max_results at most a reply');
  t.same((await walk('/devices/?limit=2', user1)).pages, [2, 2, 2, 1], 'limit asks smaller pages');
  t.same((await walk('/devices/?limit=50', user1)).pages, [3, 3, 1], 'never more than max_results');

  // Devices destroyed and created while the list is walked: each listed at most once, every survivor exactly once.
  const created: string[] = [];
  const { seen } = await walk('/devices/', user1, async (page) => {
    if (page !== 1) return;
    t.equal((await call(d, 'DELETE', `/devices/${ids[4]}`, undefined, user1)).status, 200, 'a device not yet listed goes');
    t.equal((await call(d, 'DELETE', `/devices/${ids[0]}`, undefined, user1)).status, 200, 'a device already listed goes');
    created.push(await register());
  });
  t.same(seen, [...ids.slice(0, 4), ...ids.slice(5), ...created], 'no device twice, none missing, the new one last');

  // The public list of another owner is cut the same way.
  for (const id of ids.slice(1, 4).concat(ids.slice(5))) t.equal((await call(d, 'PUT', `/devices/${id}/public`, undefined, user1)).status, 200);
  t.same((await walk('/devices/?owner-nick=user1', user2)).pages, [3, 2]);

  for (const after of ['0', 'abc', '-1', '1'.repeat(17)]) {
    const r = await call(d, 'GET', `/devices/?after=${after}`, undefined, user1);
    t.same([r.status, Object.keys(r.body)], [400, ['Error']], `after=${after} is refused`);
  }
  t.same((await call(d, 'GET', '/devices/?after=999999999', undefined, user1)).body, [], 'a cursor past the end lists nothing');
});

t.test('probing for ids: an unknown id and another owner\'s private device answer alike on every path', async (t) => {
  const { d, user1, user2 } = await twoUsers(t);
  const theirs = (await call(d, 'POST', '/devices/', { secret: 'mysec1' }, user1)).body;
  const unknown = '0123456789abcdef01234567';
  const asks: [string, string, unknown?][] = [
    ['GET', ''], ['PUT', '', { secret: 'another-secret' }], ['PATCH', '', { nick: 'probe' }], ['DELETE', ''],
    ['PUT', '/public'], ['DELETE', '/public'], ['GET', '/user-meta'], ['PUT', '/user-meta', { a: 1 }], ['PATCH', '/user-meta', { a: 1 }],
  ];
  for (const [method, tail, body] of asks) {
    const mine = await call(d, method, `/devices/${theirs.id}${tail}`, body, user2);
    const none = await call(d, method, `/devices/${unknown}${tail}`, body, user2);
    t.strictSame([mine.status, mine.body], [none.status, none.body], `${method} ${tail || '/'}: the same answer`);
    t.strictSame([none.status, none.body], [404, { Error: 'Not Found' }]);
  }
  t.equal((await call(d, 'GET', `/devices/${theirs.id}`, undefined, user1)).status, 200, 'the owner\'s device is untouched');
});

t.test('one store: a Pantahub device is a Device of /v2/cce, its fields in the Pantahub namespace, no secret', async (t) => {
  const { d, user1 } = await twoUsers(t);
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1', 'device-meta': { arch: 'arm' } }, user1)).body;
  const admin = await adminClient(d);
  const found = await admin.cmd({ cmd: 'FINDX', class: 'Device', args: { device_key: dev.id.toUpperCase() } });
  const oid = found.body.data.oidlist[0];
  t.ok(oid, 'FINDX Device finds it by its device_key');
  const ns = (await admin.cmd(`GET ${oid} . Pantahub`)).body.data.DATA;
  t.match(ns, { id: dev.id, owner: 'user1', nick: dev.nick, public: '0', device_meta: '{"arch":"arm"}', secret: '' });
  t.notOk(JSON.stringify(ns).includes('mysec1'), 'the secret is not readable');
});

t.test('a Pantahub token is stored before the reply hands it out (login and refresh)', async (t) => {
  const { d } = await daemonWithUsers(t, 1);
  // Each grant's row commits 300 ms late: a reply that did not wait for it would arrive first.
  const stored = (d.app.services.auth.grants as unknown as { stored: { save: (...a: unknown[]) => Promise<void> } }).stored;
  const save = stored.save.bind(stored);
  stored.save = (...a) => new Promise((resolve) => setTimeout(resolve, 300)).then(() => save(...a));
  const rows = async () => Number(((await rowsOf(d, "SELECT count(*) AS n FROM grants WHERE origin = 'pantahub' AND user_name = 'user1'"))[0] as { n: number | string }).n);
  const before = await rows();
  const token = (await call(d, 'POST', '/auth/login', { username: 'user1', password: 'user1-password' })).body.token as string;
  t.equal(await rows(), before + 1, 'the login token has its row when the reply arrives');
  const fresh = await call(d, 'GET', '/auth/login', undefined, token);
  t.equal(fresh.status, 200);
  t.equal(await rows(), before + 1, 'the refreshed token has its row (and the old one none) when the reply arrives');
});
