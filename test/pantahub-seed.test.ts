/**
 * Seed 004's walk-through, in its order, over HTTP against one running
 * daemon and one device: register → challenge → claim → the owner's list →
 * PUT a new secret → user-meta → device login → device-meta → public (and
 * back) → nick, 409 when taken → a factory token → auto-assign → the token
 * list → disable. Each reply is checked field by field against the seed's.
 */
import t from 'tap';
import { ALL_LOGS } from './helpers/daemon.js';
import { call, daemonWithUsers, login, seedDevice } from './helpers/pantahub.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

t.test('the seed, step by step', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 1);
  const [TOKEN] = tokens as [string];

  // - device registers itself: a challenge entry, but no owner yet.
  const reg = await call(d, 'POST', '/devices/', { secret: 'mysec1' });
  t.equal(reg.status, 200);
  const dev = reg.body;
  t.same(dev, seedDevice(dev, '', { challenge: dev.challenge, secret: 'mysec1' }));
  const challenge = dev.challenge as string;
  const DEVICEID = dev.id as string;

  // - as a logged in user you claim the device through a simple PUT: the challenge reset, the owner assigned.
  const claimed = await call(d, 'PUT', `/devices/${DEVICEID}?challenge=${challenge}`, undefined, TOKEN);
  t.equal(claimed.status, 200);
  t.match(claimed.body['time-modified'], ISO);
  t.same(claimed.body, seedDevice(dev, 'user1', { challenge: '', 'time-modified': claimed.body['time-modified'] }));

  // ... only yours!
  const { challenge: _c, ...listed } = claimed.body;
  t.same((await call(d, 'GET', '/devices/', undefined, TOKEN)).body, [listed]);

  // A new secret through PUT: shown in this reply.
  const put = await call(d, 'PUT', `/devices/${DEVICEID}`, { secret: 'mynewsecret1' }, TOKEN);
  t.equal(put.status, 200);
  t.same(put.body, seedDevice(dev, 'user1', { secret: 'mynewsecret1', 'time-modified': put.body['time-modified'] }));

  // User metadata: the reply is the metadata; the device has it afterwards.
  const um = await call(d, 'PUT', `/devices/${DEVICEID}/user-meta`, { some: 'user', meta: 'datafields' }, TOKEN);
  t.same([um.status, um.body], [200, { meta: 'datafields', some: 'user' }]);
  const after = await call(d, 'GET', `/devices/${DEVICEID}`, undefined, TOKEN);
  t.same(after.body, seedDevice(dev, 'user1', { 'time-modified': after.body['time-modified'], 'user-meta': { meta: 'datafields', some: 'user' } }));

  // Logged in as the device (its prn and new secret), device metadata the same way.
  const DTOKEN = await login(d, `prn:::devices:/${DEVICEID}`, 'mynewsecret1');
  const dm = await call(d, 'PUT', `/devices/${DEVICEID}/device-meta`, { some: 'device', meta: 'datafields', work: 'too' }, DTOKEN);
  t.same([dm.status, dm.body], [200, { meta: 'datafields', some: 'device', work: 'too' }]);

  // Public through the convenience endpoint, and back with DELETE.
  const pub = await call(d, 'PUT', `/devices/${DEVICEID}/public`, undefined, TOKEN);
  t.same([pub.status, pub.body.public], [200, true]);
  const priv = await call(d, 'DELETE', `/devices/${DEVICEID}/public`, undefined, TOKEN);
  t.same([priv.status, priv.body.public], [200, false]);

  // The nick with PATCH (on the path with a trailing slash, as the seed writes it); a taken one is 409.
  const nick = await call(d, 'PATCH', `/devices/${DEVICEID}/`, { nick: 'mynewnick' }, TOKEN);
  t.same(nick.body, seedDevice(dev, 'user1', {
    nick: 'mynewnick',
    'time-modified': nick.body['time-modified'],
    'user-meta': { meta: 'datafields', some: 'user' },
    'device-meta': { meta: 'datafields', some: 'device', work: 'too' },
  }));
  const second = (await call(d, 'POST', '/devices/', { secret: 'anotherdevice' }, TOKEN)).body;
  const taken = await call(d, 'PATCH', `/devices/${second.id}`, { nick: 'mynewnick' }, TOKEN);
  t.same([taken.status, taken.text], [409, '{"Error":"Device unique constraint violated"}']);

  // The factory: a token with default user-meta, shown once.
  const tok = await call(d, 'POST', '/devices/tokens', { 'default-user-meta': { mykey: 'yourvalue' } }, TOKEN);
  t.equal(tok.status, 200);
  t.match(tok.body, { 'default-user-meta': { mykey: 'yourvalue' }, disabled: false, owner: 'prn:pantahub.com:auth:/user1', prn: `prn:::devices-tokens:/${tok.body.id}`, token: /^[A-Za-z0-9_-]{43}$/ });

  // The device at the factory registers with it: owned, with the user-meta in place.
  const auto = await call(d, 'POST', '/devices/', undefined, { 'Pantahub-Devices-Auto-Token-V1': tok.body.token });
  t.equal(auto.status, 200);
  t.same(auto.body, seedDevice(auto.body, 'user1', { secret: auto.body.secret, 'user-meta': { mykey: 'yourvalue' } }));

  // The tokens registered by the user: never the token itself.
  const list = await call(d, 'GET', '/devices/tokens', undefined, TOKEN);
  const { token: _shown, ...withoutToken } = tok.body;
  t.same(list.body, [{ ...withoutToken, uses: 1 }]);

  // Disable: no further devices join; the joined one keeps authenticating.
  t.same((await call(d, 'DELETE', `/devices/tokens/${tok.body.id}`, undefined, TOKEN)).body, { status: 'OK' });
  t.equal((await call(d, 'POST', '/devices/', undefined, { 'Pantahub-Devices-Auto-Token-V1': tok.body.token })).status, 403);
  t.ok(await login(d, `prn:::devices:/${auto.body.id}`, auto.body.secret));
  const long = await call(d, 'POST', '/devices/', undefined, { 'Pantahub-Devices-Auto-Token-V1': 'x'.repeat(300) });
  t.same([long.status, long.body], [403, { Error: 'Invalid auto-assign token' }], 'an oversized token header is refused like a wrong one');

  for (const secret of ['mysec1', 'mynewsecret1', tok.body.token, auto.body.secret]) t.notOk(ALL_LOGS.some((l) => l.includes(secret)), 'no secret in a log line');
});
