/**
 * Every verb of POST /v2/cce over a real daemon: each success reply and each
 * error reply, with the exact body and HTTP status.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, adminClient, http, CceClient, ADMIN_PASSWORD } from './helpers/daemon.js';
import { failure, GOODBYE, makeUser } from './helpers/replies.js';
import { SET } from '../commands/SET.js';
import { CREATE } from '../commands/CREATE.js';
import { DESTROY } from '../commands/DESTROY.js';

const d = await startDaemon();
t.teardown(() => d.close());
const admin = await adminClient(d);
const anon = new CceClient(d);

const SYSTEM_DEFAULTS = {
  CLASS: 'System',
  CLASSVER: '1.0',
  NAMESPACE: '',
  OID: '1',
  hostname: 'localhost',
  domainname: '',
  productName: 'cced',
  productLanguage: 'en_US',
  productVendor: '',
  productSerialNumber: '',
  serialnumber: '',
  locales: '&en_US&',
  allowed_themes: 'both',
  isLicenseAccepted: '0',
};

t.test('PING', async (t) => {
  const r = await anon.raw({ cmd: 'PING' });
  t.equal(r.status, 200);
  t.same(r.body, { status: 202, message: 'PONG' });
  t.strictSame((await anon.raw({ cmd: 'ping' })).body, { status: 202, message: 'PONG' }, 'verbs are case-insensitive');
  const bad = await anon.raw({ cmd: 'PING now' });
  t.equal(bad.status, 400);
  t.strictSame(bad.body, failure([403, 'BAD PARAMETERS unexpected "now"']));
});

t.test('AUTH', async (t) => {
  const ok = await anon.raw({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(ok.status, 200);
  t.equal(ok.body.status, 201);
  t.equal(ok.body.message, 'GOODBYE');
  t.match(ok.body.data.sessionid, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  t.strictSame(Object.keys(ok.body.data), ['sessionid']);

  for (const body of [
    { cmd: 'AUTH', user: 'admin', password: 'wrong' },
    { cmd: 'AUTH', user: 'nobody', password: ADMIN_PASSWORD },
    { cmd: 'AUTH', user: 'bad name!', password: ADMIN_PASSWORD },
  ]) {
    const r = await anon.raw(body);
    t.equal(r.status, 401, body.user);
    t.strictSame(r.body, failure());
  }
  for (const body of [{ cmd: 'AUTH', user: 'admin' }, { cmd: 'AUTH', password: 'x' }, { cmd: 'AUTH' }]) {
    const r = await anon.raw(body);
    t.equal(r.status, 400);
    t.strictSame(r.body, failure([403, 'BAD PARAMETERS AUTH needs user and password']));
  }
  // A user created without a password cannot log in, not even with an empty one.
  t.equal((await admin.cmd('CREATE User name="nopass"')).status, 200);
  for (const password of ['', 'x']) t.strictSame((await anon.raw({ cmd: 'AUTH', user: 'nopass', password })).body, failure());
  const extra = await anon.raw({ cmd: 'AUTH admin', user: 'admin', password: ADMIN_PASSWORD });
  t.strictSame(extra.body, failure([403, 'BAD PARAMETERS unexpected "admin"']));

  // A disabled user cannot log in, and disabling one ends its open sessions at once.
  const { oid, client } = await makeUser(admin, 'disabled1', 'pw-disabled-1');
  t.equal((await client.cmd('WHOAMI')).body.data.oid, oid);
  t.strictSame((await admin.cmd(`SET ${oid} enabled="0"`)).body, GOODBYE);
  const refused = await anon.raw({ cmd: 'AUTH', user: 'disabled1', password: 'pw-disabled-1' });
  t.equal(refused.status, 401);
  t.strictSame(refused.body, failure());
  const after = await client.cmd('GET 1');
  t.equal(after.status, 401);
  t.strictSame(after.body, failure());
  t.strictSame((await admin.cmd({ cmd: 'SET', oid, args: { enabled: false } })).body, GOODBYE, 'typed false disables too');
});

t.test('AUTHKEY', async (t) => {
  const ok = await anon.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: admin.sessionid });
  t.equal(ok.status, 200);
  t.strictSame(ok.body, GOODBYE);
  for (const body of [
    { cmd: 'AUTHKEY', user: 'other', sessionid: admin.sessionid },
    { cmd: 'AUTHKEY', user: 'admin', sessionid: 'A'.repeat(43) },
    { cmd: 'AUTHKEY', user: 'admin', sessionid: '' },
  ]) {
    const r = await anon.raw(body);
    t.equal(r.status, 401);
    t.strictSame(r.body, failure());
  }
  const missing = await anon.raw({ cmd: 'AUTHKEY', user: 'admin' });
  t.equal(missing.status, 400);
  t.strictSame(missing.body, failure([403, 'BAD PARAMETERS AUTHKEY needs user and sessionid']));
});

t.test('WHOAMI', async (t) => {
  const me = await admin.cmd('WHOAMI');
  t.equal(me.status, 200);
  t.strictSame(me.body, { status: 201, message: 'GOODBYE', data: { oid: '2' } });
  t.strictSame((await admin.cmd({ cmd: 'WHOAMI', format: 'json' })).body.data, { oid: 2 });
  const expected = { status: 201, message: 'GOODBYE', data: { errors: [{ code: 401, message: 'FAIL' }], oid: '-1' } };
  const nobody = await anon.raw({ cmd: 'WHOAMI' });
  t.equal(nobody.status, 200);
  t.strictSame(nobody.body, expected);
  t.strictSame((await anon.raw({ cmd: 'WHOAMI', user: 'admin', sessionid: 'x'.repeat(300) })).body, expected, 'oversized session id');
  t.strictSame((await anon.raw({ cmd: 'WHOAMI', user: 'someone', sessionid: admin.sessionid })).body, expected, 'session of another user');
  t.strictSame((await anon.raw({ cmd: 'WHOAMI', token: admin.sessionid })).body, expected, 'a session is not a token');
  t.strictSame((await anon.raw({ cmd: 'WHOAMI', user: 'admin', sessionid: admin.sessionid, token: 'x' })).body, expected);
});

t.test('BYE keeps the session; ENDKEY destroys it', async (t) => {
  const c = await new CceClient(d).login();
  const bye = await c.cmd('BYE');
  t.equal(bye.status, 200);
  t.strictSame(bye.body, GOODBYE);
  t.strictSame((await anon.raw({ cmd: 'BYE' })).body, GOODBYE, 'BYE needs no credentials');
  t.equal((await c.cmd('GET 1')).status, 200, 'the session lives on after BYE');
  const end = await c.cmd('ENDKEY');
  t.equal(end.status, 200);
  t.strictSame(end.body, GOODBYE);
  const later = await c.cmd('GET 1');
  t.equal(later.status, 401);
  t.strictSame(later.body, failure());
  t.strictSame((await anon.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: c.sessionid })).body, failure());
  t.strictSame((await c.cmd('ENDKEY')).body, failure(), 'ENDKEY needs a live session');
});

t.test('CLASSES', async (t) => {
  const r = await admin.cmd('CLASSES');
  t.equal(r.status, 200);
  t.strictSame(r.body, { status: 201, message: 'GOODBYE', data: { classes: ['Device', 'DeviceType', 'Distribution', 'PantahubToken', 'SshKey', 'System', 'Tunnel', 'User'] } });
  const nobody = await anon.raw({ cmd: 'CLASSES' });
  t.equal(nobody.status, 401);
  t.strictSame(nobody.body, failure());
});

t.test('NAMES', async (t) => {
  t.strictSame((await admin.cmd('NAMES 1')).body, { status: 201, message: 'GOODBYE', data: { namespaces: ['Snmp', 'Time'] } });
  t.strictSame((await admin.cmd('NAMES User')).body, { status: 201, message: 'GOODBYE', data: { namespaces: ['Email'] } });
  t.strictSame((await admin.cmd({ cmd: 'NAMES', class: 'System' })).body.data, { namespaces: ['Snmp', 'Time'] });
  t.strictSame((await admin.cmd({ cmd: 'NAMES', oid: 2 })).body.data, { namespaces: ['Email'] });
  t.strictSame((await admin.cmd({ cmd: 'NAMES 1', oid: '34' })).body.data, { namespaces: ['Snmp', 'Time'] }, 'the line wins');
  const unknown = await admin.cmd('NAMES 999');
  t.equal(unknown.status, 404);
  t.strictSame(unknown.body, failure([300, 'UNKNOWN OBJECT 999']));
  const cls = await admin.cmd('NAMES Nope');
  t.equal(cls.status, 404);
  t.strictSame(cls.body, failure([301, 'UNKNOWN CLASS Nope']));
  const none = await admin.cmd('NAMES');
  t.equal(none.status, 400);
  t.strictSame(none.body, failure([403, 'BAD PARAMETERS expected an oid or a class']));
  t.strictSame((await admin.cmd('NAMES 1 2')).body, failure([403, 'BAD PARAMETERS unexpected "2"']));
});

t.test('GET', async (t) => {
  const main = await admin.cmd('GET 1');
  t.equal(main.status, 200);
  t.strictSame(main.body, { status: 201, message: 'GOODBYE', data: { DATA: SYSTEM_DEFAULTS } });
  const snmp = { status: 201, message: 'GOODBYE', data: { DATA: { CLASSVER: '1.0', NAMESPACE: 'Snmp', enabled: '0', readCommunity: 'public', readWriteCommunity: '' } } };
  t.strictSame((await admin.cmd('GET 1 . Snmp')).body, snmp);
  t.strictSame((await admin.cmd('GET 1.Snmp')).body, snmp);
  t.strictSame((await admin.cmd('get 1.Snmp')).body, snmp);
  t.strictSame((await admin.cmd({ cmd: 'GET', oid: '1', namespace: 'Snmp' })).body, snmp);
  t.strictSame((await admin.cmd({ cmd: 'GET', oid: 1 })).body.data.DATA, SYSTEM_DEFAULTS);
  t.strictSame((await admin.cmd({ cmd: 'GET', oid: '1', namespace: '' })).body.data.DATA, SYSTEM_DEFAULTS);

  const user = (await admin.cmd('GET 2')).body.data.DATA;
  t.equal(user.CLASS, 'User');
  t.equal(user.name, 'admin');
  t.equal(user.enabled, '1');
  t.equal(user.systemAdministrator, '1');
  t.equal(user.capabilities, '&adminUser&');
  t.equal(user.password, '', 'a write-only property reads as empty');

  const unknown = await admin.cmd('GET 9999');
  t.equal(unknown.status, 404);
  t.strictSame(unknown.body, {
    status: 401,
    message: 'GOODBYE',
    data: { errors: [{ code: 300, message: 'UNKNOWN OBJECT 9999' }, { code: 401, message: 'FAIL' }] },
  });
  const ns = await admin.cmd('GET 1 . fluxcompensator');
  t.equal(ns.status, 404);
  t.strictSame(ns.body, failure([303, 'UNKNOWN NAMESPACE fluxcompensator']));
  for (const [cmd, why] of [
    ['GET abc', 'bad oid "abc"'],
    ['GET 0', 'bad oid "0"'],
    ['GET 01', 'bad oid "01"'],
    ['GET 99999999999999999', 'bad oid "99999999999999999"'],
    ['GET', 'expected an oid'],
    ['GET 1 2', 'unexpected "2"'],
    ['GET 1 .', 'expected a namespace'],
    ['GET 1 . "Sn mp"', 'expected a namespace'],
    ['GET "1"', 'expected an oid'],
  ] as const) {
    const r = await admin.cmd(cmd);
    t.equal(r.status, 400, cmd);
    t.strictSame(r.body, failure([403, `BAD PARAMETERS ${why}`]), cmd);
  }
  t.strictSame((await admin.cmd({ cmd: 'GET', oid: '' })).body, failure([403, 'BAD PARAMETERS expected an oid']));
  t.strictSame((await admin.cmd({ cmd: 'GET', oid: '1', namespace: 'no-such' })).body, failure([403, 'BAD PARAMETERS bad namespace "no-such"']));
  const nobody = await anon.raw({ cmd: 'GET 1' });
  t.equal(nobody.status, 401);
  t.strictSame(nobody.body, failure());
});

t.test('SET', async (t) => {
  const line = await admin.cmd('SET 1 hostname="box1" productVendor=ACME');
  t.equal(line.status, 200);
  t.strictSame(line.body, GOODBYE);
  let sys = (await admin.cmd('GET 1')).body.data.DATA;
  t.equal(sys.hostname, 'box1');
  t.equal(sys.productVendor, 'ACME');

  t.strictSame((await admin.cmd({ cmd: 'SET', oid: '1', args: { productName: 'cced two' } })).body, GOODBYE);
  t.strictSame((await admin.cmd('SET 1 . Snmp enabled="1"')).body, GOODBYE);
  t.strictSame((await admin.cmd('SET 1.Snmp readCommunity="c1"')).body, GOODBYE);
  t.strictSame((await admin.cmd({ cmd: 'SET', oid: 1, namespace: 'Time', args: { timeZone: 'Europe/Paris' } })).body, GOODBYE);
  t.strictSame((await admin.cmd('SET 1')).body, GOODBYE, 'no assignment is a no-op');
  // Values are UTF-8 end to end: octal escapes are bytes, other escapes as in C.
  t.strictSame((await admin.cmd('SET 1 serialnumber="\\303\\251t\\303\\251" productSerialNumber="a\\tb\\"c\\\\d\\qé"')).body, GOODBYE);
  t.match((await admin.cmd('GET 1')).body.data.DATA, { serialnumber: 'été', productSerialNumber: 'a\tb"c\\dqé' });
  sys = (await admin.cmd('GET 1')).body.data.DATA;
  t.equal(sys.productName, 'cced two');
  t.match((await admin.cmd('GET 1.Snmp')).body.data.DATA, { enabled: '1', readCommunity: 'c1' });
  t.equal((await admin.cmd('GET 1.Time')).body.data.DATA.timeZone, 'Europe/Paris');

  // Every key is validated first: one bad key and nothing changes.
  const mixed = await admin.cmd('SET 1 hostname="box2" isLicenseAccepted="2"');
  t.equal(mixed.status, 422);
  t.strictSame(mixed.body, failure([302, 'BAD DATA 1 isLicenseAccepted "[[base-cce.invalidData]]"']));
  const mixedUnknown = await admin.cmd('SET 1 hostname="box2" foo="1"');
  t.equal(mixedUnknown.status, 422);
  t.strictSame(mixedUnknown.body, failure([302, 'BAD DATA 1 foo "[[base-cce.unknownAttr]]"']));
  t.equal((await admin.cmd('GET 1')).body.data.DATA.hostname, 'box1', 'nothing written');

  t.strictSame((await admin.cmd('SET 1 . Snmp foo="1"')).body, failure([302, 'BAD DATA 1 foo "[[base-cce.unknownAttr]]"']));
  t.strictSame((await admin.cmd('SET 1 . Snmp enabled="yes"')).body, failure([302, 'BAD DATA 1 enabled "[[base-cce.invalidData]]"']));
  t.strictSame((await admin.cmd('SET 1 hostname="-bad-"')).body, failure([302, 'BAD DATA 1 hostname "[[base-cce.invalidData]]"']));
  t.strictSame((await admin.cmd('SET 1 hostname=""')).body, failure([302, 'BAD DATA 1 hostname "[[base-cce.invalidData]]"']), 'not optional');
  t.strictSame((await admin.cmd('SET 1 domainname=""')).body, GOODBYE, 'optional accepts ""');
  t.strictSame((await admin.cmd('SET 1 __proto__="x"')).body, failure([302, 'BAD DATA 1 __proto__ "[[base-cce.unknownAttr]]"']));
  t.strictSame((await admin.cmd('SET 2 description="' + 'x'.repeat(2001) + '"')).body, failure([302, 'BAD DATA 2 description "[[base-cce.tooLong]]"']));
  t.strictSame((await admin.cmd('SET 2 description="' + 'é'.repeat(2000) + '"')).body, GOODBYE, 'maxlength counts characters');

  // Arrays: &a&b& with URL-encoded elements, each element checked.
  t.strictSame((await admin.cmd('SET 1 locales="&en_US&fr_FR&"')).body, GOODBYE);
  t.strictSame((await admin.cmd('SET 1 locales="en_US"')).body, failure([302, 'BAD DATA 1 locales "[[base-cce.invalidData]]"']));
  t.strictSame((await admin.cmd('SET 1 locales="&en%20US&"')).body, failure([302, 'BAD DATA 1 locales "[[base-cce.invalidData]]"']));
  t.strictSame((await admin.cmd('SET 1 locales="&%E0%A4%A&"')).body, failure([302, 'BAD DATA 1 locales "[[base-cce.invalidData]]"']), 'bad %-encoding');
  t.equal((await admin.cmd('GET 1')).body.data.DATA.locales, '&en_US&fr_FR&');

  const unknownOid = await admin.cmd('SET 999 hostname="x"');
  t.equal(unknownOid.status, 404);
  t.strictSame(unknownOid.body, failure([300, 'UNKNOWN OBJECT 999']));
  t.strictSame((await admin.cmd('SET 1 . Nope a="1"')).body, failure([303, 'UNKNOWN NAMESPACE Nope']));
  t.strictSame((await admin.cmd('SET abc hostname="x"')).body, failure([403, 'BAD PARAMETERS bad oid "abc"']));
  t.strictSame((await admin.cmd('SET $1 hostname="x"')).body, failure([403, 'BAD PARAMETERS $1 is only valid inside BEGIN ... COMMIT']));
  t.strictSame((await admin.cmd('SET 1 hostname')).body, failure([403, 'BAD PARAMETERS expected = after hostname']));
  t.strictSame((await admin.cmd('SET 1 hostname=')).body, failure([403, 'BAD PARAMETERS expected a value for hostname']));
  t.strictSame((await admin.cmd('SET 1 hostname= ~')).body, failure([403, 'BAD PARAMETERS expected a value for hostname']));
  t.strictSame((await admin.cmd('SET 1 "hostname"="x"')).body, failure([403, 'BAD PARAMETERS expected a property name']));
  t.strictSame((await admin.cmd({ cmd: 'SET', args: { hostname: 'x' } })).body, failure([403, 'BAD PARAMETERS expected an oid']));
  t.strictSame((await admin.cmd({ cmd: 'SET', oid: '1', args: { 'host-name': 'x' } })).body, failure([403, 'BAD PARAMETERS bad property name "host-name"']));

  // Uniqueness names the property.
  const a = (await admin.cmd('CREATE User name="uniq1"')).body.data.oid;
  const b = (await admin.cmd('CREATE User name="uniq2"')).body.data.oid;
  const dup = await admin.cmd('CREATE User name="uniq1"');
  t.equal(dup.status, 422);
  t.strictSame(dup.body, failure([302, 'BAD DATA 0 name "[[base-cce.notUnique]]"']));
  t.strictSame((await admin.cmd(`SET ${b} name="uniq1"`)).body, failure([302, `BAD DATA ${b} name "[[base-cce.notUnique]]"`]));
  t.strictSame((await admin.cmd(`SET ${a} name="uniq1"`)).body, GOODBYE, 'keeping its own value is no conflict');
});

t.test('CREATE', async (t) => {
  const line = await admin.cmd('CREATE User name="create1" fullName="Create One"');
  t.equal(line.status, 200);
  t.equal(line.body.status, 201);
  t.equal(line.body.message, 'GOODBYE');
  t.match(line.body.data.oid, /^[0-9]+$/);
  const got = (await admin.cmd(`GET ${line.body.data.oid}`)).body.data.DATA;
  t.match(got, { name: 'create1', fullName: 'Create One', enabled: '1', systemAdministrator: '0', volume: '/home' }, 'defaults filled');
  t.strictSame((await admin.cmd(`GET ${line.body.data.oid} . Email`)).body.data.DATA.forwardEnable, '0', 'named namespaces at defaults');

  const structured = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'create2', capabilities: '&a&b&' } });
  t.equal(structured.body.status, 201);
  const oid2 = structured.body.data.oid;
  t.ok(Number(oid2) > Number(line.body.data.oid));
  t.equal((await admin.cmd(`GET ${oid2}`)).body.data.DATA.capabilities, '&a&b&');

  t.strictSame((await admin.cmd('CREATE Nope')).body, failure([301, 'UNKNOWN CLASS Nope']));
  t.equal((await admin.cmd('CREATE Nope')).status, 404);
  t.strictSame((await admin.cmd('CREATE')).body, failure([403, 'BAD PARAMETERS expected a class name']));
  t.strictSame((await admin.cmd('CREATE User name="x" bogus="1"')).body, failure([302, 'BAD DATA 0 bogus "[[base-cce.unknownAttr]]"']));
  t.strictSame((await admin.cmd('CREATE User')).body, failure([302, 'BAD DATA 0 name "[[base-cce.invalidData]]"']), 'a required property');
  t.strictSame((await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'pw', password: 5 } })).body, failure([302, 'BAD DATA 0 password "[[base-cce.invalidData]]"']));

  // Writes racing each other: uniqueness holds across the writes of one group-commit batch too.
  const race = await Promise.all([1, 2, 3, 4].map(() => admin.cmd('CREATE User name="racer"')));
  t.equal(race.filter((r) => r.status === 200).length, 1, 'exactly one wins');
  for (const r of race.filter((x) => x.status !== 200)) t.strictSame(r.body, failure([302, 'BAD DATA 0 name "[[base-cce.notUnique]]"']));
  t.strictSame((await admin.cmd('FIND User name = "racer"')).body.data.oidlist.length, 1);

  // Oids are never reused, even after the newest object is destroyed.
  const last = (await admin.cmd('CREATE User name="reuse1"')).body.data.oid;
  t.strictSame((await admin.cmd(`DESTROY ${last}`)).body, GOODBYE);
  const next = (await admin.cmd('CREATE User name="reuse1"')).body.data.oid;
  t.equal(Number(next), Number(last) + 1);
});

t.test('DESTROY', async (t) => {
  const oid = (await admin.cmd('CREATE User name="destroy1"')).body.data.oid;
  const r = await admin.cmd(`DESTROY ${oid}`);
  t.equal(r.status, 200);
  t.strictSame(r.body, GOODBYE);
  t.strictSame((await admin.cmd(`GET ${oid}`)).body, failure([300, `UNKNOWN OBJECT ${oid}`]));
  const again = await admin.cmd(`DESTROY ${oid}`);
  t.equal(again.status, 404);
  t.strictSame(again.body, failure([300, `UNKNOWN OBJECT ${oid}`]));
  const other = (await admin.cmd('CREATE User name="destroy2"')).body.data.oid;
  t.strictSame((await admin.cmd({ cmd: 'DESTROY', oid: other })).body, GOODBYE);
  t.strictSame((await admin.cmd('DESTROY')).body, failure([403, 'BAD PARAMETERS expected an oid']));
  t.strictSame((await admin.cmd('DESTROY 1 2')).body, failure([403, 'BAD PARAMETERS unexpected "2"']));
  t.strictSame((await admin.cmd('DESTROY x')).body, failure([403, 'BAD PARAMETERS bad oid "x"']));

  // Destroying a user ends its sessions.
  const { oid: uoid, client } = await makeUser(admin, 'destroy3', 'pw-destroy-3');
  t.strictSame((await admin.cmd(`DESTROY ${uoid}`)).body, GOODBYE);
  t.strictSame((await client.cmd('WHOAMI')).body.data.oid, '-1');
});

t.test('FIND, FINDX, GETOBJECT, GETALL', async (t) => {
  const mk = async (args: Record<string, string>) => (await admin.cmd({ cmd: 'CREATE', class: 'User', args: { description: 'sorttest', ...args } })).body.data.oid as string;
  const s1 = await mk({ name: 'bravo', gui_theme_timer: '10', site: '10.0.0.2', shell: 'www.b.com', stylePreference: 'x' });
  const s2 = await mk({ name: 'alpha', gui_theme_timer: '9', site: '10.0.0.10', shell: 'a.c.com', stylePreference: 'x' });
  const s3 = await mk({ name: 'Charlie', gui_theme_timer: '100', site: '9.0.0.1', shell: 'mail.b.com' });
  t.strictSame((await admin.cmd(`SET ${s1} . Email aliases="&postmaster&web+master&"`)).body, GOODBYE);
  t.strictSame((await admin.cmd({ cmd: 'SET', oid: s2, namespace: 'Email', args: { aliases: '&web+master&' } })).body, GOODBYE);
  const list = (...oids: string[]) => ({ status: 201, message: 'GOODBYE', data: { oidlist: oids } });

  t.strictSame((await admin.cmd('FIND User name = "alpha"')).body, list(s2));
  t.strictSame((await admin.cmd('FIND User name == alpha')).body, list(s2));
  t.strictSame((await admin.cmd('find User name ~ "^(alpha|bravo)$"')).body, list(s1, s2));
  t.strictSame((await admin.cmd('FIND User description = "sorttest" name ~ "^[ab]"')).body, list(s1, s2));
  t.strictSame((await admin.cmd('FIND User description = "sorttest" stylePreference = "x"')).body, list(s1, s2), 'two exact criteria');
  t.strictSame((await admin.cmd('FIND System')).body, list('1'));
  t.strictSame((await admin.cmd({ cmd: 'FIND', class: 'System' })).body, list('1'));
  // NS.prop keys and "any element equals" on arrays (elements URL-encoded, no substring match).
  t.strictSame((await admin.cmd('FIND User Email.aliases = "web+master"')).body, list(s1, s2));
  t.strictSame((await admin.cmd('FIND User Email.aliases = "postmaster"')).body, list(s1));
  t.strictSame((await admin.cmd('FIND User Email.aliases = "post"')).body, GOODBYE);
  // admin (2) and api-admin (3), the identity behind LOGIN tokens, hold adminUser.
  t.strictSame((await admin.cmd('FIND User capabilities = "adminUser"')).body, list('2', '3'));
  t.strictSame((await admin.cmd('FIND User description = "sorttest" Email.aliases ~ "postmaster"')).body, list(s1));
  // `~` on an array also looks at each element, decoded: anchors work and '+' is a '+', not '%2B'.
  t.strictSame((await admin.cmd('FIND User description = "sorttest" Email.aliases ~ "^web[+]master$"')).body, list(s1, s2));
  t.strictSame((await admin.cmd('FIND User description = "sorttest" Email.aliases ~ "2B"')).body, GOODBYE, 'the encoding (web%2Bmaster) is not what is matched');
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: { description: 'sorttest' }, regex_args: { 'Email.aliases': '^post' } })).body.data.oidlist, [s1]);
  t.strictSame((await admin.cmd({ cmd: 'FIND User name = "alpha"', format: 'json' })).body.data, { oidlist: [Number(s2)] });

  const sorted = async (type: string, prop: string) => (await admin.cmd(`FIND User description = "sorttest" SORTTYPE ${type} SORTPROP ${prop}`)).body.data.oidlist;
  t.strictSame(await sorted('ascii', 'name'), [s3, s2, s1], 'ascii: upper case first');
  t.strictSame(await sorted('locale', 'name'), [s2, s1, s3]);
  t.strictSame(await sorted('old_numeric', 'gui_theme_timer'), [s2, s1, s3]);
  t.strictSame(await sorted('ascii', 'gui_theme_timer'), [s1, s3, s2]);
  t.strictSame(await sorted('ip', 'site'), [s3, s1, s2]);
  t.strictSame(await sorted('hostname', 'shell'), [s3, s1, s2]);
  t.strictSame(await sorted('LOCALE', 'name'), [s2, s1, s3], 'sort types are case-insensitive');
  t.strictSame((await admin.cmd(`FIND User description = "sorttest" SORTPROP name`)).body.data.oidlist, [s3, s2, s1], 'ascii by default');
  t.strictSame((await admin.cmd(`FIND User description = "sorttest" SORTPROP Email.aliases`)).body.data.oidlist, [s3, s1, s2], 'NS.prop sort key');
  t.strictSame((await admin.cmd(`FIND User description = "sorttest" SORTTYPE old_numeric`)).body.data.oidlist, [s1, s2, s3], 'SORTTYPE alone keeps oid order');

  t.strictSame((await admin.cmd('FIND User name = "zzz"')).body, { status: 201, message: 'GOODBYE' });
  const badRe = await admin.cmd('FIND User name ~ "("');
  t.equal(badRe.status, 400);
  t.strictSame(badRe.body, failure([403, 'BAD PARAMETERS bad regex: error parsing regexp: missing closing ): `(`']));
  t.strictSame((await admin.cmd(`FIND User name ~ "${'a'.repeat(1025)}"`)).body, failure([403, 'BAD PARAMETERS regex longer than 1024 characters']));
  t.strictSame((await admin.cmd('FIND Nope')).body, failure([301, 'UNKNOWN CLASS Nope']));
  t.strictSame((await admin.cmd('FIND User bogus = "x"')).body, failure([302, 'BAD DATA 0 bogus "[[base-cce.unknownAttr]]"']));
  t.strictSame((await admin.cmd('FIND User Nope.x = "x"')).body, failure([303, 'UNKNOWN NAMESPACE Nope']));
  t.strictSame((await admin.cmd('FIND User SORTPROP bogus')).body, failure([302, 'BAD DATA 0 bogus "[[base-cce.unknownAttr]]"']));
  t.strictSame((await admin.cmd('FIND User SORTTYPE random')).body, failure([403, 'BAD PARAMETERS unknown sort type "random"']));
  t.strictSame((await admin.cmd('FIND User name "x"')).body, failure([403, 'BAD PARAMETERS expected = or ~ after name']));
  t.strictSame((await admin.cmd('FIND User name =')).body, failure([403, 'BAD PARAMETERS expected a value for name']));
  t.strictSame((await admin.cmd('FIND User Email. = "x"')).body, failure([403, 'BAD PARAMETERS expected a property name']));
  t.strictSame((await admin.cmd('FIND')).body, failure([403, 'BAD PARAMETERS expected a class name']));

  // FINDX: exact args AND regex args, sorted; an empty list when nothing matches.
  const findx = await admin.cmd({ cmd: 'FINDX', class: 'User', args: { description: 'sorttest' }, regex_args: { name: '^[ab]' }, sorttype: 'ascii', sortprop: 'name' });
  t.equal(findx.status, 200);
  t.strictSame(findx.body, { status: 201, message: 'OK', data: { oidlist: [s2, s1] } });
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: { 'Email.aliases': 'postmaster' } })).body.data.oidlist, [s1]);
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: { description: 'sorttest' }, sorttype: 'ip', sortprop: 'site' })).body.data.oidlist, [s3, s1, s2]);
  t.strictSame((await admin.cmd({ cmd: 'FINDX User', args: { name: 'alpha' } })).body.data.oidlist, [s2]);
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: { name: 'nobody' } })).body, { status: 201, message: 'OK', data: { oidlist: [] } });
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: { name: 5 } })).body, failure([403, 'BAD PARAMETERS args.name: expected a string']));
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', regex_args: { name: '[' } })).body.data.errors[0].code, 403);
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', sortprop: 'a.b.c' })).body, failure([403, 'BAD PARAMETERS bad property name "b.c"']));
  t.strictSame((await admin.cmd({ cmd: 'FINDX' })).body, failure([403, 'BAD PARAMETERS expected a class name']));
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'Nope' })).body, failure([301, 'UNKNOWN CLASS Nope']));
  t.strictSame((await admin.cmd({ cmd: 'FINDX User x' })).body, failure([403, 'BAD PARAMETERS unexpected "x"']));

  // GETOBJECT: the first match's DATA, or the reference's 404.
  const go = await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'alpha' } });
  t.equal(go.status, 200);
  t.equal(go.body.status, 201);
  t.equal(go.body.message, 'OK');
  t.match(go.body.data.DATA, { CLASS: 'User', CLASSVER: '1.0', NAMESPACE: '', OID: s2, name: 'alpha', site: '10.0.0.10' });
  const goNs = await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'bravo' }, namespace: 'Email' });
  t.match(goNs.body.data.DATA, { CLASSVER: '1.1', NAMESPACE: 'Email', aliases: '&postmaster&web%2Bmaster&' }, 'stored canonical: + is encoded');
  t.notOk('OID' in goNs.body.data.DATA);
  const none = await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'nobody' } });
  t.equal(none.status, 404);
  t.strictSame(none.body, { status: 404, message: 'Object not found' });
  t.strictSame((await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'nobody' }, namespace: 'Nope' })).body, failure([303, 'UNKNOWN NAMESPACE Nope']));
  t.strictSame((await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'alpha' }, namespace: 'Nope' })).body, failure([303, 'UNKNOWN NAMESPACE Nope']));
  t.strictSame((await admin.cmd({ cmd: 'GETOBJECT', class: 'User', namespace: 'a b' })).body, failure([403, 'BAD PARAMETERS bad namespace "a b"']));
  t.strictSame((await admin.cmd({ cmd: 'GETOBJECT', class: 'Nope' })).body, failure([301, 'UNKNOWN CLASS Nope']));
  t.strictSame((await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'alpha' }, format: 'json' })).body.data.DATA.gui_theme_timer, 9);

  // GETALL: by oids (unknown ones left out) or by class + args; OBJECT plus every named namespace.
  const all = await admin.cmd({ cmd: 'GETALL', oids: ['1', s2, '99999'] });
  t.equal(all.status, 200);
  t.equal(all.body.status, 201);
  t.equal(all.body.message, 'OK');
  t.strictSame(Object.keys(all.body.data.objects).sort(), ['1', s2].sort());
  t.strictSame(all.body.data.objects['1'].OBJECT.CLASS, 'System');
  t.strictSame(Object.keys(all.body.data.objects['1']), ['OBJECT', 'Snmp', 'Time']);
  t.match(all.body.data.objects['1'].Snmp, { enabled: '1', readCommunity: 'c1' });
  t.notOk('NAMESPACE' in all.body.data.objects['1'].Snmp);
  t.match(all.body.data.objects[s2].OBJECT, { CLASS: 'User', OID: s2, name: 'alpha' });
  t.match(all.body.data.objects[s2].Email, { aliases: '&web%2Bmaster&' });
  const byClass = await admin.cmd({ cmd: 'GETALL', class: 'User', args: { description: 'sorttest' }, regex_args: { name: '^[ab]' } });
  t.strictSame(Object.keys(byClass.body.data.objects).sort(), [s1, s2].sort());
  t.strictSame((await admin.cmd({ cmd: 'GETALL', oids: [] })).body, { status: 201, message: 'OK', data: { objects: {} } });
  t.strictSame((await admin.cmd({ cmd: 'GETALL', oids: [99999] })).body.data.objects, {});
  const typed = await admin.cmd({ cmd: 'GETALL', oids: [s2], format: 'json' });
  t.match(typed.body.data.objects[s2].OBJECT, { OID: Number(s2), gui_theme_timer: 9, enabled: true, capabilities: [] });
  t.strictSame(typed.body.data.objects[s2].Email.aliases, ['web+master']);
  t.strictSame((await admin.cmd({ cmd: 'GETALL', oids: ['x'] })).body, failure([403, 'BAD PARAMETERS bad oid "x"']));
  t.strictSame((await admin.cmd({ cmd: 'GETALL' })).body, failure([403, 'BAD PARAMETERS expected a class name']));
  t.strictSame((await admin.cmd({ cmd: 'GETALL User' })).body.data.objects[s3].OBJECT.name, 'Charlie');
});

t.test('format json: typed values out and in', async (t) => {
  const sys = (await admin.cmd({ cmd: 'GET 1', format: 'json' })).body.data.DATA;
  t.equal(sys.OID, 1);
  t.equal(sys.isLicenseAccepted, false);
  t.strictSame(sys.locales, ['en_US', 'fr_FR']);
  t.equal(sys.hostname, 'box1');
  t.strictSame((await admin.cmd({ cmd: 'GET 1.Snmp', format: 'json' })).body.data.DATA, { CLASSVER: '1.0', NAMESPACE: 'Snmp', enabled: true, readCommunity: 'c1', readWriteCommunity: '' });

  t.strictSame((await admin.cmd({ cmd: 'SET', oid: '1', args: { isLicenseAccepted: true, locales: ['en_US', 'de_DE', 'a&b%cé'] }, format: 'json' })).body, GOODBYE);
  t.match((await admin.cmd('GET 1')).body.data.DATA, { isLicenseAccepted: '1', locales: '&en_US&de_DE&a%26b%25c%C3%A9&' });
  t.strictSame((await admin.cmd({ cmd: 'GET 1', format: 'json' })).body.data.DATA.locales, ['en_US', 'de_DE', 'a&b%cé'], 'round trip');
  t.strictSame((await admin.cmd({ cmd: 'SET', oid: '1', args: { locales: [] } })).body, GOODBYE);
  t.equal((await admin.cmd('GET 1')).body.data.DATA.locales, '', 'the empty array is ""');

  const created = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'typed1', gui_theme_timer: 42, emailDisabled: true, capLevels: ['x', 'y'] }, format: 'json' });
  t.equal(typeof created.body.data.oid, 'number');
  const u = (await admin.cmd({ cmd: 'GET', oid: created.body.data.oid, format: 'json' })).body.data.DATA;
  t.match(u, { OID: created.body.data.oid, gui_theme_timer: 42, emailDisabled: true, enabled: true, capLevels: ['x', 'y'], name: 'typed1' });
  t.match((await admin.cmd(`GET ${created.body.data.oid}`)).body.data.DATA, { gui_theme_timer: '42', emailDisabled: '1', capLevels: '&x&y&' });

  // A JSON type that cannot be the property's is 302, and nothing changes.
  for (const args of [{ hostname: 5 }, { isLicenseAccepted: 1 }, { productName: true }, { locales: 'en_US' }, { locales: [1] }, { hostname: ['a'] }]) {
    const r = await admin.cmd({ cmd: 'SET', oid: '1', args, format: 'json' });
    const key = Object.keys(args)[0];
    t.strictSame(r.body, failure([302, `BAD DATA 1 ${key} "[[base-cce.invalidData]]"`]), JSON.stringify(args));
  }
  t.strictSame((await admin.cmd({ cmd: 'SET', oid: created.body.data.oid, args: { gui_theme_timer: -1 }, format: 'json' })).body, failure([302, `BAD DATA ${created.body.data.oid} gui_theme_timer "[[base-cce.invalidData]]"`]));
});

t.test('unknown verbs, lexer errors, bad parameters', async (t) => {
  const verb = await admin.cmd('FROB 1');
  t.equal(verb.status, 400);
  t.strictSame(verb.body, failure([402, 'BAD COMMAND FROB']));
  t.strictSame((await admin.cmd('= 1')).body, failure([402, 'BAD COMMAND']), 'a line must start with a verb');
  t.strictSame((await admin.cmd('"GET" 1')).body, failure([402, 'BAD COMMAND']));
  const lex = await admin.cmd('GET 1 ; 2');
  t.equal(lex.status, 400);
  t.strictSame(lex.body, {
    status: 401,
    message: 'GOODBYE',
    data: { errors: [{ code: 306, message: 'ERROR unexpected character ";" at 6' }, { code: 402, message: 'BAD COMMAND' }, { code: 401, message: 'FAIL' }] },
  });
  t.strictSame((await admin.cmd('SET 1 hostname="open')).body, failure([306, 'ERROR unterminated quoted string'], [402, 'BAD COMMAND']));
  t.strictSame((await admin.cmd('WHOAMI x')).body, failure([403, 'BAD PARAMETERS unexpected "x"']));
  t.strictSame((await admin.cmd('CLASSES x')).body, failure([403, 'BAD PARAMETERS unexpected "x"']));
});

t.test('AUTH and AUTHKEY are refused from a whitelisted remote address', async (t) => {
  const r = await startDaemon({ config: { api_access: '127.0.0.2' } });
  t.teardown(() => r.close());
  const remote = new CceClient(r, 'admin', { localAddress: '127.0.0.2' });
  const denied = failure([304, 'PERMISSION DENIED Access Denied: AUTH and AUTHKEY only allowed from localhost']);
  const auth = await remote.raw({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(auth.status, 403);
  t.strictSame(auth.body, denied);
  const local = await adminClient(r);
  t.strictSame((await remote.raw({ cmd: 'AUTHKEY', user: 'admin', sessionid: local.sessionid })).body, denied);
  const viaRemote = await remote.raw({ cmd: 'GET 1', user: 'admin', sessionid: local.sessionid });
  t.equal(viaRemote.status, 401, 'a session is only good from a local address');
  t.strictSame(viaRemote.body, failure());
  t.strictSame((await remote.raw({ cmd: 'PING' })).body, { status: 202, message: 'PONG' });
  const stranger = await http(`${r.url}/v2/cce`, { cmd: 'PING' }, { localAddress: '127.0.0.3' });
  t.equal(stranger.status, 403);
  t.strictSame(stranger.body, { statusCode: 403, error: 'Forbidden', message: 'origin not allowed' });
});

t.test('SUSPEND and RESUME', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-suspend-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  let s = await startDaemon({ stateDir });
  let a = await adminClient(s);
  const { oid: uoid, client: user } = await makeUser(a, 'suspender', 'pw-suspender');
  const denied = await user.cmd('SUSPEND');
  t.equal(denied.status, 403);
  t.strictSame(denied.body, failure([304, 'PERMISSION DENIED SUSPEND']));
  t.strictSame((await user.cmd('RESUME')).body, failure([304, 'PERMISSION DENIED RESUME']));
  t.strictSame((await new CceClient(s).raw({ cmd: 'SUSPEND' })).body, failure());
  t.strictSame((await a.cmd('SUSPEND x', { reason: 'ignored' })).body, GOODBYE);

  t.strictSame((await a.cmd('SUSPEND "maintenance window"')).body, GOODBYE);
  const blocked = failure([309, 'SUSPENDED "maintenance window"']);
  for (const cmd of ['SET 1 hostname="x"', 'CREATE User name="while"', `DESTROY ${uoid}`]) {
    const r = await a.cmd(cmd);
    t.equal(r.status, 503, cmd);
    t.strictSame(r.body, blocked, cmd);
  }
  t.strictSame((await user.cmd(`SET ${uoid} fullName="x"`)).body, blocked);
  t.equal((await a.cmd('GET 1')).body.data.DATA.hostname, 'localhost', 'reads still work');
  t.equal((await a.cmd('FIND User name = "suspender"')).body.data.oidlist[0], uoid);

  // The suspension survives a restart on the same state dir.
  await s.close();
  s = await startDaemon({ stateDir });
  a = await adminClient(s);
  t.strictSame((await a.cmd('SET 1 hostname="x"')).body, blocked);
  const resumed = await a.cmd('RESUME');
  t.equal(resumed.status, 200);
  t.strictSame(resumed.body, GOODBYE);
  t.strictSame((await a.cmd('SET 1 hostname="x"')).body, GOODBYE);
  t.strictSame((await a.cmd('RESUME')).body, GOODBYE, 'RESUME when not suspended is harmless');

  t.strictSame((await a.cmd({ cmd: 'SUSPEND', reason: 'from the envelope' })).body, GOODBYE);
  t.strictSame((await a.cmd('SET 1 hostname="y"')).body, failure([309, 'SUSPENDED "from the envelope"']));
  t.strictSame((await a.cmd('SUSPEND')).body, GOODBYE);
  t.strictSame((await a.cmd('SET 1 hostname="y"')).body, failure([309, 'SUSPENDED ""']));
  t.strictSame((await a.cmd('RESUME')).body, GOODBYE);
  await s.close();
});

t.test('describe(): queued commands echo as one CSCP line without secrets', async (t) => {
  // The shipped schema's secret properties: passwords, device tokens, access-point passwords...
  const isSecret = (k: string) => ['password', 'token_code', 'ap_password'].includes(k);
  t.equal(SET.describe({ oid: '5', ns: '', values: { fullName: 'A "B"', password: 'secret-pw' }, oldpassword: '' }, isSecret), 'SET 5 fullName = "A \\"B\\"" password = "***"');
  t.equal(SET.describe({ oid: '$0', ns: 'Email', values: { aliases: ['a', 'b'] }, oldpassword: '' }, isSecret), 'SET $0 . Email aliases = "a,b"');
  t.equal(CREATE.describe({ cls: 'User', values: { name: 'x', gui_theme_timer: 3 } }, isSecret), 'CREATE User name = "x" gui_theme_timer = "3"');
  t.equal(DESTROY.describe('7', isSecret), 'DESTROY 7');
  t.equal(CREATE.describe({ cls: 'Device', values: { device_key: 'K1', token_code: 'tok-123' } }, isSecret), 'CREATE Device device_key = "K1" token_code = "***"', 'device secrets are masked too');
});
