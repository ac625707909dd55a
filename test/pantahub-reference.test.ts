/**
 * The Pantahub paths in the API reference (/api/openapi.json): each names its
 * caller (a Pantahub token where one is needed), its success reply's schema,
 * its own errors in the seed's `{"Error": ...}` body; and real replies over
 * HTTP match the reply schemas the reference is built from.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { PANTAHUB_ERRORS } from '../src/errors.js';
import { http, startDaemon, adminClient } from './helpers/daemon.js';
import { makeUser } from './helpers/replies.js';
import { deviceReply, loginReply, statusReply, tokenReply } from '../src/facades/pantahub/schemas.js';

const ERROR = { type: 'object', properties: { Error: { type: 'string' } }, required: ['Error'], additionalProperties: false };

t.test('every Pantahub operation: caller, reply schema, own errors in {"Error"}', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const doc = (await http(`${d.url}/api/openapi.json`, undefined, { method: 'GET' })).body;
  const ops = Object.entries(doc.paths as Record<string, Record<string, any>>)
    .filter(([p]) => p === '/auth/login' || p.startsWith('/devices'))
    .flatMap(([p, item]) => Object.entries(item).map(([m, op]) => [`${m.toUpperCase()} ${p}`, op] as const));
  t.equal(ops.length, 24, 'every Pantahub route is listed');
  for (const [name, op] of ops) {
    t.ok(op.responses['200'].content?.['application/json']?.schema, `${name}: a reply schema`);
    t.equal(/Anyone the gate lets in/.test(op.description), name === 'POST /auth/login', `${name}: its caller`);
    for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
      if (status === '200') continue;
      // The gate's own refusals (403 outside the gate, 429 banned address) keep the gate's shape unless the path answers them too.
      const gate = r.content['application/json'].schema.properties.error !== undefined;
      t.ok(gate ? ['403', '429'].includes(status) : true, `${name} ${status}: only the gate's refusals are not {"Error"}`);
      if (!gate) t.strictSame(r.content['application/json'].schema, ERROR, `${name} ${status}: {"Error": ...}`);
    }
  }
  const op = (m: string, p: string) => doc.paths[p][m];
  t.match(op('put', '/devices/{id}').responses, { 403: { description: /challenge is wrong/ }, 404: { description: /No device/ }, 429: { description: /failed too often/ } });
  t.match(op('patch', '/devices/{id}').responses['409'], { description: /Device unique constraint violated/ });
  t.match(op('post', '/devices/').responses['403'], { description: /Auto-Token/ });
  t.match(op('delete', '/devices/tokens/{id}').responses['404'], { description: /token/ });
  t.strictSame(op('get', '/devices/').security, [{ pantahubToken: [] }]);
  t.strictSame(op('post', '/devices/').security, [{}, { pantahubToken: [] }], 'registration: anyone, or a user with a token');
  t.match(op('get', '/devices/').parameters, [{ name: 'owner', in: 'query', required: false }, { name: 'owner-nick', in: 'query', required: false }]);
  t.match(op('post', '/devices/tokens').requestBody.content['application/json'].schema.properties, { 'max-uses': { type: 'integer', minimum: 1 }, 'expires-at': { type: 'string' } });
  t.match(op('get', '/devices/{id}').responses['200'].content['application/json'].schema, { type: 'object', required: ['device-meta', 'id', 'nick', 'owner', 'prn', 'public', 'time-created', 'time-modified', 'user-meta'] });
});

t.test('real replies match the reply schemas', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  await makeUser(await adminClient(d), 'user1', 'user1-password');
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => http(`${d.url}${path}`, body, { method, headers });
  const login = (await call('POST', '/auth/login', { username: 'user1', password: 'user1-password' })).body;
  t.ok(loginReply.safeParse(login).success, 'login');
  const auth = { authorization: `Bearer ${login.token}` };
  const self = (await call('POST', '/devices/', { secret: 'mysec1' })).body;
  t.ok(deviceReply.strict().safeParse(self).success, 'self-registration');
  const claimed = (await call('PUT', `/devices/${self.id}?challenge=${self.challenge}`, undefined, auth)).body;
  t.ok(deviceReply.strict().safeParse(claimed).success, 'claim');
  const tok = (await call('POST', '/devices/tokens', {}, auth)).body;
  t.ok(tokenReply.strict().safeParse(tok).success, 'token');
  const joined = (await call('POST', '/devices/', undefined, { 'pantahub-devices-auto-token-v1': tok.token })).body;
  t.ok(deviceReply.strict().safeParse(joined).success, 'auto-assigned');
  t.ok(deviceReply.array().safeParse((await call('GET', '/devices/', undefined, auth)).body).success, 'list');
  t.ok(tokenReply.array().safeParse((await call('GET', '/devices/tokens', undefined, auth)).body).success, 'token list');
  t.ok(statusReply.safeParse((await call('DELETE', `/devices/tokens/${tok.id}`, undefined, auth)).body).success, 'disable');
});

t.test('docs/pantahub.md lists every PANTAHUB_ERRORS code with its status, and no other', async (t) => {
  const page = readFileSync('docs/pantahub.md', 'utf8');
  const rows = [...page.matchAll(/^\| `(pantahub\.[a-z-]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
  t.strictSame(
    rows.toSorted(([a], [b]) => a.localeCompare(b)),
    Object.entries(PANTAHUB_ERRORS).map(([code, e]) => [code, e.http] as const).toSorted(([a], [b]) => a.localeCompare(b)),
  );
});
