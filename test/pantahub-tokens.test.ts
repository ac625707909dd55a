/**
 * Pantahub factory tokens (seed 004) over HTTP against a running daemon: the
 * owner creates a token (shown once, stored as a digest), lists its tokens
 * (never the token), a device registering with Pantahub-Devices-Auto-Token-V1
 * is owned by the token's owner with its default user-meta, a disabled token
 * joins no more devices while those it joined keep working, max-uses and
 * expires-at bound it, and every use is one audit line without the token.
 */
import t from 'tap';
import type { Test } from 'tap';
import { ALL_LOGS, type TestDaemon } from './helpers/daemon.js';
import { call, daemonWithUsers, login, seedDevice } from './helpers/pantahub.js';
import { rowsOf } from './helpers/store-rows.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX24 = /^[0-9a-f]{24}$/;
const NICK = /^[a-z]+_[a-z]+_[a-z]+$/;
const AUTO = 'Pantahub-Devices-Auto-Token-V1';

const as = (token: string) => ({ authorization: `Bearer ${token}` });

async function twoUsers(t: Test): Promise<{ d: TestDaemon; user1: string; user2: string }> {
  const { d, tokens } = await daemonWithUsers(t, 2);
  return { d, user1: tokens[0]!, user2: tokens[1]! };
}

t.test('the seed: create a token, auto-assign a device, list tokens, disable', async (t) => {
  const { d, user1, user2 } = await twoUsers(t);

  const created = await call(d, 'POST', '/devices/tokens', { 'default-user-meta': { mykey: 'yourvalue' } }, as(user1));
  t.equal(created.status, 200);
  const tok = created.body;
  t.match(tok, { id: HEX24, nick: NICK, token: /^[A-Za-z0-9_-]{43}$/, 'time-created': ISO });
  t.same(tok, {
    'default-user-meta': { mykey: 'yourvalue' },
    disabled: false,
    'expires-at': null,
    id: tok.id,
    'max-uses': null,
    nick: tok.nick,
    owner: 'prn:pantahub.com:auth:/user1',
    prn: `prn:::devices-tokens:/${tok.id}`,
    'time-created': tok['time-created'],
    'time-modified': tok['time-created'],
    token: tok.token,
    uses: 0,
  });

  // The device registers with the token and no body: owned by user1 with the default user-meta, a secret drawn for it.
  const joined = await call(d, 'POST', '/devices/', undefined, { [AUTO]: tok.token });
  t.equal(joined.status, 200);
  const dev = joined.body;
  t.same(dev, seedDevice(dev, 'user1', { secret: dev.secret, 'user-meta': { mykey: 'yourvalue' } }));
  t.match(dev.secret, /^[A-Za-z0-9_-]{16}$/);
  t.same((await call(d, 'GET', '/devices/', undefined, as(user1))).body.map((x: { id: string }) => x.id), [dev.id]);

  // The list: never the token, the use counted; another user's list is empty.
  const second = (await call(d, 'POST', '/devices/tokens/', { nick: 'factory_line_two', 'max-uses': 2 }, as(user1))).body;
  const list = await call(d, 'GET', '/devices/tokens', undefined, as(user1));
  t.equal(list.status, 200);
  const { token: _shown, ...listed } = tok;
  t.same(list.body, [
    { ...listed, uses: 1 },
    { 'default-user-meta': {}, disabled: false, 'expires-at': null, id: second.id, 'max-uses': 2, nick: 'factory_line_two', owner: 'prn:pantahub.com:auth:/user1', prn: `prn:::devices-tokens:/${second.id}`, 'time-created': second['time-created'], 'time-modified': second['time-created'], uses: 0 },
  ]);
  t.notOk(list.text.includes(tok.token), 'the token is never listed');
  t.same((await call(d, 'GET', '/devices/tokens', undefined, as(user2))).body, []);

  // Only the owner disables; another user's token is as unknown as a missing one.
  const foreign = await call(d, 'DELETE', `/devices/tokens/${tok.id}`, undefined, as(user2));
  t.same([foreign.status, foreign.body], [404, { Error: 'Not Found' }]);
  t.same((await call(d, 'DELETE', '/devices/tokens/nope', undefined, as(user1))).body, { Error: 'Invalid device id' });
  const disabled = await call(d, 'DELETE', `/devices/tokens/${tok.id}`, undefined, as(user1));
  t.same([disabled.status, disabled.body], [200, { status: 'OK' }]);
  t.same((await call(d, 'DELETE', `/devices/tokens/${tok.id}`, undefined, as(user1))).body, { status: 'OK' }, 'disabling again changes nothing');
  t.equal((await call(d, 'GET', '/devices/tokens', undefined, as(user1))).body[0].disabled, true);

  // A disabled token joins nothing; the device it joined still logs in and reads itself.
  const refused = await call(d, 'POST', '/devices/', { secret: 'factorysecret' }, { [AUTO]: tok.token });
  t.same([refused.status, refused.body], [403, { Error: 'Invalid auto-assign token' }]);
  const dtoken = await login(d, `prn:::devices:/${dev.id}`, dev.secret);
  t.equal((await call(d, 'GET', `/devices/${dev.id}`, undefined, as(dtoken))).body.owner, 'prn:pantahub.com:auth:/user1');
  t.same((await call(d, 'GET', '/devices/', undefined, as(user1))).body.length, 1, 'the refused registration created no device');

  // Tokens are users' business: no token, a device's token.
  t.same((await call(d, 'GET', '/devices/tokens')).body, { Error: 'Not Authorized' });
  t.same((await call(d, 'POST', '/devices/tokens', {}, as(dtoken))).body, { Error: 'Forbidden' });
  // A body of unknown keys is refused, not ignored.
  t.equal((await call(d, 'POST', '/devices/tokens', { owner: 'user2' }, as(user1))).status, 400);

  // Audit: one line per use with the token's id, never the token; the token is not stored in clear.
  const uses = d.logs.filter((l) => l.includes('"audit":"PANTAHUB_AUTO_TOKEN"')).map((l) => JSON.parse(l));
  t.match(uses, [
    { token_id: tok.id, owner: 'user1', device: dev.id, outcome: 'ok' },
    { outcome: 'fail' },
  ]);
  t.equal(uses.length, 2);
  t.notOk(ALL_LOGS.some((l) => l.includes(tok.token)), 'no log line holds the token');
  const rows = JSON.stringify(await rowsOf(d, 'SELECT * FROM props'));
  t.notOk(rows.includes(tok.token), 'the store holds only its digest');
});

t.test('max-uses joins exactly that many devices, even at once; expires-at ends a token', async (t) => {
  const { d, user1 } = await twoUsers(t);
  const tok = (await call(d, 'POST', '/devices/tokens', { 'max-uses': 3 }, as(user1))).body;
  const replies = await Promise.all(Array.from({ length: 8 }, () => call(d, 'POST', '/devices/', { secret: 'factorysecret' }, { [AUTO]: tok.token })));
  t.same(replies.map((r) => r.status).sort(), [200, 200, 200, 403, 403, 403, 403, 403]);
  t.equal((await call(d, 'GET', '/devices/', undefined, as(user1))).body.length, 3);
  t.equal((await call(d, 'GET', '/devices/tokens', undefined, as(user1))).body[0].uses, 3);

  const past = await call(d, 'POST', '/devices/tokens', { 'expires-at': '2020-01-01T00:00:00Z' }, as(user1));
  t.same([past.status, past.body], [400, { Error: 'expires-at: in the past' }]);
  const soon = new Date(Date.now() + 1500).toISOString();
  const brief = (await call(d, 'POST', '/devices/tokens', { 'expires-at': soon }, as(user1))).body;
  t.equal(brief['expires-at'], soon);
  t.equal((await call(d, 'POST', '/devices/', undefined, { [AUTO]: brief.token })).status, 200);
  await new Promise((r) => setTimeout(r, 1600));
  t.equal((await call(d, 'POST', '/devices/', undefined, { [AUTO]: brief.token })).status, 403);
  t.same((await call(d, 'POST', '/devices/', undefined, { [AUTO]: 'x'.repeat(43) })).body, { Error: 'Invalid auto-assign token' });
});
