/**
 * OIDC bearer tokens at every door, against a local identity provider started
 * here (test/helpers/idp.ts): discovery, JWKS, key rotation, the provider
 * going down and coming back, the refusal of each kind of bad token (the same
 * status and words on the Meeting paths and on /v2/cce), sysadmin by claim,
 * users that may not log in, and failed tokens counted toward the bans.
 */
import t from 'tap';
import { SseClient } from './helpers/sse.js';
import { SignJWT, base64url } from 'jose';
import { adminClient, http, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { rest } from './helpers/meeting.js';
import { AUDIENCE, ecKey, startIdp, type Idp } from './helpers/idp.js';
import type { ConfigInput } from '../src/config/schema.js';
import { resolveConfig } from '../src/config/load.js';

const oidcConfig = (idp: Idp, more: ConfigInput = {}): ConfigInput => ({
  oidc_issuer: idp.issuer,
  oidc_audience: AUDIENCE,
  oidc_admin_claim: 'groups',
  oidc_admin_value: 'cced-admins',
  oidc_jwks_cooldown: '0',
  ...more,
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** WHOAMI on /v2/cce with only a bearer header. */
const cceWhoami = (d: TestDaemon, token: string) => http(`${d.url}/v2/cce`, { cmd: 'WHOAMI' }, { headers: bearer(token) });

/** The refusal a door answered: its status and its words, whatever the body's shape. */
function refusal(r: { status: number; body: any }): [number, string] {
  return [r.status, r.body?.message ?? r.body?.error];
}

async function userOid(d: TestDaemon, name: string): Promise<number> {
  const c = await adminClient(d);
  return Number((await c.cmd({ cmd: 'FINDX', class: 'User', args: { name } })).body.data.oidlist[0]);
}

t.test('config: OIDC keys are checked when the configuration loads', async (t) => {
  t.throws(() => resolveConfig({ oidc_algorithms: 'RS256, HS256' }), { message: /^config: oidc_algorithms: expected some of RS256/ });
  t.throws(() => resolveConfig({ oidc_algorithms: 'none' }), { message: /none and HMAC are never accepted/ });
  t.throws(() => resolveConfig({ oidc_issuer: 'http://idp.example.com/realms/x' }), { message: /^config: oidc_issuer: expected an https:\/\/ URL/ });
  t.same(resolveConfig({ oidc_algorithms: 'ES384,EdDSA' }).oidc_algorithms, ['ES384', 'EdDSA']);
  t.equal(resolveConfig({ oidc_issuer: 'https://idp.example.com/realms/x' }).oidc_issuer, 'https://idp.example.com/realms/x');
  // No audience: any client's token of the provider would pass; the daemon does not start.
  await t.rejects(startDaemon({ config: { oidc_issuer: 'https://idp.example.com/realms/x' } }), { message: /oidc_audience: required when oidc_issuer is set/ });
});

t.test('OIDC tokens on the Meeting paths and on /v2/cce', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const d2 = await startDaemon({ config: oidcConfig(idp) });
  t.teardown(() => d2.close());
  const c = await adminClient(d2);
  await c.cmd('CREATE User name="alice" password="alice-pass-1"');
  await c.cmd('CREATE User name="bob" password="bob-pass-12" enabled="0"');
  await c.cmd('CREATE User name="dora" password="dora-pass-1" authorized="0"');
  const alice = await userOid(d2, 'alice');

  await t.test('a good token runs as its user on every door', async (t) => {
    const token = await idp.sign({ preferred_username: 'alice' });
    const me = await rest(d2, bearer(token)).get('/api/auth/me');
    t.equal(me.status, 200);
    t.equal(me.body.username, 'alice');
    t.equal(me.body.role, 'user');
    const who = await cceWhoami(d2, token);
    t.equal(who.status, 200);
    t.equal(Number(who.body.data.oid), alice);
    // The event stream takes the same bearer header.
    const stream = await SseClient.open(d2.url, { headers: bearer(token), query: 'class=User' });
    t.teardown(() => stream.close());
    t.equal(stream.status, 200, 'GET /v2/events with the bearer token');
    await c.cmd(`SET ${alice} fullName="Alice A"`);
    const [change] = await stream.waitFor(1);
    t.match(change!.data, { class: 'User', oid: String(alice), properties: ['fullName'] }, 'the stream runs as alice');
    const get = await http(`${d2.url}/v2/cce`, { cmd: `GET ${alice}` }, { headers: bearer(token) });
    t.equal(get.status, 200);
    t.equal(get.body.data.DATA.name, 'alice');
    // Not an administrator: the admin paths refuse it.
    t.strictSame(refusal(await rest(d2, bearer(token)).get('/api/users')), [403, 'Administrator rights required']);
    const create = await http(`${d2.url}/v2/cce`, { cmd: 'CREATE DeviceType name="x1"' }, { headers: bearer(token) });
    t.equal(create.status, 403);
    // An ES256 token of the provider verifies too.
    const ec = await idp.sign({ preferred_username: 'alice' }, { key: ecKey(idp) });
    t.equal((await rest(d2, bearer(ec)).get('/api/auth/me')).status, 200);
  });

  await t.test('BEGIN and COMMIT with an OIDC token', async (t) => {
    const token = await idp.sign({ preferred_username: 'alice', groups: ['cced-admins'] });
    const send = (cmd: string) => http(`${d2.url}/v2/cce`, { cmd }, { headers: bearer(token) });
    t.equal((await send('BEGIN')).body.status, 201);
    t.equal((await send('CREATE DeviceType name="queued1"')).body.status, 100);
    const commit = await send('COMMIT');
    t.equal(commit.status, 200, commit.text);
    t.equal((await c.cmd({ cmd: 'FINDX', class: 'DeviceType', args: { name: 'queued1' } })).body.data.oidlist.length, 1);
  });

  await t.test('sysadmin by claim', async (t) => {
    const token = await idp.sign({ preferred_username: 'alice', groups: ['staff', 'cced-admins'] });
    const users = await rest(d2, bearer(token)).get('/api/users');
    t.equal(users.status, 200);
    t.ok(users.body.users.some((u: any) => u.username === 'alice'));
    const create = await http(`${d2.url}/v2/cce`, { cmd: 'CREATE DeviceType name="byclaim"' }, { headers: bearer(token) });
    t.equal(create.status, 200, create.text);
    // A string claim equal to the value counts as well; another value does not.
    t.equal((await rest(d2, bearer(await idp.sign({ preferred_username: 'alice', groups: 'cced-admins' }))).get('/api/users')).status, 200);
    t.equal((await rest(d2, bearer(await idp.sign({ preferred_username: 'alice', groups: ['cced-admin'] }))).get('/api/users')).status, 403);
  });

  await t.test('missing token: 401 with WWW-Authenticate: Bearer; /v2/cce stays anonymous', async (t) => {
    const r = await rest(d2).get('/api/auth/me');
    t.strictSame(refusal(r), [401, 'Missing bearer token']);
    t.equal(r.headers['www-authenticate'], 'Bearer');
    const who = await http(`${d2.url}/v2/cce`, { cmd: 'WHOAMI' });
    t.equal(who.body.data.oid, '-1');
  });

  await t.test('each bad token: the same refusal on every door', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = await idp.stranger();
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(idp.key.publicJwk));
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ iss: idp.issuer, aud: AUDIENCE, preferred_username: 'alice', exp: now + 300 }))}.`;
    const hs256 = await new SignJWT({ iss: idp.issuer, aud: AUDIENCE, preferred_username: 'alice', exp: now + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: idp.key.kid })
      .sign(publicKeyBytes);
    const cases: [string, string, string][] = [
      ['expired', await idp.sign({ preferred_username: 'alice', exp: now - 120, iat: now - 600 }), 'Token expired'],
      ['wrong audience', await idp.sign({ preferred_username: 'alice', aud: 'another-client' }), 'Token audience does not match'],
      ['wrong issuer', await idp.sign({ preferred_username: 'alice', iss: 'https://evil.example.com/realms/test' }), 'Token issuer does not match'],
      ['no exp', await idp.sign({ preferred_username: 'alice', exp: undefined }), 'Token has no valid exp'],
      ['bad signature', await idp.sign({ preferred_username: 'alice' }, { key: stranger }), 'Invalid token signature'],
      ['alg none', unsigned, 'Token algorithm not allowed'],
      ['HS256 signed with the public key', hs256, 'Token algorithm not allowed'],
      ['unknown kid', await idp.sign({ preferred_username: 'alice' }, { key: await idp.stranger('nobody') }), 'No key of the identity provider matches the token'],
      ['unknown user', await idp.sign({ preferred_username: 'mallory' }), 'Unknown user'],
      ['disabled user', await idp.sign({ preferred_username: 'bob' }), 'User disabled'],
      ['user not authorized', await idp.sign({ preferred_username: 'dora' }), 'User disabled'],
      ['no user claim', await idp.sign({}), 'Token names no user (claim preferred_username)'],
      ['api-admin', await idp.sign({ preferred_username: 'api-admin' }), 'User disabled'],
      ['not yet valid', await idp.sign({ preferred_username: 'alice', nbf: now + 600 }), 'Token not yet valid'],
      ['a claim of the wrong type', await idp.sign({ preferred_username: 'alice', iat: 'yesterday' as unknown as number }), 'Token claim iat is invalid'],
      ['not a JWT', 'bm90IGpzb24.bm90IGpzb24.c2ln', 'Malformed token'],
    ];
    for (const [name, token, words] of cases) {
      const doors = [
        await rest(d2, bearer(token)).get('/api/auth/me'),
        await rest(d2, bearer(token)).get('/api/devices'),
        await rest(d2, bearer(token)).get('/api/devices/NOSUCHKEY/tunnel-pending'),
        await rest(d2, bearer(token)).get('/api/ssh-keys?user=alice'),
        await cceWhoami(d2, token),
        await http(`${d2.url}/v2/events`, undefined, { headers: bearer(token) }),
      ];
      for (const r of doors) t.strictSame(refusal(r), [403, words], name);
      t.equal(doors[5]!.body.error, 'Forbidden', `${name}: /v2/events answers as /v2/cce`);
      t.equal(doors[4]!.body.error, 'Forbidden', `${name}: /v2/cce's refusal shape`);
    }
    t.notOk(d2.logs.some((l) => cases.some(([, token]) => l.includes(token))), 'no token in any log line');
  });

  await t.test('key rotation: a token with a new kid fetches the key set again', async (t) => {
    const before = idp.hits.get('/jwks') ?? 0;
    await idp.rotate();
    const token = await idp.sign({ preferred_username: 'alice' });
    t.equal((await rest(d2, bearer(token)).get('/api/auth/me')).status, 200);
    t.ok((idp.hits.get('/jwks') ?? 0) > before, 'the key set was fetched again');
    t.equal((await cceWhoami(d2, token)).status, 200);
  });

  await t.test('a user disabled after its token was verified loses it at once', async (t) => {
    await c.cmd('CREATE User name="erin" password="erin-pass-12"');
    const token = await idp.sign({ preferred_username: 'erin' });
    t.equal((await rest(d2, bearer(token)).get('/api/auth/me')).status, 200);
    await c.cmd(`SET ${await userOid(d2, 'erin')} enabled="0"`);
    t.strictSame(refusal(await rest(d2, bearer(token)).get('/api/auth/me')), [403, 'User disabled']);
    t.strictSame(refusal(await cceWhoami(d2, token)), [403, 'User disabled']);
  });

  await t.test('a session or a LOGIN token in the envelope wins over the bearer header', async (t) => {
    const token = await idp.sign({ preferred_username: 'alice' });
    const r = await http(`${d2.url}/v2/cce`, { cmd: 'WHOAMI', user: 'admin', sessionid: c.sessionid }, { headers: bearer(token) });
    t.not(Number(r.body.data.oid), alice);
  });
});

t.test('the identity provider down: 503, then the daemon recovers', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  idp.down = true;
  const d = await startDaemon({ config: oidcConfig(idp) });
  t.teardown(() => d.close());
  const c = await adminClient(d);
  await c.cmd('CREATE User name="alice" password="alice-pass-1"');
  const token = await idp.sign({ preferred_username: 'alice' });
  const meeting = await rest(d, bearer(token)).get('/api/auth/me');
  t.equal(meeting.status, 503);
  t.match(meeting.body.error, /^OIDC identity provider unavailable: its discovery document could not be fetched; try again later$/);
  const cce = await cceWhoami(d, token);
  t.strictSame(refusal(cce), refusal(meeting), '/v2/cce answers the same');
  idp.down = false;
  // A failed discovery is answered again for a second before the next attempt.
  let r = await rest(d, bearer(token)).get('/api/auth/me');
  for (let i = 0; i < 40 && r.status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await rest(d, bearer(token)).get('/api/auth/me');
  }
  t.equal(r.status, 200, 'recovered');
  // Discovered, then the key set unreachable for a new kid: 503 again, never a pass.
  idp.down = true;
  await idp.rotate();
  const rotated = await idp.sign({ preferred_username: 'alice' });
  const down = await rest(d, bearer(rotated)).get('/api/auth/me');
  t.strictSame(refusal(down), [503, 'OIDC identity provider unavailable: its key set could not be fetched; try again later']);
  t.strictSame(refusal(await cceWhoami(d, rotated)), refusal(down));
  idp.down = false;
  t.equal((await rest(d, bearer(rotated)).get('/api/auth/me')).status, 200);
  // A token verified before keeps working while the provider is down (its grant is remembered).
  idp.down = true;
  t.equal((await rest(d, bearer(token)).get('/api/auth/me')).status, 200);
});

t.test('the discovery document must name the configured issuer exactly', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const d = await startDaemon({ config: oidcConfig(idp, { oidc_issuer: `${idp.issuer}/` }) });
  t.teardown(() => d.close());
  const token = await idp.sign({ preferred_username: 'admin', iss: `${idp.issuer}/` });
  const r = await rest(d, bearer(token)).get('/api/auth/me');
  t.equal(r.status, 503);
  t.match(r.body.error, /names the issuer .*, not the configured one/);
  // No discovery document at all under that issuer.
  const lost = await startDaemon({ config: oidcConfig(idp, { oidc_issuer: `${idp.issuer}-gone` }) });
  t.teardown(() => lost.close());
  const gone = await rest(lost, bearer(await idp.sign({ preferred_username: 'admin', iss: `${idp.issuer}-gone` }))).get('/api/auth/me');
  t.strictSame(refusal(gone), [503, 'OIDC identity provider unavailable: its discovery document answered HTTP 404; try again later']);
});

t.test('oidc_auto_create makes an unknown user on its first valid token', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const d = await startDaemon({ config: oidcConfig(idp, { oidc_auto_create: 'true', oidc_user_claim: 'email' }) });
  t.teardown(() => d.close());
  const token = await idp.sign({ email: 'new.person@example.com' });
  const me = await rest(d, bearer(token)).get('/api/auth/me');
  t.equal(me.status, 200);
  t.equal(me.body.username, 'new.person@example.com');
  t.equal(me.body.role, 'user');
  t.strictSame(refusal(await rest(d, bearer(await idp.sign({ email: 'not a name' }))).get('/api/auth/me')), [403, 'Token names no user (claim email)']);
});

t.test('failed tokens count toward the bans, as failed AUTH does', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const d = await startDaemon({ config: oidcConfig(idp, { api_auth_fails: '3', api_ban_time: '60' }) });
  t.teardown(() => d.close());
  const c = await adminClient(d);
  await c.cmd('CREATE User name="alice" password="alice-pass-1"');
  const stranger = await idp.stranger();
  const forged = await idp.sign({ preferred_username: 'alice' }, { key: stranger });
  for (let i = 0; i < 3; i++) t.equal((await rest(d, bearer(forged)).get('/api/auth/me')).status, 403);
  // Alice's tokens from this address are banned now, a good one included; another user's are not.
  const good = await idp.sign({ preferred_username: 'alice' });
  const banned = await rest(d, bearer(good)).get('/api/auth/me');
  t.equal(banned.status, 429);
  t.ok(Number(banned.headers['retry-after']) > 0);
  t.equal((await cceWhoami(d, good)).status, 429, '/v2/cce is banned alike');
  t.equal((await rest(d, bearer(await idp.sign({ preferred_username: 'admin' }))).get('/api/auth/me')).status, 200);
  t.ok(d.logs.some((l) => /"audit":"OIDC".*"outcome":"fail"/.test(l)), 'each failure is audited');
  t.ok(d.logs.some((l) => /"audit":"BAN".*"kind":"oidc"/.test(l)), 'the ban names its kind');
});

t.test('with OIDC off a JWT is no credential: a bearer grant check on the Meeting paths, anonymous on /v2/cce', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const d = await startDaemon();
  t.teardown(() => d.close());
  const token = await idp.sign({ preferred_username: 'admin' });
  t.strictSame(refusal(await rest(d, bearer(token)).get('/api/auth/me')), [403, 'Invalid or expired token']);
  t.equal((await cceWhoami(d, token)).body.data.oid, '-1');
  t.equal(idp.hits.size, 0, 'the provider is never asked');
});
