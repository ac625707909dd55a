/**
 * Patterns that make a backtracking engine run for hours (`.*` twelve times
 * before a missing `!`, `(a|a)*$`, `(a|ab)*c`, `(a?){25}a{25}`), sent by a
 * user who is not an administrator against long values, through every
 * command that takes a client pattern: each answers the exact result, and a
 * PING sent alongside answers too.
 */
import t from 'tap';
import { startDaemon, adminClient, http, CceClient, type HttpResult } from './helpers/daemon.js';
import { GOODBYE } from './helpers/replies.js';
import { MAX_SEARCHED_LENGTH } from '../src/store/safe-regex.js';

/** Each pattern with a backtracking-free way to say which values it matches. */
const ATTACKS: [pattern: string, matches: (v: string) => boolean][] = [
  ['.*.*.*.*.*.*.*.*.*.*.*.*!', (v) => v.includes('!')],
  ['^(a|a)*$', (v) => /^a*$/.test(v)],
  ['(a|ab)*c', (v) => v.includes('c')],
  ['(a?){25}a{25}', (v) => v.includes('a'.repeat(25))],
];

/** fullName values: long, most of them almost matching. */
const VALUES: Record<string, string> = {
  xs: 'x'.repeat(4000),
  xs_bang: 'x'.repeat(3999) + '!',
  as: 'a'.repeat(4000),
  as_b: 'a'.repeat(4000) + 'b',
  a24: 'a'.repeat(24),
  a24b: ('a'.repeat(24) + 'b').repeat(150),
  abs: 'ab'.repeat(2000),
  abs_c: 'ab'.repeat(1999) + 'c',
  // Longer than values are searched: never matches, whatever the pattern.
  too_long: 'a'.repeat(MAX_SEARCHED_LENGTH) + '!c',
};

t.test('no pattern hangs FIND, FINDX, GETOBJECT or GETALL, and each answers exactly', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  for (const [name, fullName] of Object.entries(VALUES)) {
    const r = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name, fullName } });
    t.equal(r.body.status, 201, `CREATE ${name}`);
  }
  t.equal((await admin.cmd('CREATE User name="mallory" password="mallory-pw"')).body.status, 201);
  const mallory = await new CceClient(d, 'mallory').login('mallory-pw');

  // Every user's fullName (the bootstrap users' too), to know the exact answers.
  const everyone = (await admin.cmd({ cmd: 'GETALL', class: 'User', args: {} })).body.data.objects as Record<string, { OBJECT: { fullName: string } }>;
  const users = Object.entries(everyone).map(([oid, o]) => ({ oid: Number(oid), fullName: o.OBJECT.fullName }));
  t.ok(users.length >= Object.keys(VALUES).length + 2);

  /** A command, with a PING sent while it runs: both answer. */
  const withPing = async (body: string | Record<string, unknown>): Promise<HttpResult> => {
    const [reply, pong] = await Promise.all([mallory.cmd(body), http(`${d.url}/v2/cce`, { cmd: 'PING' })]);
    t.strictSame(pong.body, { status: 202, message: 'PONG' }, 'PING answers');
    return reply;
  };

  for (const [pattern, matches] of ATTACKS) {
    const expected = users.filter((u) => u.fullName.length <= MAX_SEARCHED_LENGTH && matches(u.fullName)).map((u) => u.oid);
    t.ok(expected.length > 0 && expected.length < users.length, `${pattern}: some users match, some do not`);
    const oidlist = expected.map(String);

    const find = await withPing(`FIND User fullName ~ "${pattern}"`);
    t.strictSame(find.body, { ...GOODBYE, data: { oidlist } }, `FIND ~ ${pattern}`);

    const findx = await withPing({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: pattern } });
    t.strictSame(findx.body, { status: 201, message: 'OK', data: { oidlist } }, `FINDX ${pattern}`);

    const one = await withPing({ cmd: 'GETOBJECT', class: 'User', regex_args: { fullName: pattern } });
    t.equal(one.body.status, 201, `GETOBJECT ${pattern}`);
    t.equal(one.body.data.DATA.OID, oidlist[0], `GETOBJECT ${pattern}: the first match`);

    const all = await withPing({ cmd: 'GETALL', class: 'User', regex_args: { fullName: pattern } });
    t.equal(all.body.status, 201, `GETALL ${pattern}`);
    t.strictSame(Object.keys(all.body.data.objects), oidlist, `GETALL ${pattern}`);
  }
});
