/**
 * Bad input on POST /v2/cce: a precise error, never a stack trace, and the
 * store unchanged (a GETALL snapshot of every object before and after).
 */
import t, { type Test } from 'tap';
import { startDaemon, adminClient, http, onPostgres } from './helpers/daemon.js';
import { failure, snapshot } from './helpers/replies.js';
import { sqliteOf } from './helpers/sqlite.js';
import { dropPostgresStore } from './helpers/store-rows.js';
import { adminRest, newDevice, seedCatalog } from './helpers/meeting.js';

const d = await startDaemon({ config: { max_body_bytes: '1024' } });
t.teardown(() => d.close());
const admin = await adminClient(d);
// Something to lose besides System, admin and api-admin. The cases below name it as oid 4.
const victim = await admin.cmd('CREATE User name="victim" fullName="V"');
if (victim.body.data.oid !== '4') throw new Error(`the victim is oid ${victim.body.data.oid}, the cases expect 4`);
const url = `${d.url}/v2/cce`;
const auth = () => ({ user: 'admin', sessionid: admin.sessionid });

/** No reply may carry a stack trace or an internal path. */
function noStack(t: Test, text: string) {
  t.notMatch(text, /\bat .*\(.*:\d+:\d+\)|node:internal|\/work\/|\.ts:\d+/, 'no stack trace');
}

async function unchanged(t: Test, fn: () => Promise<void>) {
  const before = await snapshot(admin);
  await fn();
  t.strictSame(await snapshot(admin), before, 'store unchanged');
}

t.test('malformed JSON is HTTP 400 with a JSON body', (t) =>
  unchanged(t, async () => {
    for (const raw of ['{bad', '{"cmd":"DESTROY 4"', '', '\u0000', '{"cmd":"DESTROY 4",}']) {
      const r = await http(url, raw);
      t.equal(r.status, 400, JSON.stringify(raw));
      t.match(r.headers['content-type'], /application\/json/);
      t.match(r.body, { statusCode: 400, error: 'Bad Request', message: /^malformed JSON: / });
      noStack(t, r.text);
    }
    // curl -d sends form-urlencoded: the body is JSON whatever the Content-Type says.
    const form = await http(url, `{"cmd":"GET 4","user":"admin","sessionid":"${admin.sessionid}"}`, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(form.status, 200);
    t.equal(form.body.data.DATA.name, 'victim');
    const formBad = await http(url, 'cmd=GET+3', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(formBad.status, 400);
    t.match(formBad.body, { statusCode: 400, message: /^malformed JSON/ });
  }),
);

t.test('a body over max_body_bytes is HTTP 413 with a JSON body', (t) =>
  unchanged(t, async () => {
    const r = await http(url, { cmd: 'SET 4 fullName="x"', ...auth(), pad: 'x'.repeat(2000) });
    t.equal(r.status, 413);
    t.match(r.body, { statusCode: 413, error: 'Payload Too Large', code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    noStack(t, r.text);
  }),
);

t.test('non-object bodies, missing cmd and wrong field types are 403 BAD PARAMETERS', (t) =>
  unchanged(t, async () => {
    const cases: [unknown, string][] = [
      ['[{"cmd":"DESTROY 4"}]', 'Invalid input: expected object, received array'],
      ['5', 'Invalid input: expected object, received number'],
      ['"DESTROY 4"', 'Invalid input: expected object, received string'],
      ['null', 'Invalid input: expected object, received null'],
      ['true', 'Invalid input: expected object, received boolean'],
      [{}, 'cmd: Invalid input: expected string, received undefined'],
      [{ cmd: '' }, 'cmd: cmd is empty'],
      [{ cmd: '   ' }, 'cmd: cmd is empty'],
      [{ cmd: 5 }, 'cmd: Invalid input: expected string, received number'],
      [{ cmd: ['DESTROY 4'] }, 'cmd: Invalid input: expected string, received array'],
      [{ cmd: 'SET', oid: '4', args: 'x', ...auth() }, 'args: Invalid input: expected record, received string'],
      [{ cmd: 'SET', oid: '4', args: { fullName: { nested: 1 } }, ...auth() }, 'args.fullName: Invalid input'],
      [{ cmd: 'GETALL', oids: '1', ...auth() }, 'oids: Invalid input: expected array, received string'],
      [{ cmd: 'GETALL', oids: [-1], ...auth() }, 'oids.0: Too small: expected number to be >=0'],
      [{ cmd: 'GET 4', user: 5, sessionid: admin.sessionid }, 'user: Invalid input: expected string, received number'],
      [{ cmd: 'GET 4', format: 'xml', ...auth() }, 'format: Invalid option: expected one of "cce"|"json"'],
      [{ cmd: 'FINDX', class: 'User', regex_args: { name: 1 }, ...auth() }, 'regex_args.name: Invalid input: expected string, received number'],
      [{ cmd: 'DESTROY 4', ...auth(), oid: true }, 'oid: Invalid input'],
    ];
    for (const [body, why] of cases) {
      const r = await http(url, body);
      t.equal(r.status, 400, JSON.stringify(body));
      t.equal(r.body.status, 401);
      t.equal(r.body.message, 'GOODBYE');
      t.equal(r.body.data.errors.length, 2);
      t.equal(r.body.data.errors[0].code, 403);
      t.ok(r.body.data.errors[0].message.startsWith(`BAD PARAMETERS ${why}`), `${JSON.stringify(body)}: ${r.body.data.errors[0].message}`);
      t.strictSame(r.body.data.errors[1], { code: 401, message: 'FAIL' });
      noStack(t, r.text);
    }
  }),
);

t.test('newline injection in cmd is a 306 and runs nothing', (t) =>
  unchanged(t, async () => {
    for (const cmd of ['GET 1\nDESTROY 4', 'GET 1\r\nDESTROY 4', 'SET 4 fullName="a"\nDESTROY 4', 'GET 1\u0000DESTROY 4', 'SET 4 fullName="a\nb"']) {
      const r = await http(url, { cmd, ...auth() });
      t.equal(r.status, 400);
      t.strictSame(r.body, failure([306, 'ERROR control character in command line'], [402, 'BAD COMMAND']), JSON.stringify(cmd));
    }
  }),
);

t.test('__proto__ and constructor keys do not pollute', (t) =>
  unchanged(t, async () => {
    const bodies = [
      `{"cmd":"SET","oid":"4","user":"admin","sessionid":"${admin.sessionid}","args":{"__proto__":{"polluted":"yes"}}}`,
      `{"cmd":"SET","oid":"4","user":"admin","sessionid":"${admin.sessionid}","__proto__":{"polluted":"yes"}}`,
      `{"cmd":"GET 4","user":"admin","sessionid":"${admin.sessionid}","constructor":{"prototype":{"polluted":"yes"}}}`,
    ];
    for (const b of bodies) {
      const r = await http(url, b);
      t.ok(r.status < 500, `handled: ${r.status}`);
      noStack(t, r.text);
    }
    const ctor = await http(url, { cmd: 'SET', oid: '4', args: { constructor: 'x' }, ...auth() });
    t.strictSame(ctor.body, failure([302, 'BAD DATA 4 constructor "[[base-cce.unknownAttr]]"']));
    const proto = await http(url, { cmd: 'CREATE', class: 'User', args: { toString: 'x', name: 'p1' }, ...auth() });
    t.strictSame(proto.body, failure([302, 'BAD DATA 0 toString "[[base-cce.unknownAttr]]"']));
    t.strictSame((await http(url, { cmd: 'SET 4 __proto__="x"', ...auth() })).body, failure([302, 'BAD DATA 4 __proto__ "[[base-cce.unknownAttr]]"']));
    t.strictSame((await http(url, { cmd: 'SET 4 . __proto__ a="x"', ...auth() })).body, failure([303, 'UNKNOWN NAMESPACE __proto__']));
    t.strictSame((await http(url, { cmd: 'NAMES constructor', ...auth() })).body, failure([301, 'UNKNOWN CLASS constructor']));
    t.strictSame((await http(url, { cmd: 'FIND User hasOwnProperty = "x"', ...auth() })).body, failure([302, 'BAD DATA 0 hasOwnProperty "[[base-cce.unknownAttr]]"']));
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    t.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  }),
);

t.test('unknown routes and methods are JSON 404s', (t) =>
  unchanged(t, async () => {
    for (const [method, p] of [['GET', '/nope'], ['GET', '/v2/cce'], ['PUT', '/v2/cce'], ['POST', '/v2/cce/extra'], ['DELETE', '/']] as const) {
      const r = await http(`${d.url}${p}`, method === 'GET' || method === 'DELETE' ? undefined : '{}', { method });
      t.equal(r.status, 404, `${method} ${p}`);
      t.strictSame(r.body, { statusCode: 404, error: 'Not Found', message: `no route ${method} ${p}` });
    }
    const q = await http(`${d.url}/nope?sessionid=${admin.sessionid}`);
    t.strictSame(q.body.message, 'no route GET /nope', 'the query string is not echoed');
  }),
);

t.test('no reply carries a stack trace, whatever the input', (t) =>
  unchanged(t, async () => {
    const lines = ['GET 1 ; x', 'FIND User name ~ "(?<"', 'SET 4 fullName="\\400"', 'GET 99999999999999999999', 'SET', 'CREATE User name=', '"unterminated'];
    for (const cmd of lines) {
      const r = await http(url, { cmd, ...auth() });
      t.ok(r.status >= 400 && r.status < 500, `${cmd}: ${r.status}`);
      t.equal(r.body.status, 401);
      noStack(t, r.text);
    }
  }),
);

t.test('a POST with no body at all is malformed JSON', (t) =>
  unchanged(t, async () => {
    const r = await http(url, undefined, { method: 'POST' });
    t.equal(r.status, 400);
    t.strictSame(r.body, { statusCode: 400, error: 'Bad Request', message: 'malformed JSON: Unexpected end of JSON input' });
  }),
);

t.test('an internal failure is a JSON 500 without details, and is logged', async (t) => {
  const broken = await startDaemon();
  t.teardown(() => broken.close());
  const c = await adminClient(broken);
  // The database going away under the daemon is not the client's mistake.
  if (onPostgres) await dropPostgresStore(broken.config.state_dir);
  else sqliteOf(broken.app.services.store).close();
  const r = await c.cmd('GET 1');
  t.equal(r.status, 500);
  t.strictSame(r.body, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  noStack(t, r.text);
  const logged = broken.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'internal error');
  t.equal(logged.length, 1);
  t.match(logged[0].err.message, onPostgres ? /relation "\w+" does not exist/ : /database connection is not open/);
});

// PostgreSQL's text cannot hold U+0000: on it these were 500s (a CREATE or SUSPEND holding one, a FIND or a device
// lookup by one). No stored value holds one on either backend: a write is refused, a lookup finds nothing.
t.test('U+0000 in a value is refused, and a lookup by one finds nothing, on every backend', async (t) => {
  const rest = await adminRest(d);
  await seedCatalog(d);
  const { key } = await newDevice(rest);
  await unchanged(t, async () => {
    const nul = (cmd: string) => http(url, { cmd, ...auth() });
    t.strictSame((await nul('CREATE User name="nul" fullName="a\\000b"')).body, failure([302, 'BAD DATA 0 fullName "[[base-cce.invalidData]]"']));
    t.strictSame((await http(url, { cmd: 'SET', oid: '4', args: { fullName: 'a\u0000b' }, ...auth() })).body, failure([302, 'BAD DATA 4 fullName "[[base-cce.invalidData]]"']));
    t.strictSame((await nul('SUSPEND "r\\000s"')).body, failure([403, 'BAD PARAMETERS the reason may not hold U+0000']));
    t.strictSame((await http(url, { cmd: 'SUSPEND', reason: 'r\u0000s', ...auth() })).body, failure([403, 'BAD PARAMETERS the reason may not hold U+0000']));
    const found = await nul('FIND User name="V\\000"');
    t.equal(found.status, 200);
    t.strictSame(found.body.data?.oidlist ?? [], [], 'FIND by a value holding U+0000: nothing');
    const findx = await http(url, { cmd: 'FINDX', class: 'User', args: { fullName: 'V\u0000' }, ...auth() });
    t.strictSame([findx.status, findx.body.data.oidlist], [200, []], 'FINDX too');
    t.equal((await rest.get('/api/devices/a%00b')).status, 404, 'a device looked up by a key holding U+0000: not found');
    // After "<key>\0x": the device whose key is that text up to U+0000 sorts below it, so the page is empty.
    const cursor = (after: string) => rest.get(`/api/devices?limit=5&after=${encodeURIComponent(after)}`);
    for (const [after, keys] of [[`${key}\u0000x`, []], [`${key.slice(0, -1)}\u0000`, [key]], ['\u0000', [key]]] as const) {
      const page = await cursor(after);
      t.strictSame([page.status, page.body.devices.map((x: { device_key: string }) => x.device_key)], [200, keys], `a cursor holding U+0000 pages on: ${JSON.stringify(after)}`);
    }
  });
});

// An oid past 2^53 names no object (Number() would round it to another): on PostgreSQL, whose bigint ends at 2^63, a
// SET of one asked the database about 1e20 and answered 500.
t.test('an oid past the safe integers names no object, on every backend', (t) =>
  unchanged(t, async () => {
    for (const oid of ['99999999999999999999', '9007199254740993', '18446744073709551616']) {
      const set = await http(url, { cmd: 'SET', oid, args: { fullName: 'x' }, ...auth() });
      t.ok(set.status >= 400 && set.status < 500, `SET ${oid}: ${set.status}`);
      t.equal(set.body.status, 401);
      for (const cmd of [`GET ${oid}`, `DESTROY ${oid}`, `SET ${oid} fullName="x"`]) {
        const r = await http(url, { cmd, ...auth() });
        t.ok(r.status >= 400 && r.status < 500, `${cmd}: ${r.status}`);
      }
    }
  }),
);

// PostgreSQL's unique index holds an entry of at most about 2,700 bytes: an incompressible unique value past it was a
// 500 there. A unique value holds at most MAX_UNIQUE_BYTES on both backends. (A daemon of its own: the one above
// takes bodies of 1 KiB at most.)
t.test('a unique value past 2,000 bytes is 302 tooLong; one of 2,000 is kept; on every backend', async (t) => {
  const big = await startDaemon();
  t.teardown(() => big.close());
  const root = await adminClient(big);
  const cce = (cmd: string) => root.cmd(cmd);
  // Incompressible (PostgreSQL compresses a long entry first), of the type's characters.
  const noise = (n: number) => Array.from({ length: n }, (_, i) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[(i * 7919 + ((i * i) % 61)) % 62]).join('');
  const victim = (await cce('CREATE User name="long-victim"')).body.data.oid as string;
  const before = await snapshot(root);
  for (const n of [2001, 2800, 10_000]) t.strictSame((await cce(`CREATE User name="${noise(n)}"`)).body, failure([302, 'BAD DATA 0 name "[[base-cce.tooLong]]"']), `${n} bytes`);
  t.strictSame((await cce(`SET ${victim} name="${noise(2001)}"`)).body, failure([302, 'BAD DATA ' + victim + ' name "[[base-cce.tooLong]]"']), 'SET too');
  t.strictSame(await snapshot(root), before, 'store unchanged');
  // Bytes, not characters: 667 three-byte characters are 2,001 bytes; fullName is not unique, so it has no such bound.
  t.equal((await cce(`SET ${victim} fullName="${'\u20ac'.repeat(667)}"`)).status, 200, 'a value that is not unique has no such bound');
  const name = noise(2000);
  const made = await cce(`CREATE User name="${name}"`);
  t.equal(made.status, 200, 'a unique value of 2,000 bytes is kept');
  t.strictSame((await cce(`FIND User name="${name}"`)).body.data.oidlist, [made.body.data.oid], 'and found by it');
});
