/**
 * The schema layer on its own: the loader (every error path, extend,
 * typedefs), each base typedef, CCE values and arrays, and ACL expressions.
 */
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSchema, SchemaError } from '../src/schema/loader.js';
import { BASE_TYPEDEFS } from '../src/schema/typedefs.js';
import { decodeArray, encodeArray, toCceString, toJsonValue, whyInvalid } from '../src/schema/values.js';
import { compileAcl } from '../src/schema/acl.js';
import type { AclSubject, PropertyDef } from '../src/schema/types.js';

/** A fixture dir with the given files (objects are written as JSON). */
let fixtures = 0;
const testdirs = new WeakMap<Test, string>();
function fixture(t: Test, files: Record<string, unknown>): string {
  // t.testdir() recreates its folder on each call: one per subtest, a sub-folder per fixture.
  if (!testdirs.has(t)) testdirs.set(t, t.testdir());
  const dir = path.join(testdirs.get(t)!, `f${++fixtures}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const cls = (name: string, extra: Record<string, unknown> = {}) => ({ class: name, ...extra });

t.test('loader: the shipped schema loads', async (t) => {
  const s = loadSchema(['schema']);
  t.strictSame([...s.classes.keys()].sort(), ['Device', 'DeviceType', 'Distribution', 'PantahubToken', 'SshKey', 'System', 'Tunnel', 'User']);
  const user = s.classes.get('User')!;
  t.strictSame([...user.namespaces.keys()], ['', 'Email']);
  t.equal(user.namespaces.get('Email')!.version, '1.1');
  const pw = user.namespaces.get('')!.properties.get('password')!;
  t.ok(pw.writeOnly);
  t.ok(pw.secret);
  t.equal(user.namespaces.get('')!.properties.get('enabled')!.default, '1');
  t.equal(s.classes.get('System')!.namespaces.get('')!.properties.get('locales')!.default, '&en_US&', 'array default canonical');
});

t.test('loader: every error path names the file and the problem', async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['bad JSON', { 'a.json': '{"classes": [' }, /a\.json: .*JSON/],
    ['top level not an object', { 'a.json': '[]' }, /a\.json: \(top\): Invalid input: expected object/],
    ['unknown top-level key', { 'a.json': { klasses: [] } }, /a\.json: \(top\): Unrecognized key: "klasses"/],
    ['unknown class key', { 'a.json': { classes: [cls('A', { bogus: 1 })] } }, /a\.json: classes\.0: Unrecognized key: "bogus"/],
    ['unknown property key', { 'a.json': { classes: [cls('A', { properties: { x: { tpye: 'int' } } })] } }, /classes\.0\.properties\.x: Unrecognized key: "tpye"/],
    ['bad class name', { 'a.json': { classes: [cls('A-B')] } }, /classes\.0\.class: class names are letters, digits and _/],
    ['bad property name', { 'a.json': { classes: [cls('A', { properties: { 'x.y': {} } })] } }, /a\.json: classes\.0\.properties\.x\.y: Invalid key in record/],
    ['unknown type', { 'a.json': { classes: [cls('A', { properties: { x: { type: 'nope' } } })] } }, /a\.json: A\.x: unknown type "nope"/],
    ['bad default', { 'a.json': { classes: [cls('A', { properties: { x: { type: 'int', default: 'x' } } })] } }, /A\.x: default "x" is not a valid int/],
    ['default of the wrong JSON type', { 'a.json': { classes: [cls('A', { properties: { x: { type: 'int', default: true } } })] } }, /A\.x: default true is not a valid int/],
    ['array default on a scalar', { 'a.json': { classes: [cls('A', { properties: { x: { type: 'word', default: ['a'] } } })] } }, /A\.x: default \["a"\] is not a valid word/],
    ['bad readacl', { 'a.json': { classes: [cls('A', { properties: { x: { readacl: 'ruleBogus' } } })] } }, /A\.x: readacl: unknown rule ruleBogus/],
    ['bad writeacl', { 'a.json': { classes: [cls('A', { properties: { x: { writeacl: 'ruleAll AND' } } })] } }, /A\.x: writeacl: unexpected end of expression/],
    ['bad createacl', { 'a.json': { classes: [cls('A', { createacl: '(ruleAll' })] } }, /a\.json: A: createacl: missing \)/],
    ['bad destroyacl', { 'a.json': { classes: [cls('A', { destroyacl: 'ruleCapable' })] } }, /A: destroyacl: ruleCapable needs \(capability\)/],
    ['class defined twice', { 'a.json': { classes: [cls('A'), cls('A')] } }, /A: defined twice \(use "extend": true to add to it\)/],
    ['class defined twice across files', { 'a.json': { classes: [cls('A')] }, 'b.json': { classes: [cls('A')] } }, /b\.json: A: defined twice/],
    ['extend without base', { 'a.json': { classes: [cls('A', { extend: true })] } }, /a\.json: A: extends a class that is not defined before it/],
    ['extend before base (files by name)', { 'a.json': { classes: [cls('B', { extend: true })] }, 'b.json': { classes: [cls('B')] } }, /a\.json: B: extends a class/],
    [
      'duplicate property',
      { 'a.json': { classes: [cls('A', { properties: { x: {} } })] }, 'b.json': { classes: [cls('A', { extend: true, properties: { x: {} } })] } },
      /b\.json: A\.x: defined twice/,
    ],
    [
      'duplicate namespace property',
      { 'a.json': { classes: [cls('A', { namespaces: { N: { properties: { x: {} } } } })] }, 'b.json': { classes: [cls('A', { extend: true, namespaces: { N: { properties: { x: {} } } } })] } },
      /b\.json: A\.N\.x: defined twice/,
    ],
    ['bad typedef regex', { 'a.json': { typedefs: { t1: { pattern: '(' } } } }, /a\.json: typedef t1: Invalid regular expression/],
    ['typedef redefining a base type', { 'a.json': { typedefs: { int: { pattern: '.*' } } } }, /a\.json: typedef int defined twice/],
    ['typedef defined in two files', { 'a.json': { typedefs: { t1: { pattern: '.*' } } }, 'b.json': { typedefs: { t1: { pattern: '.*' } } } }, /b\.json: typedef t1 defined twice/],
    ['bad typedef json kind', { 'a.json': { typedefs: { t1: { pattern: '.*', json: 'date' } } } }, /typedefs\.t1\.json: Invalid option/],
    ['maxlength not positive', { 'a.json': { classes: [cls('A', { properties: { x: { maxlength: 0 } } })] } }, /maxlength: Too small/],
    ['reference to nothing', { 'a.json': { classes: [cls('A', { properties: { x: { references: { class: 'Nope', property: 'name' } } } })] } }, /A\.x: references Nope\.name, which is not defined/],
    [
      'reference in a named namespace',
      { 'a.json': { classes: [cls('A', { properties: { x: {} }, namespaces: { N: { properties: { y: { references: { class: 'A', property: 'x' } } } } } })] } },
      /A\.N\.y: only single main-namespace properties may be references/,
    ],
    [
      'reference matching an undefined property',
      { 'a.json': { classes: [cls('A', { properties: { x: {}, y: { references: { class: 'A', property: 'x', match: { x: 'z' } } } } })] } },
      /A\.y: references: match x = z names an undefined property/,
    ],
    [
      'notSelf to another class',
      { 'a.json': { classes: [cls('B', { properties: { k: {} } }), cls('A', { properties: { x: { references: { class: 'B', property: 'k', notSelf: true } } } })] } },
      /A\.x: references: notSelf needs a reference to the class itself/,
    ],
    [
      'a reference by oid on a non-uint property',
      { 'a.json': { classes: [cls('A', { properties: { x: { references: { class: 'A', property: 'oid' } } } })] } },
      /A\.x: a reference by oid is a uint property, without match or notSelf/,
    ],
    [
      'a reference by oid with a match',
      { 'a.json': { classes: [cls('A', { properties: { k: {}, x: { type: 'uint', references: { class: 'A', property: 'oid', match: { k: 'k' } } } } })] } },
      /A\.x: a reference by oid is a uint property, without match or notSelf/,
    ],
    ['softDelete on a non-boolean', { 'a.json': { classes: [cls('A', { softDelete: 'x', properties: { x: {} } })] } }, /A: softDelete: x is not a boolean property of the class/],
    ['derivedFrom nothing', { 'a.json': { classes: [cls('A', { properties: { r: { derivedFrom: { property: 'y', values: { a: '1' } } } } })] } }, /A\.r: derivedFrom: y is not a stored property beside it/],
    [
      'derivedFrom with two values for one',
      { 'a.json': { classes: [cls('A', { properties: { f: { type: 'boolean', default: '0' }, r: { derivedFrom: { property: 'f', values: { a: '1', b: '1' } } } } })] } },
      /A\.r: derivedFrom: two values map to the same source value/,
    ],
    [
      'derivedFrom breaking a type',
      { 'a.json': { classes: [cls('A', { properties: { f: { type: 'boolean', default: '0' }, r: { type: 'word', derivedFrom: { property: 'f', values: { a: '1', b: '2' } } } } })] } },
      /A\.r: derivedFrom: b -> 2 breaks a type/,
    ],
    [
      'derivedFrom missing the default',
      { 'a.json': { classes: [cls('A', { properties: { f: { type: 'boolean', default: '0' }, r: { type: 'word', derivedFrom: { property: 'f', values: { a: '1' } } } } })] } },
      /A\.r: derivedFrom: the default of f maps to nothing/,
    ],
  ];
  for (const [name, files, re] of cases) {
    const dir = fixture(t, files);
    t.throws(() => loadSchema([dir]), { name: 'Error', message: re }, name);
    try {
      loadSchema([dir]);
    } catch (err) {
      t.type(err, SchemaError, `${name}: a SchemaError`);
    }
  }
  const missing = path.join(fixture(t, {}), 'nope');
  t.throws(() => loadSchema([missing]), { message: `${missing}: ENOENT` });
});

t.test('loader: extend adds properties and namespaces; typedefs; folders in order', async (t) => {
  const base = fixture(t, {
    '10-base.json': {
      typedefs: { color: { pattern: '^(red|blue)$', message: '[[my.badColor]]' }, level: { pattern: '^[0-9]$', json: 'number' } },
      classes: [cls('Thing', { version: '2.0', createacl: 'ruleUser', properties: { name: { type: 'word', unique: true }, color: { type: 'color', default: 'red' } } })],
    },
    '20-more.json': { classes: [cls('Thing', { extend: true, properties: { size: { type: 'level', default: 3 } }, namespaces: { Extra: { version: '1.5', properties: { a: { type: 'boolean', default: true } } } } })] },
    'notes.txt': 'ignored: not JSON by name',
  });
  const ext = fixture(t, {
    'a.json': { classes: [cls('Thing', { extend: true, namespaces: { Extra: { properties: { b: { type: 'uint', optional: true } } } } }), cls('Other')] },
  });
  const s = loadSchema([base, ext]);
  const thing = s.classes.get('Thing')!;
  t.equal(thing.version, '2.0');
  t.strictSame([...thing.namespaces.keys()], ['', 'Extra']);
  t.strictSame([...thing.namespaces.get('')!.properties.keys()], ['name', 'color', 'size']);
  t.strictSame([...thing.namespaces.get('Extra')!.properties.keys()], ['a', 'b']);
  t.equal(thing.namespaces.get('Extra')!.version, '1.5');
  const main = thing.namespaces.get('')!.properties;
  t.equal(main.get('color')!.default, 'red');
  t.equal(main.get('size')!.default, '3', 'a JSON number default becomes a CCE string');
  t.equal(thing.namespaces.get('Extra')!.properties.get('a')!.default, '1');
  t.equal(whyInvalid(main.get('color')!, 'green'), '[[my.badColor]]', "a typedef's own message");
  t.equal(whyInvalid(main.get('color')!, 'blue'), null);
  t.equal(toJsonValue(main.get('size')!, '7'), 7);
  t.equal(whyInvalid(main.get('size')!, '10'), '[[base-cce.invalidData]]', 'default message');
  t.ok(s.typedefs.has('color'));
  t.ok(main.get('name')!.unique);
  const subject: AclSubject = { oid: 5, admin: false, capabilities: [] };
  t.ok(thing.createacl(subject, -1), 'createacl compiled');
  t.notOk(thing.destroyacl(subject, 5), 'empty destroyacl: sysadmin only');
  t.notOk(main.get('name')!.writeacl(subject, 5), 'empty writeacl: sysadmin only');
  t.ok(main.get('name')!.readacl(subject, 5), 'empty readacl: any user');
  t.ok(s.classes.has('Other'));
  t.throws(() => loadSchema([ext, base]), { message: /extends a class that is not defined before it/ }, 'folders load in the order given');
});

/** A property of a base type, for the value checks. */
function prop(type: string, extra: Partial<PropertyDef> = {}): PropertyDef {
  const def = BASE_TYPEDEFS.find((d) => d.name === type);
  if (!def) throw new Error(`no typedef ${type}`);
  const all = () => true;
  return { name: 'p', type: def, default: '', optional: false, array: false, unique: false, maxlength: undefined, readacl: all, writeacl: all, writeOnly: false, secret: false, ...extra };
}

t.test('base typedefs accept and refuse the right values', async (t) => {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0aGlzaXNhdGVzdGtleWZvcmNjZWR0ZXN0cw== user@host';
  const table: Record<string, [string[], string[]?]> = {
    boolean: [['0', '1'], ['', '2', 'true', '01', ' 1']],
    int: [['0', '7', '-7', '1234567890'], ['', '-0', '01', '1.5', '+1', 'x', '1e3']],
    uint: [['0', '42'], ['', '-1', '007', '1.0']],
    alphanum: [['abc', 'ABC123'], ['', 'a_b', 'a b', 'é']],
    alphanum_plus: [['a_b.c@d+e-f', 'X'], ['', 'a b', 'a/b', 'a&b']],
    word: [['abc', 'a-b_c.d/é'], ['', 'a b', 'a\tb']],
    scalar: [['', 'anything at all\n', 'é']],
    password: [['', 'x']],
    ipaddr: [['10.0.0.1', '255.255.255.255'], ['', '10.0.0', '256.0.0.1', '::1', 'host']],
    ipaddrIPv6: [['::1', '2001:db8::1', 'fe80::1:2:3:4'], ['', '10.0.0.1', '2001:db8:::1', 'x']],
    ipaddress: [['10.0.0.1', '::1'], ['', 'x', '10.0.0']],
    network: [['10.0.0.0/8', '192.168.1.0/24', '10.0.0.1', '2001:db8::/32', '::/0'], ['', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/1', 'x/8', '10.0.0.0/', '10.0.0.0/a']],
    netmask: [['255.255.255.0', '255.0.0.0', '0.0.0.0', '24', '0', '32'], ['', '33', '255.0.255.0', '255.255.255.1', '::', 'x', '123']],
    hostname: [['www', 'a', 'a-b', 'A1'], ['', '-a', 'a-', 'a.b', 'a_b', 'a'.repeat(64)]],
    domainname: [['example.com', 'localhost', 'a.b.c'], ['', '.com', 'a..b', 'a.-b', 'a'.repeat(254)]],
    fqdn: [['www.example.com', 'a.b'], ['', 'localhost', 'a..b', 'www.example.com.']],
    email_address: [['a@example.com', 'a.b+c@d-e.example.org', 'x%y@a.io'], ['', 'a@b', '@example.com', 'a@.com', 'a b@c.com', 'a@-b.com']],
    sshkey: [[KEY, 'ssh-rsa AAAAB3Nza', 'ecdsa-sha2-nistp256 AAAA= c', 'sk-ssh-ed25519@openssh.com AAAA'], ['', 'ssh-foo AAAA', 'ssh-rsa', 'ssh-rsa AAAA\nssh-rsa BBBB', 'ssh-rsa AA!A']],
    iso8601: [['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123+02:00', '2024-01-02T03:04:05.123456789-05:30'], ['', '2024-01-02', '2024-01-02 03:04:05Z', '2024-01-02T03:04:05', '2024-01-02T03:04:05.Z']],
  };
  t.strictSame(Object.keys(table).sort(), BASE_TYPEDEFS.map((d) => d.name).sort(), 'every base typedef is covered');
  for (const [name, [good, bad = []]] of Object.entries(table)) {
    const def = BASE_TYPEDEFS.find((d) => d.name === name)!;
    for (const v of good) t.ok(def.check(v), `${name} accepts ${JSON.stringify(v).slice(0, 40)}`);
    for (const v of bad) t.notOk(def.check(v), `${name} refuses ${JSON.stringify(v).slice(0, 40)}`);
  }
  t.strictSame(
    Object.fromEntries(BASE_TYPEDEFS.map((d) => [d.name, d.json]).filter(([, j]) => j !== 'string')),
    { boolean: 'boolean', int: 'number', uint: 'number' },
  );
});

t.test('values: arrays, JSON typing, validity', async (t) => {
  for (const items of [[], ['a'], ['a', 'b'], ['a&b', '100%', 'x y', 'é€😀', ''], ['&', '%26', '&&']]) {
    const enc = encodeArray(items);
    t.strictSame(decodeArray(enc), items, `round trip ${JSON.stringify(items)}`);
    if (items.length) t.match(enc, /^&.*&$/);
  }
  t.equal(encodeArray([]), '');
  t.equal(encodeArray(['a&b', 'é']), '&a%26b&%C3%A9&');
  for (const bad of ['&', 'a', 'a&', '&a', '&%zz&', '&%E0%A4%A&']) t.equal(decodeArray(bad), undefined, `not an array: ${bad}`);
  t.strictSame(decodeArray('&&'), ['']);

  const str = prop('scalar');
  const num = prop('int');
  const bool = prop('boolean');
  const arr = prop('word', { array: true });
  const nums = prop('uint', { array: true });
  t.equal(toCceString(str, 'x'), 'x');
  t.equal(toCceString(str, 5), undefined, 'a number is not a string type');
  t.equal(toCceString(str, true), undefined);
  t.equal(toCceString(str, null), undefined);
  t.equal(toCceString(num, 5), '5');
  t.equal(toCceString(num, -2), '-2');
  t.equal(toCceString(num, '5'), '5');
  t.equal(toCceString(num, Infinity), undefined);
  t.equal(toCceString(num, NaN), undefined);
  t.equal(toCceString(num, false), undefined);
  t.equal(toCceString(bool, true), '1');
  t.equal(toCceString(bool, false), '0');
  t.equal(toCceString(bool, 1), undefined);
  t.equal(toCceString(arr, ['a', 'b c']), '&a&b%20c&');
  t.equal(toCceString(arr, '&a&b&'), '&a&b&');
  t.equal(toCceString(arr, '&a+b&'), '&a%2Bb&', 'canonical encoding');
  t.equal(toCceString(arr, ''), '');
  t.equal(toCceString(arr, 'a'), undefined);
  t.equal(toCceString(arr, 5), undefined);
  t.equal(toCceString(arr, [1]), undefined);
  t.equal(toCceString(nums, [1, 2]), '&1&2&');
  t.equal(toCceString(prop('boolean', { array: true }), [true, false]), '&1&0&');

  t.equal(toJsonValue(undefined, 'x'), 'x', 'no property: as is');
  t.equal(toJsonValue(str, '5'), '5');
  t.equal(toJsonValue(num, '5'), 5);
  t.equal(toJsonValue(num, ''), '', 'an empty number stays ""');
  t.equal(toJsonValue(num, 'x'), 'x');
  t.equal(toJsonValue(bool, '1'), true);
  t.equal(toJsonValue(bool, '0'), false);
  t.equal(toJsonValue(bool, ''), '');
  t.strictSame(toJsonValue(arr, '&a&b%20c&'), ['a', 'b c']);
  t.strictSame(toJsonValue(arr, ''), []);
  t.strictSame(toJsonValue(arr, 'garbage'), []);
  t.strictSame(toJsonValue(nums, '&1&2&'), [1, 2]);

  t.equal(whyInvalid(str, 'x'), null);
  t.equal(whyInvalid(num, ''), '[[base-cce.invalidData]]', 'not optional');
  t.equal(whyInvalid(prop('int', { optional: true }), ''), null);
  t.equal(whyInvalid(prop('int', { optional: true }), 'x'), '[[base-cce.invalidData]]');
  t.equal(whyInvalid(prop('scalar', { maxlength: 3 }), 'abc'), null);
  t.equal(whyInvalid(prop('scalar', { maxlength: 3 }), 'éé€'), null, 'characters, not bytes');
  t.equal(whyInvalid(prop('scalar', { maxlength: 3 }), 'abcd'), '[[base-cce.tooLong]]');
  t.equal(whyInvalid(arr, '&a&b&'), null);
  t.equal(whyInvalid(arr, ''), null, 'the empty array');
  t.equal(whyInvalid(arr, '&a&&'), null, 'an empty element of an array is allowed');
  t.equal(whyInvalid(arr, '&a&b%20c&'), '[[base-cce.invalidData]]', 'each element checked');
  t.equal(whyInvalid(nums, '&1&-1&'), '[[base-cce.invalidData]]');
});

t.test('ACL expressions', async (t) => {
  const admin: AclSubject = { oid: 2, admin: true, capabilities: [] };
  const user: AclSubject = { oid: 5, admin: false, capabilities: ['x', 'y.z'] };
  const anon: AclSubject = { oid: -1, admin: false, capabilities: ['x'] };
  const check = (expr: string, s: AclSubject, target: number, fallback: 'user' | 'admin' = 'admin') => compileAcl(expr, fallback)(s, target);

  t.ok(check('', user, 5, 'user'), 'empty readacl: any user');
  t.notOk(check('', anon, 5, 'user'));
  t.notOk(check('  ', user, 5, 'admin'), 'empty writeacl: sysadmin only');
  t.ok(check('', admin, 5, 'admin'));
  t.ok(check('ruleAll', anon, 5));
  t.ok(check('ruleUser', user, 9));
  t.notOk(check('ruleUser', anon, 9));
  t.notOk(check('ruleAdmin', user, 5));
  t.ok(check('ruleAdmin', admin, 5));
  t.ok(check('ruleSelf', user, 5));
  t.notOk(check('ruleSelf', user, 6));
  t.notOk(check('ruleSelf', anon, -1), 'an anonymous caller is nobody');
  t.ok(check('ruleCapable(x)', user, 6));
  t.ok(check('ruleCapable( y.z )', user, 6));
  t.notOk(check('ruleCapable(w)', user, 6));
  t.notOk(check('ruleCapable(x)', anon, 6), 'capabilities need a user');

  // AND binds tighter than OR; NOT tighter than both; parentheses override.
  t.ok(check('ruleAll OR ruleSelf AND ruleAdmin', user, 6));
  t.notOk(check('(ruleAll OR ruleSelf) AND ruleAdmin', user, 6));
  t.ok(check('NOT ruleAll OR ruleUser', user, 6));
  t.notOk(check('NOT (ruleAll OR ruleUser)', user, 6));
  t.ok(check('NOT NOT ruleUser', user, 6));
  t.ok(check('ruleSelf or ruleCapable(x) and not ruleAdmin', user, 6), 'words are case-insensitive');
  t.ok(check('RULEALL', user, 6));
  t.ok(check('!ruleSelf && ruleUser || ruleAdmin', user, 6));
  t.notOk(check('!ruleSelf && ruleUser', user, 5));
  t.ok(check('ruleSelf||ruleCapable(x)', user, 6));
  t.ok(check('  ( ( ruleUser ) )  ', user, 6));
  t.ok(check('ruleSelf AND NOT ruleAll', admin, 9), 'a sysadmin passes every rule');

  for (const [expr, msg] of [
    ['ruleAll AND', 'unexpected end of expression'],
    ['(ruleAll', 'missing )'],
    ['ruleAll)', 'unexpected )'],
    ['ruleAll ruleUser', 'unexpected rule'],
    ['OR ruleAll', 'unexpected or'],
    ['()', 'unexpected )'],
    ['ruleCapable', 'ruleCapable needs (capability)'],
    ['ruleAll(x)', 'ruleAll takes no argument'],
    ['AND(x)', 'AND takes no argument'],
    ['ruleFoo', 'unknown rule ruleFoo'],
    ['ruleAll $', 'unexpected "$"'],
    ['ruleAll & ruleUser', 'unexpected "& ruleUser"'],
  ] as const) {
    t.throws(() => compileAcl(expr, 'user'), { name: 'Error', message: msg }, expr);
  }
});

t.test('loader: a property named __proto__ is never defined (values objects are keyed by property name)', async (t) => {
  const dir = fixture(t, { 'a.json': '{"classes":[{"class":"A","properties":{"__proto__":{"type":"int"},"x":{}}}]}' });
  const props = loadSchema([dir]).classes.get('A')!.namespaces.get('')!.properties;
  t.same([...props.keys()], ['x']);
});
