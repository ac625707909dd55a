/**
 * The Pantahub registry's hardening over HTTP against a running daemon:
 * twenty users claiming one device at once (exactly one wins), failed claims
 * banned per (address, device) with the other bans and bounded per device
 * from everywhere, anonymous registrations bounded per address, and a device
 * whose challenge expired drawing a new one.
 */
import t, { type Test } from 'tap';
import { ALL_LOGS } from './helpers/daemon.js';
import { call, daemonWithUsers, login } from './helpers/pantahub.js';

t.test('20 users claim one device at once: exactly one wins', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 20, { pantahub_claim_fails_per_device: '100' });
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' })).body;
  const replies = await Promise.all(tokens.map((tok) => call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, tok)));
  const winners = replies.flatMap((r, i) => (r.status === 200 ? [i] : []));
  t.equal(winners.length, 1, 'one claim succeeded');
  t.same(
    replies.filter((r) => r.status !== 200).map((r) => [r.status, r.body]),
    Array.from({ length: 19 }, () => [403, { Error: 'Invalid challenge' }]),
    'the 19 others were refused as a used challenge',
  );
  const winner = winners[0]!;
  t.equal(replies[winner]!.body.owner, `prn:pantahub.com:auth:/user${winner + 1}`);
  // The store agrees: the device is the winner's, in the winner's list only.
  for (const [i, tok] of tokens.entries()) {
    const ids = (await call(d, 'GET', '/devices/', undefined, tok)).body.map((x: { id: string }) => x.id);
    t.same(ids, i === winner ? [dev.id] : [], `user${i + 1}'s list`);
  }
});

t.test('failed claims: banned per (address, device) with the other bans; audited without the challenge', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 1, { api_auth_fails: '3' });
  const [user1] = tokens as [string];
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' })).body;
  const other = (await call(d, 'POST', '/devices/', { secret: 'mysec2' })).body;
  for (let i = 0; i < 3; i++) {
    const r = await call(d, 'PUT', `/devices/${dev.id}?challenge=guess-${i}`, undefined, user1);
    t.same([r.status, r.body], [403, { Error: 'Invalid challenge' }]);
  }
  // Banned: even the right challenge is not looked at.
  const banned = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1);
  t.same([banned.status, banned.body], [429, { Error: 'Too Many Requests' }]);
  t.match(banned.headers['retry-after'], /^\d+$/);
  // Another device from the same address is untouched.
  t.equal((await call(d, 'PUT', `/devices/${other.id}?challenge=${other.challenge}`, undefined, user1)).status, 200);

  const lines = d.logs.filter((l) => l.includes('"audit":"CLAIM_PANTAHUB"')).map((l) => JSON.parse(l));
  t.equal(lines.length, 3);
  t.match(lines[0], { device: dev.id, ip: '127.0.0.1', outcome: 'fail' });
  t.ok(d.logs.some((l) => l.includes('"audit":"BAN"') && l.includes('"kind":"pantahub-challenge"')), 'the ban is the pantahub-challenge kind');
  t.notOk(ALL_LOGS.some((l) => l.includes(dev.challenge)), 'no log line holds the challenge');
});

t.test('failed claims of one device are bounded from everywhere; a refreshed challenge starts afresh', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 1, { pantahub_claim_fails_per_device: '3' });
  const [user1] = tokens as [string];
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' })).body;
  for (let i = 0; i < 3; i++) t.equal((await call(d, 'PUT', `/devices/${dev.id}?challenge=guess-${i}`, undefined, user1)).status, 403);
  const limited = await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1);
  t.same([limited.status, limited.body], [429, { Error: 'Too Many Requests' }]);
  t.match(limited.headers['retry-after'], /^\d+$/);

  // The device (its own token) draws a new challenge: the old one is dead, the new one claims.
  const dtoken = await login(d, `prn:::devices:/${dev.id}`, 'mysec1');
  const fresh = await call(d, 'POST', `/devices/${dev.id}/challenge`, undefined, dtoken);
  t.equal(fresh.status, 200);
  t.not(fresh.body.challenge, dev.challenge);
  t.match(fresh.body, { id: dev.id, owner: '', challenge: /^[a-z]+-[a-z]+-[a-z]+-[a-z2-9]{5}$/ });
  t.equal((await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1)).status, 403);
  const claimed = await call(d, 'PUT', `/devices/${dev.id}?challenge=${fresh.body.challenge}`, undefined, user1);
  t.same([claimed.status, claimed.body.owner], [200, 'prn:pantahub.com:auth:/user1']);

  // Owned, it has no challenge to refresh; only the device itself may ask.
  t.same((await call(d, 'POST', `/devices/${dev.id}/challenge`, undefined, dtoken)).body, { Error: 'Device already owned' });
  t.same((await call(d, 'POST', `/devices/${dev.id}/challenge`, undefined, user1)).body, { Error: 'Forbidden' });
  t.same((await call(d, 'POST', `/devices/${dev.id}/challenge`)).body, { Error: 'Not Authorized' });
});

t.test('an expired challenge: refused, then refreshed by the device', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 1, { pantahub_challenge_ttl: '1' });
  const [user1] = tokens as [string];
  const dev = (await call(d, 'POST', '/devices/', { secret: 'mysec1' })).body;
  await new Promise((r) => setTimeout(r, 1100));
  t.equal((await call(d, 'PUT', `/devices/${dev.id}?challenge=${dev.challenge}`, undefined, user1)).status, 403);
  const dtoken = await login(d, `prn:::devices:/${dev.id}`, 'mysec1');
  const fresh = (await call(d, 'POST', `/devices/${dev.id}/challenge`, undefined, dtoken)).body;
  t.equal((await call(d, 'PUT', `/devices/${dev.id}?challenge=${fresh.challenge}`, undefined, user1)).status, 200);
});

t.test('anonymous registrations are bounded per address; a user\'s are not', async (t) => {
  const { d, tokens } = await daemonWithUsers(t, 1, { pantahub_registrations_per_address: '2' });
  const [user1] = tokens as [string];
  t.equal((await call(d, 'POST', '/devices/', { secret: 'mysec1' })).status, 200);
  t.equal((await call(d, 'POST', '/devices/', { secret: 'mysec2' })).status, 200);
  const third = await call(d, 'POST', '/devices/', { secret: 'mysec3' });
  t.same([third.status, third.body], [429, { Error: 'Too Many Requests' }]);
  t.ok(Number(third.headers['retry-after']) > 0 && Number(third.headers['retry-after']) <= 3600, 'Retry-After within the hour');
  t.equal((await call(d, 'POST', '/devices/', { secret: 'mysec4' }, user1)).status, 200);
});
