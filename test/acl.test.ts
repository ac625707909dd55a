/**
 * Schema ACLs over HTTP for non-admin callers: GET omits what readacl hides,
 * a SET touching any unwritable property fails whole with 304, createacl and
 * destroyacl hold, and FIND does not reveal matches on unreadable properties.
 */
import t from 'tap';
import { startDaemon, adminClient, CceClient } from './helpers/daemon.js';
import { failure, GOODBYE, makeUser } from './helpers/replies.js';

const d = await startDaemon();
t.teardown(() => d.close());
const admin = await adminClient(d);
const alice = await makeUser(admin, 'alice', 'alice-pw-1', { capabilities: '&reader&', capLevels: '&l1&', uiRights: '&r1&' });
const bob = await makeUser(admin, 'bob', 'bob-pw-1', { capabilities: '&reader&' });
const carol = (await admin.cmd('CREATE User name="carol" capabilities="&aaa&"')).body.data.oid as string;
const HIDDEN = ['capabilities', 'capLevels', 'uiRights'];

const denied = (what: string) => failure([304, `PERMISSION DENIED ${what}`]);

t.test('GET omits readacl-protected properties of others, not of self', async (t) => {
  const other = (await alice.client.cmd(`GET ${bob.oid}`)).body.data.DATA;
  t.equal(other.name, 'bob');
  t.equal(other.password, '');
  for (const p of HIDDEN) t.notOk(p in other, `${p} hidden`);
  const self = (await alice.client.cmd(`GET ${alice.oid}`)).body.data.DATA;
  t.match(self, { name: 'alice', capabilities: '&reader&', capLevels: '&l1&', uiRights: '&r1&', password: '' });
  t.notOk('readWriteCommunity' in (await alice.client.cmd('GET 1 . Snmp')).body.data.DATA, 'ruleAdmin');
  t.ok('readWriteCommunity' in (await admin.cmd('GET 1 . Snmp')).body.data.DATA);
  const all = (await alice.client.cmd({ cmd: 'GETALL', oids: [bob.oid, alice.oid] })).body.data.objects;
  for (const p of HIDDEN) t.notOk(p in all[bob.oid].OBJECT, `GETALL hides ${p}`);
  t.equal(all[alice.oid].OBJECT.capabilities, '&reader&');
  const go = (await alice.client.cmd({ cmd: 'GETOBJECT', class: 'User', args: { name: 'admin' } })).body.data.DATA;
  t.notOk('capabilities' in go);
});

t.test('SET: an unwritable property fails the whole command with 304', async (t) => {
  const before = (await admin.cmd(`GET ${alice.oid}`)).body.data.DATA;
  const r = await alice.client.cmd(`SET ${alice.oid} fullName="Alice" enabled="0"`);
  t.equal(r.status, 403);
  t.strictSame(r.body, denied('enabled'));
  t.strictSame((await alice.client.cmd(`SET ${alice.oid} capabilities="&adminUser&"`)).body, denied('capabilities'));
  t.strictSame((await alice.client.cmd(`SET ${alice.oid} systemAdministrator="1"`)).body, denied('systemAdministrator'));
  t.strictSame((await alice.client.cmd(`SET ${alice.oid} . Email aliases="&x&"`)).body, denied('Email.aliases'));
  t.strictSame((await alice.client.cmd(`SET ${bob.oid} fullName="Bobby"`)).body, denied('fullName'));
  t.strictSame((await alice.client.cmd('SET 1 hostname="mine"')).body, denied('hostname'));
  t.strictSame((await admin.cmd(`GET ${alice.oid}`)).body.data.DATA, before, 'nothing changed');
  t.equal((await admin.cmd(`GET ${bob.oid}`)).body.data.DATA.fullName, '');

  t.strictSame((await alice.client.cmd(`SET ${alice.oid} fullName="Alice A" localePreference="fr_FR"`)).body, GOODBYE);
  t.strictSame((await alice.client.cmd({ cmd: 'SET', oid: alice.oid, namespace: 'Email', args: { forwardEnable: '1', forwardEmail: '&a@example.com&' } })).body, GOODBYE);
  t.match((await admin.cmd(`GET ${alice.oid}`)).body.data.DATA, { fullName: 'Alice A', localePreference: 'fr_FR' });
  t.match((await admin.cmd(`GET ${alice.oid} . Email`)).body.data.DATA, { forwardEnable: '1', forwardEmail: '&a%40example.com&' });
});

t.test('a user changes its own password only with oldpassword', async (t) => {
  const bad = failure([302, `BAD DATA ${alice.oid} oldpassword "[[base-cce.badOldPassword]]"`]);
  const none = await alice.client.cmd(`SET ${alice.oid} password="alice-pw-2"`);
  t.equal(none.status, 422);
  t.strictSame(none.body, bad);
  t.strictSame((await alice.client.cmd(`SET ${alice.oid} password="alice-pw-2" oldpassword="wrong"`)).body, bad);
  t.strictSame((await alice.client.cmd(`SET ${alice.oid} password=""`)).body, GOODBYE, 'an empty password means unchanged');
  t.strictSame((await new CceClient(d).raw({ cmd: 'AUTH', user: 'alice', password: 'alice-pw-1' })).body.status, 201, 'still the old one');

  t.strictSame((await alice.client.cmd(`SET ${alice.oid} password="alice-pw-2" oldpassword="alice-pw-1"`)).body, GOODBYE);
  t.strictSame((await new CceClient(d).raw({ cmd: 'AUTH', user: 'alice', password: 'alice-pw-1' })).body, failure());
  t.equal((await new CceClient(d).raw({ cmd: 'AUTH', user: 'alice', password: 'alice-pw-2' })).body.status, 201);
  // The structured form, with oldpassword as an envelope field.
  t.strictSame((await alice.client.cmd({ cmd: 'SET', oid: alice.oid, args: { password: 'alice-pw-3' }, oldpassword: 'alice-pw-2' })).body, GOODBYE);
  t.equal((await new CceClient(d).raw({ cmd: 'AUTH', user: 'alice', password: 'alice-pw-3' })).body.status, 201);
  // Someone else's password: refused to a plain user, no oldpassword needed for the admin.
  t.strictSame((await alice.client.cmd(`SET ${bob.oid} password="x1" oldpassword="bob-pw-1"`)).body, denied('password'));
  t.strictSame((await admin.cmd(`SET ${bob.oid} password="bob-pw-2"`)).body, GOODBYE);
  t.equal((await new CceClient(d).raw({ cmd: 'AUTH', user: 'bob', password: 'bob-pw-2' })).body.status, 201);
});

t.test('CREATE, DESTROY and SUSPEND are refused to a plain user', async (t) => {
  const c = await alice.client.cmd('CREATE User name="eve"');
  t.equal(c.status, 403);
  t.strictSame(c.body, denied('CREATE'));
  t.strictSame((await alice.client.cmd('CREATE System')).body, denied('CREATE'));
  t.strictSame((await alice.client.cmd(`DESTROY ${bob.oid}`)).body, denied('DESTROY'));
  t.strictSame((await alice.client.cmd('DESTROY 1')).body, denied('DESTROY'));
  t.strictSame((await alice.client.cmd('SUSPEND')).body, denied('SUSPEND'));
  t.equal((await admin.cmd('FIND User name = "eve"')).body.data, undefined, 'nothing created');
  t.equal((await admin.cmd(`GET ${bob.oid}`)).status, 200, 'nothing destroyed');
});

t.test('FIND does not reveal matches on properties the caller may not read', async (t) => {
  t.strictSame((await admin.cmd('FIND User capabilities = "adminUser"')).body.data.oidlist, ['2', '3'], 'admin and api-admin');
  t.strictSame((await alice.client.cmd('FIND User capabilities = "adminUser"')).body, GOODBYE);
  t.strictSame((await alice.client.cmd('FIND User capabilities ~ "admin"')).body, GOODBYE);
  t.strictSame((await admin.cmd('FIND User capabilities = "reader"')).body.data.oidlist, [alice.oid, bob.oid]);
  t.strictSame((await alice.client.cmd('FIND User capabilities = "reader"')).body.data.oidlist, [alice.oid], 'only its own');
  t.strictSame((await alice.client.cmd({ cmd: 'FINDX', class: 'User', args: { capabilities: 'reader' } })).body.data.oidlist, [alice.oid]);
  t.strictSame((await alice.client.cmd({ cmd: 'GETOBJECT', class: 'User', args: { capabilities: 'adminUser' } })).body, { status: 404, message: 'Object not found' });
  t.strictSame(Object.keys((await alice.client.cmd({ cmd: 'GETALL', class: 'User', args: { capabilities: 'reader' } })).body.data.objects), [alice.oid]);
  // Nor does the order of a sort on such a property.
  const q = { cmd: 'FINDX', class: 'User', regex_args: { name: '^(admin|carol)$' }, sortprop: 'capabilities' };
  t.strictSame((await admin.cmd(q)).body.data.oidlist, [carol, '2'], '&aaa& before &adminUser&');
  t.strictSame((await alice.client.cmd(q)).body.data.oidlist, ['2', carol], 'unreadable values sort as empty: oid order');
  t.strictSame((await alice.client.cmd('FIND User name = "admin"')).body.data.oidlist, ['2'], 'readable properties still find');
});

t.test('a user with the adminUser capability manages users, within its own rights', async (t) => {
  const mgr = await makeUser(admin, 'manager', 'mgr-pw-1', { capabilities: '&adminUser&' });
  const r = await mgr.client.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'staff1', password: 'staff-pw-1', fullName: 'Staff' } });
  t.equal(r.body.status, 201);
  const staff = r.body.data.oid as string;
  t.equal((await new CceClient(d).raw({ cmd: 'AUTH', user: 'staff1', password: 'staff-pw-1' })).body.status, 201);
  t.strictSame((await mgr.client.cmd(`SET ${staff} fullName="Staff One" enabled="0"`)).body, GOODBYE);
  t.strictSame((await mgr.client.cmd(`SET ${staff} password="staff-pw-2"`)).body, GOODBYE, 'no oldpassword for someone else');

  // It cannot hand out what it does not hold: systemAdministrator and capabilities are admin-only.
  const escalate = await mgr.client.cmd('CREATE User name="root2" systemAdministrator="1"');
  t.equal(escalate.status, 403);
  t.strictSame(escalate.body, denied('systemAdministrator'));
  t.strictSame((await mgr.client.cmd('CREATE User name="root3" capabilities="&adminUser&"')).body, denied('capabilities'));
  t.equal((await admin.cmd('FIND User name ~ "^root"')).body.data, undefined, 'nothing created');
  t.strictSame((await mgr.client.cmd(`SET ${mgr.oid} capabilities="&adminUser&more&"`)).body, denied('capabilities'));
  t.strictSame((await mgr.client.cmd('SUSPEND')).body, denied('SUSPEND'));
  t.strictSame((await mgr.client.cmd('CREATE System')).body, denied('CREATE'));
  t.strictSame((await mgr.client.cmd(`DESTROY ${staff}`)).body, GOODBYE);
});

t.test('rights are re-read on every request', async (t) => {
  const { oid, client } = await makeUser(admin, 'promoted', 'promoted-pw');
  t.strictSame((await client.cmd('SUSPEND')).body, denied('SUSPEND'));
  t.strictSame((await admin.cmd(`SET ${oid} systemAdministrator="1"`)).body, GOODBYE);
  t.strictSame((await client.cmd('SUSPEND')).body, GOODBYE);
  t.strictSame((await client.cmd('RESUME')).body, GOODBYE);
  t.strictSame((await admin.cmd(`SET ${oid} systemAdministrator="0"`)).body, GOODBYE);
  t.strictSame((await client.cmd('RESUME')).body, denied('RESUME'));
});

t.test('a user manager (adminUser capability) cannot touch a sysadmin, and pays no argon2 for trying', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const mgr = await admin.cmd('CREATE User name="manager" capabilities="&adminUser&" password="mgr-pw"');
  t.equal(mgr.status, 200);
  const m = await new CceClient(d, 'manager').login('mgr-pw');
  const denied = (what: string) => ({ status: 401, message: 'GOODBYE', data: { errors: [{ code: 304, message: `PERMISSION DENIED ${what}` }, { code: 401, message: 'FAIL' }] } });
  const before = d.logs.length;
  const pw = await m.cmd('SET 2 password="taken-over"');
  t.equal(pw.status, 403);
  t.same(pw.body, denied('password'));
  t.same((await m.cmd('SET 2 enabled="0"')).body, denied('enabled'));
  t.same((await m.cmd('DESTROY 2')).body, denied('DESTROY'));
  t.notOk(d.logs.slice(before).some((l) => l.includes('"msg":"write"')), 'nothing was written');
  // The admin's password is unchanged, and the manager still manages ordinary users.
  t.ok((await new CceClient(d).login()).sessionid);
  const plain = await m.cmd('CREATE User name="plain" password="p1"');
  t.equal(plain.status, 200);
  t.equal((await m.cmd(`SET ${plain.body.data.oid} password="p2"`)).status, 200);
});

t.test('a new password ends the other sessions of that user, not the one that changed it', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const oid = (await admin.cmd('CREATE User name="rotator" password="old-pw"')).body.data.oid;
  const first = await new CceClient(d, 'rotator').login('old-pw');
  const second = await new CceClient(d, 'rotator').login('old-pw');
  t.equal((await first.cmd(`SET ${oid} password="new-pw" oldpassword="old-pw"`)).status, 200);
  t.equal((await first.cmd('WHOAMI')).body.data.oid, oid, 'the changing session lives on');
  t.equal((await second.cmd('GET 1')).status, 401, 'the other session ended');
  await new CceClient(d, 'rotator').login('new-pw');
});
