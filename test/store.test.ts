/**
 * The object store and the group-commit writer on their own: transactions,
 * savepoints, durability settings, migrations, sorting, settings.
 */
import t from 'tap';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDb, migrate, type Db } from '../src/store/sqlite/db.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { Store, SYSTEM, Hashed, type AuditEntry } from '../src/store/store.js';
import { Writer, plainOid, type WriteTx } from '../src/store/writer.js';
import { compareBy, SORT_TYPES } from '../src/store/sort.js';
import { loadSchema } from '../src/schema/loader.js';
import { CceError } from '../src/errors.js';
import type { AclSubject } from '../src/schema/types.js';

const schema = loadSchema(['schema']);

function open(db: Db = openDb(':memory:')) {
  const audit: AuditEntry[] = [];
  const store = new Store(sqliteBackend(db), schema, (e) => audit.push(e));
  const commitErrors: unknown[] = [];
  const writer = new Writer(sqliteBackend(db), (e) => commitErrors.push(e));
  return { db, store, writer, audit, commitErrors };
}

t.test('group commit: one transaction per tick, one savepoint per mutation', async (t) => {
  const { store, writer, audit } = open();
  const before = writer.commits;
  const a = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'a' }));
  const bad = writer.submit(async (w) => {
    await store.at(w).create(SYSTEM, 'User', { name: 'half' });
    return store.at(w).create(SYSTEM, 'User', { name: 'a b' });
  });
  const c = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'c' }));
  const results = await Promise.allSettled([a, bad, c]);
  t.equal(writer.commits, before + 1, 'three submits, one COMMIT');
  t.equal(results[0].status, 'fulfilled');
  t.equal(results[2].status, 'fulfilled');
  t.equal(results[1].status, 'rejected');
  const err = (results[1] as PromiseRejectedResult).reason;
  t.type(err, CceError);
  t.equal(err.message, 'BAD DATA 0 name "[[base-cce.invalidData]]"');
  t.equal(await store.findOne('User', '', 'name', 'half'), undefined, 'the failing mutation is undone whole');
  t.ok(await store.findOne('User', '', 'name', 'a'));
  t.ok(await store.findOne('User', '', 'name', 'c'));
  t.strictSame(audit.map((e) => e.op), ['CREATE', 'CREATE', 'CREATE'], 'the undone create was audited but rolled back');

  await writer.submit(() => 1);
  await writer.submit(() => 2);
  t.equal(writer.commits, before + 3, 'separate ticks, separate transactions');
  const v = await Promise.all([writer.submit(() => 'x'), writer.submit(() => 'y')]);
  t.strictSame(v, ['x', 'y'], 'each promise gets its own mutation result');
  t.equal(writer.commits, before + 4);
});

t.test('savepoints nest: an inner failure undoes only the inner writes', async (t) => {
  const { store, writer } = open();
  const oid = await writer.submit(async (w) => {
    const outer = await store.at(w).create(SYSTEM, 'User', { name: 'outer' });
    await t.rejects(
      w.savepoint(async () => {
        await store.at(w).create(SYSTEM, 'User', { name: 'inner' });
        await w.savepoint(() => store.at(w).set(SYSTEM, outer, '', { fullName: 'deep' }));
        throw new Error('inner fails');
      }),
    );
    await w.savepoint(() => store.at(w).set(SYSTEM, outer, '', { sortName: 'kept' }));
    return outer;
  });
  t.equal(await store.findOne('User', '', 'name', 'inner'), undefined);
  t.match((await store.get(SYSTEM, oid)).values, { name: 'outer', fullName: '', sortName: 'kept' });
});

t.test('a failed BEGIN or COMMIT rejects the whole batch', async (t) => {
  const { db, store, writer, commitErrors } = open();
  db.exec('BEGIN');
  await t.rejects(writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'x1' })), { code: 500, message: 'STORAGE FAILURE the store could not begin a transaction' });
  t.match(String(commitErrors.shift()), /within a transaction/, 'the cause is reported');
  db.exec('ROLLBACK');

  // A deferred foreign key fails only at COMMIT: nothing of the batch may stay.
  db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
  const ok = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'x2' }));
  const breaks = writer.submit(() => db.prepare('INSERT INTO child (pid) VALUES (42)').run());
  const results = await Promise.allSettled([ok, breaks]);
  for (const r of results) {
    t.equal(r.status, 'rejected');
    const reason = (r as PromiseRejectedResult).reason;
    t.type(reason, CceError);
    t.strictSame(reason.items, [{ code: 500, message: 'STORAGE FAILURE the store could not commit' }]);
  }
  t.equal(commitErrors.length, 1);
  t.match(String(commitErrors[0]), /FOREIGN KEY/);
  t.equal(await store.findOne('User', '', 'name', 'x2'), undefined);
  t.notOk(db.inTransaction);
  t.ok(await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'x3' })), 'the writer carries on');
});

t.test('durability settings, migrations, newer databases', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'sub', 'cced.db');
  const full = openDb(file);
  t.equal(full.pragma('synchronous', { simple: true }), 2, 'FULL by default');
  t.equal(full.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(full.pragma('foreign_keys', { simple: true }), 1);
  t.equal(full.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.equal(migrate(full), 0, 'migrations are idempotent');
  full.close();
  const normal = openDb(file, { synchronous: 'NORMAL' });
  t.equal(normal.pragma('synchronous', { simple: true }), 1);
  t.equal(normal.pragma('user_version', { simple: true }), MIGRATIONS.length, 'opening twice changes nothing');
  t.equal((normal.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'objects'").get() as { n: number }).n, 1);
  t.equal(openDb(file, { synchronous: 'FULL' }).pragma('synchronous', { simple: true }), 2);
  normal.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  normal.close();
  t.throws(() => openDb(file), { message: `database layout version ${MIGRATIONS.length + 1} is newer than this cced knows (${MIGRATIONS.length})` });
  writeFileSync(path.join(dir, 'garbage.db'), 'not a database at all, not at all, not at all'.repeat(50));
  t.throws(() => openDb(path.join(dir, 'garbage.db')), { code: 'SQLITE_NOTADB' });
});

t.test('sort comparators', async (t) => {
  const sorted = (type: (typeof SORT_TYPES)[number], values: string[]) => [...values].sort(compareBy(type));
  t.strictSame(sorted('ascii', ['b', 'B', 'a', 'A', '10', '9']), ['10', '9', 'A', 'B', 'a', 'b']);
  t.strictSame(sorted('locale', ['b', 'a', 'C', 'é', 'f', 'd']), ['a', 'b', 'C', 'd', 'é', 'f']);
  t.strictSame(sorted('old_numeric', ['10', '9', '-1', '1.5', 'x', '', 'abc', '100']), ['-1', '1.5', '9', '10', '100', '', 'abc', 'x'], 'numbers first, then the rest as text');
  t.strictSame(sorted('old_numeric', ['2x', '10y']), ['2x', '10y'], 'parseFloat semantics: leading number');
  t.strictSame(
    sorted('ip', ['10.0.0.10', '::1', 'host', '9.255.0.1', '2001:db8::1', '10.0.0.2', 'fe80::', '::', '2001:db8:0:0:0:0:0:2', '2001:db8::1:0', '']),
    ['9.255.0.1', '10.0.0.2', '10.0.0.10', '::', '::1', '2001:db8::1', '2001:db8:0:0:0:0:0:2', '2001:db8::1:0', 'fe80::', '', 'host'],
    'IPv4 numerically, then IPv6 numerically, then anything else',
  );
  t.strictSame(sorted('hostname', ['a.c.com', 'www.b.com', 'mail.b.com', 'B.com', 'com']), ['com', 'B.com', 'mail.b.com', 'www.b.com', 'a.c.com']);
  t.equal(compareBy('ascii')('a', 'a'), 0);
  t.equal(compareBy('ip')('10.0.0.1', '10.0.0.1'), 0);
  t.strictSame([...SORT_TYPES], ['ascii', 'old_numeric', 'locale', 'ip', 'hostname']);
});

t.test('store: reads, writes, settings, count', async (t) => {
  const { db, store, writer, audit } = open();
  t.equal(await store.count(), 0);
  const sys = await writer.submit((w) => store.at(w).create(SYSTEM, 'System', {}));
  const u = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'u1', password: new Hashed('HASH1'), capabilities: ['x', 'y@z'] }));
  t.equal(await store.count(), 2);
  t.strictSame(store.classes(), ['Device', 'DeviceType', 'Distribution', 'PantahubToken', 'SshKey', 'System', 'Tunnel', 'User']);
  t.strictSame(await store.names('User'), ['Email']);
  t.strictSame(await store.names(String(sys)), ['Snmp', 'Time']);
  await t.rejects(store.names('999'), { message: 'UNKNOWN OBJECT 999' });
  t.ok(await store.exists(u));
  t.notOk(await store.exists(999));
  t.equal(await store.credential(u, 'password'), 'HASH1');
  t.equal(await store.credential(u, 'other'), undefined);
  t.equal((await store.rawValues(u)).capabilities, '&x&y%40z&');
  t.equal((await store.get(SYSTEM, u)).values.password, '', 'write-only never read back');
  t.notOk('password' in (await store.rawValues(u)), 'not even stored with the properties');
  t.match(audit.at(-1), { op: 'CREATE', oid: u, class: 'User', props: ['name', 'password', 'capabilities'], by: 0 });
  t.notMatch(JSON.stringify(audit), /HASH1/, 'audit entries carry names, not values');

  // Write-only values must come hashed; an empty Hashed leaves the old hash.
  await t.rejects(writer.submit((w) => store.at(w).set(SYSTEM, u, '', { password: 'plain' })), { message: `BAD DATA ${u} password "[[base-cce.invalidData]]"` });
  await t.rejects(writer.submit((w) => store.at(w).set(SYSTEM, u, '', { fullName: new Hashed('x') })), { message: `BAD DATA ${u} fullName "[[base-cce.invalidData]]"` });
  await writer.submit((w) => store.at(w).set(SYSTEM, u, '', { password: new Hashed(null) }));
  t.equal(await store.credential(u, 'password'), 'HASH1');
  await writer.submit((w) => store.at(w).set(SYSTEM, u, '', { password: new Hashed('HASH2') }));
  t.equal(await store.credential(u, 'password'), 'HASH2');
  await writer.submit((w) => store.at(w).set(SYSTEM, u, 'Email', { aliases: '&a&' }));
  t.match(audit.at(-1), { op: 'SET', oid: u, ns: 'Email', props: ['aliases'] });

  const user: AclSubject = { oid: u, admin: false, capabilities: ['x'] };
  await t.rejects(writer.submit((w) => store.at(w).destroy(user, sys)), { message: 'PERMISSION DENIED DESTROY' });
  await t.rejects(writer.submit((w) => store.at(w).set(user, u, 'Email', { aliases: '&b&' })), { message: 'PERMISSION DENIED Email.aliases' });
  const other: AclSubject = { oid: 99, admin: false, capabilities: [] };
  t.ok('capabilities' in (await store.get(user, u)).values, 'readacl ruleSelf: itself');
  t.notOk('capabilities' in (await store.get(other, u)).values, 'readacl ruleSelf: not another');
  t.strictSame(await store.find(other, 'User', { criteria: [{ ns: '', name: 'capabilities', op: '=', value: 'x' }] }), []);

  // getMany: two queries for any number of objects; unknown oids are skipped.
  const many = await store.getMany(SYSTEM, [u, 999, sys]);
  t.strictSame([...many.keys()], [sys, u]);
  t.strictSame([...many.get(u)!.namespaces.keys()], ['', 'Email']);
  t.equal(many.get(u)!.namespaces.get('Email')!.aliases, '&a&');

  await writer.submit((w) => store.at(w).destroy(SYSTEM, u));
  t.notOk(await store.exists(u));
  t.equal(await store.credential(u, 'password'), undefined, 'credentials go with the object');
  t.equal((db.prepare('SELECT count(*) AS n FROM props WHERE oid = ?').get(u) as { n: number }).n, 0);
  t.match(audit.at(-1), { op: 'DESTROY', oid: u });

  t.equal(await store.setting('k'), undefined);
  await writer.submit(async (w) => {
    await store.at(w).putSetting('k', 'v1');
    await store.at(w).putSetting('k', 'v2');
  });
  t.equal(await store.setting('k'), 'v2');
  await writer.submit((w) => store.at(w).putSetting('k', undefined));
  t.equal(await store.setting('k'), undefined);
  t.doesNotThrow(() => new Store(sqliteBackend(db), schema), 'the audit callback is optional');
});

t.test('a newer schema: defaults for rows it added, objects of a dropped class are skipped', async (t) => {
  const dir = t.testdir({
    'a.json': JSON.stringify({ classes: [{ class: 'Gadget', createacl: 'ruleAll', properties: { name: { type: 'word', optional: true } } }, { class: 'Gone' }] }),
  });
  const db = openDb(':memory:');
  const v1 = new Store(sqliteBackend(db), loadSchema([dir]));
  const w = new Writer(sqliteBackend(db));
  const g = await w.submit((w) => v1.at(w).create(SYSTEM, 'Gadget', { name: 'g1' }));
  const gone = await w.submit((w) => v1.at(w).create(SYSTEM, 'Gone', {}));
  writeFileSync(
    path.join(dir, 'b.json'),
    JSON.stringify({ classes: [{ class: 'Gadget', extend: true, properties: { color: { type: 'word', default: 'red' } }, namespaces: { Extra: { properties: { on: { type: 'boolean', default: '1' } } } } }] }),
  );
  writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ classes: [{ class: 'Gadget', createacl: 'ruleAll', properties: { name: { type: 'word', optional: true } } }] }));
  const v2 = new Store(sqliteBackend(db), loadSchema([dir]));
  t.strictSame((await v2.get(SYSTEM, g)).values, { name: 'g1', color: 'red' });
  t.strictSame((await v2.get(SYSTEM, g, 'Extra')).values, { on: '1' });
  const many = await v2.getMany(SYSTEM, [g, gone]);
  t.strictSame([...many.keys()], [g], 'an object whose class the schema no longer has is left out');
  t.strictSame(many.get(g)!.namespaces.get('Extra'), { on: '1' });
  await t.rejects(v2.get(SYSTEM, gone), { message: 'UNKNOWN CLASS Gone' });
  // A non-admin may create where createacl allows, with the properties it may write.
  const anyone: AclSubject = { oid: -1, admin: false, capabilities: [] };
  await t.rejects(w.submit((w) => v2.at(w).create(anyone, 'Gadget', { name: 'g2' })), { message: 'PERMISSION DENIED name' });
  t.ok(await w.submit((w) => v2.at(w).create(anyone, 'Gadget', {})), 'defaults only');
});

t.test('find: criteria, caches, bounded regexes', async (t) => {
  const { store, writer } = open();
  const oids = await writer.submit(async (w) => {
    const out: number[] = [];
    for (const [i, name] of ['n1', 'n2', 'n3'].entries()) out.push(await store.at(w).create(SYSTEM, 'User', { name, site: String(i), capabilities: i ? '&c&' : '' }));
    return out;
  });
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [] }), oids);
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [{ ns: '', name: 'capabilities', op: '=', value: 'c' }, { ns: '', name: 'site', op: '=', value: '2' }] }), [oids[2]]);
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [], sortprop: { ns: '', name: 'name' }, sorttype: 'ascii' }), oids);
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [], sortprop: { ns: '', name: 'password' } }), oids, 'a write-only sort key sorts as empty');
  // Up to 256 prepared FIND shapes are cached; more empty the cache, and FIND still answers.
  // Shapes differ by the sequence of criterion kinds (regex, array element, plain equality).
  const kinds = [
    { ns: '', name: 'name', op: '~' as const, value: '^n' },
    { ns: '', name: 'capabilities', op: '=' as const, value: 'c' },
    { ns: '', name: 'sortName', op: '=' as const, value: '' },
  ];
  for (let i = 0; i < 729; i++) {
    const criteria = [0, 1, 2, 3, 4, 5].map((d) => kinds[Math.floor(i / 3 ** d) % 3]!);
    const found = await store.find(SYSTEM, 'User', { criteria });
    if (i === 728) t.strictSame(found, oids, 'all plain');
  }
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [kinds[1]!, kinds[0]!] }), [oids[1], oids[2]], 'still right after the cache was emptied');
  // Compiled regexes are cached and the cache is bounded.
  for (let i = 0; i < 1005; i++) await store.find(SYSTEM, 'User', { criteria: [{ ns: '', name: 'name', op: '~', value: `^n${i % 10}|x${i}` }] });
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [{ ns: '', name: 'name', op: '~', value: 'N2' }] }), [], 'regexes are case-sensitive');
  t.strictSame(await store.find(SYSTEM, 'User', { criteria: [{ ns: '', name: 'name', op: '~', value: '\\p{L}\\d' }] }), oids, 'unicode regexes');
});

t.test('plainOid', async (t) => {
  t.equal(plainOid('1'), 1);
  t.equal(plainOid('9007199254740991'), 9007199254740991);
  for (const bad of ['0', '01', '-1', '1.0', ' 1', '$1', '', '12345678901234567', '9007199254740992', '9999999999999999']) t.throws(() => plainOid(bad), { message: /^BAD PARAMETERS bad oid/ }, bad);
});

t.test('afterCommit: side effects happen only once their writes committed', async (t) => {
  const { store, writer } = open();
  const seen: string[] = [];
  const ok = writer.submit(async (w) => {
    w.afterCommit(() => seen.push('kept'));
    await t.rejects(w.savepoint(async () => {
      w.afterCommit(() => seen.push('inner undone'));
      throw new Error('inner fails');
    }));
    await w.savepoint(async () => w.afterCommit(() => seen.push('inner kept')));
    t.strictSame(seen, [], 'nothing before COMMIT');
    return store.at(w).create(SYSTEM, 'User', { name: 'fx' });
  });
  const failed = writer.submit((w) => {
    w.afterCommit(() => seen.push('failed job'));
    throw new Error('job fails');
  });
  await ok;
  await t.rejects(failed);
  t.strictSame(seen, ['kept', 'inner kept']);

  // A handle outlives nothing: once its batch ended, it refuses.
  let kept: WriteTx | undefined;
  await writer.submit((w) => {
    kept = w;
    return store.at(w).putSetting('sp', '1');
  });
  t.equal(await store.setting('sp'), '1');
  t.throws(() => kept!.afterCommit(() => seen.push('never')), /the transaction has ended/);
  await t.rejects(store.at(kept!).putSetting('sp', '2'), /the transaction has ended/);
  t.equal(await store.setting('sp'), '1');
  t.notOk(seen.includes('never'));
});

t.test('syncWal: commits settle after the WAL fsync; an fsync error refuses the batch and every later write', async (t) => {
  const dir = t.testdir({});
  const db = openDb(path.join(dir, 'w.db'));
  t.teardown(() => db.close());
  const commitErrors: unknown[] = [];
  const store = new Store(sqliteBackend(db), schema);
  const writer = new Writer(sqliteBackend(db), (e) => commitErrors.push(e), { syncWal: true });
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL: COMMIT itself does not fsync');
  // Two batches while one fsync runs: the second waits for the next fsync, both settle.
  const first = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'w1' }));
  await new Promise((r) => setImmediate(r));
  const second = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'w2' }));
  t.ok((await first) > 0);
  t.ok((await second) > 0);
  // A descriptor that no longer exists: fsync fails with EBADF.
  const wal = (writer as unknown as { wal: { fd: number } }).wal;
  const closedFd = openSync(path.join(dir, 'gone'), 'w');
  closeSync(closedFd);
  const realFd = wal.fd;
  wal.fd = closedFd;
  await t.rejects(writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'w3' })), { code: 500, message: /^STORAGE FAILURE the store could not sync to disk$/ });
  t.match(commitErrors, [{ code: 'EBADF' }]);
  await t.rejects(writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'w4' })), { code: 500, message: /^STORAGE FAILURE the store could not sync to disk; restart the daemon$/ });
  t.equal(await store.findOne('User', '', 'name', 'w4'), undefined, 'refused before running');
  wal.fd = realFd;
  writer.close();
});

t.test('the database file and its WAL are created owner-only whatever the umask', async (t) => {
  const dir = t.testdir();
  const old = process.umask(0o022);
  try {
    const file = path.join(dir, 'sub', 'cced.db');
    const db = openDb(file);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    t.equal(statSync(file).mode & 0o777, 0o600);
    t.equal(statSync(file + '-wal').mode & 0o777, 0o600);
    t.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    db.close();
  } finally {
    process.umask(old);
  }
});

t.test('findOneWith: findOne and some values in one statement; rawValue: one stored value', async (t) => {
  const { store, writer } = open();
  const [first] = await writer.submit(async (w) => [
    await store.at(w).create(SYSTEM, 'User', { name: 'fw1', fullName: 'Same', description: 'one' }),
    await store.at(w).create(SYSTEM, 'User', { name: 'fw2', fullName: 'Same' }),
  ]);
  t.strictSame(await store.findOneWith('User', '', 'fullName', 'Same', ['name', 'description', 'nosuch']), {
    oid: first,
    values: { name: 'fw1', description: 'one' },
  }, 'the first oid, as findOne; names not stored are absent');
  t.equal(await store.findOneWith('User', '', 'fullName', 'Nobody', ['name']), undefined);
  await t.rejects(store.findOneWith('User', '', 'nosuch', 'x', []), { message: /nosuch/ }, 'an unknown property is 302, as in find');
  await t.rejects(store.findOneWith('User', '', 'capabilities', 'x', []), { message: /array property/ });
  t.equal(await store.rawValue(first!, '', 'name'), 'fw1');
  t.equal(await store.rawValue(first!, '', 'nosuch'), undefined);
});

t.test('page totals follow creations, destructions, writes of the ordering property and other processes', async (t) => {
  const dir = t.testdir();
  const { db, store, writer } = open(openDb(path.join(dir, 'db.sqlite')));
  const total = async (prefix?: string, from: Store = store) => (await from.page(SYSTEM, 'User', 'name', { limit: 10, offset: 0, ...(prefix ? { prefix } : {}) })).total;
  const a = await writer.submit(async (w) => {
    const first = await store.at(w).create(SYSTEM, 'User', { name: 'pa1' });
    await store.at(w).create(SYSTEM, 'User', { name: 'pa2' });
    return first;
  });
  t.equal(await total('pa'), 2);
  await writer.submit(async (w) => await store.at(w).set(SYSTEM, a!, '', { fullName: 'not the ordering property' }));
  t.equal(await total('pa'), 2);
  await writer.submit(async (w) => await store.at(w).set(SYSTEM, a!, '', { name: 'pb1' }));
  t.equal(await total('pa'), 1, 'a write of the ordering property moves it out of the prefix');
  t.equal(await total('pb'), 1);
  const b = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'pa3' }));
  t.equal(await total('pa'), 2, 'a creation counts');
  await writer.submit((w) => store.at(w).destroy(SYSTEM, b));
  t.equal(await total('pa'), 1, 'a destruction counts');
  await writer.submit(async (w) => {
    await store.at(w).create(SYSTEM, 'User', { name: 'pa4' });
    t.equal(await total('pa', store.at(w)), 2, 'inside the transaction, its own write counts');
  });
  t.equal(await total('pa'), 2);
  await t.rejects(
    writer.submit(async (w) => {
      await store.at(w).create(SYSTEM, 'User', { name: 'pa6' });
      t.equal(await total('pa', store.at(w)), 3);
      throw new Error('rolled back');
    }),
  );
  t.equal(await total('pa'), 2, 'a total counted inside a rolled-back transaction is not remembered');
  const other = openDb(path.join(dir, 'db.sqlite'));
  const otherStore = new Store(sqliteBackend(other), schema);
  await new Writer(sqliteBackend(other)).submit((w) => otherStore.at(w).create(SYSTEM, 'User', { name: 'pa5' }));
  other.close();
  t.equal(await total('pa'), 3, 'another process committing is seen');
  db.close();
});

t.test('GET reads remembered values only while their class is unchanged: own writes, rollbacks, other processes', async (t) => {
  const dir = t.testdir();
  const { db, store, writer } = open(openDb(path.join(dir, 'db.sqlite')));
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  const fullName = async (oid: number, from: Store = store) => (await from.get(SYSTEM, oid)).values.fullName;
  const [oid, other] = await writer.submit(async (w) => [await store.at(w).create(SYSTEM, 'User', { name: 'gv1', fullName: 'One' }), await store.at(w).create(SYSTEM, 'User', { name: 'gv2' })]);
  t.equal(await fullName(oid!), 'One');
  await writer.submit(async (w) => await store.at(w).set(SYSTEM, other!, '', { fullName: 'Other' }));
  t.equal(await fullName(oid!), 'One', 'a write to another object of the class: read again, same value');
  await writer.submit(async (w) => await store.at(w).set(SYSTEM, oid!, '', { fullName: 'Two' }));
  t.equal(await fullName(oid!), 'Two', 'its own write is seen at once');
  await t.rejects(
    writer.submit(async (w) => {
      await store.at(w).set(SYSTEM, oid!, '', { fullName: 'Rolled back' });
      t.equal(await fullName(oid!, store.at(w)), 'Rolled back', 'inside the transaction, its own write');
      throw new Error('undo');
    }),
  );
  t.equal(await fullName(oid!), 'Two', 'what a rolled-back transaction read is not remembered');
  t.same([await store.exists(other!), (await store.objectClass(other!)).name], [true, 'User']);
  await writer.submit(async (w) => await store.at(w).destroy(SYSTEM, other!));
  await t.rejects(store.get(SYSTEM, other!), { message: /UNKNOWN OBJECT/ }, 'a destroyed object is gone, not remembered');
  t.notOk(await store.exists(other!), 'nor is its class');
  await t.rejects(store.objectClass(other!), { message: /UNKNOWN OBJECT/ });
  t.ok(await store.exists(oid!));
  const otherDb = openDb(path.join(dir, 'db.sqlite'));
  const otherStore = new Store(sqliteBackend(otherDb), schema);
  await new Writer(sqliteBackend(otherDb)).submit(async (w) => await otherStore.at(w).set(SYSTEM, oid!, '', { fullName: 'Three' }));
  await nextTurn();
  t.equal(await fullName(oid!), 'Three', 'another process committing is seen from the next event-loop turn on');
  await new Writer(sqliteBackend(otherDb)).submit(async (w) => await otherStore.at(w).destroy(SYSTEM, oid!));
  otherDb.close();
  await nextTurn();
  t.notOk(await store.exists(oid!), 'and so is its destruction');
  db.close();
});

t.test('the object count is kept by the store: exact after creates, destroys, rollbacks and an upgrade', async (t) => {
  const { db, store, writer } = open();
  const counted = () => (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
  const before = await store.count();
  t.equal(before, counted());
  const a = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'counted-a' }));
  await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'counted-b' }));
  await t.rejects(writer.submit(async (w) => {
    await store.at(w).create(SYSTEM, 'User', { name: 'rolled-back' });
    throw new Error('undo');
  }));
  await writer.submit((w) => store.at(w).destroy(SYSTEM, a));
  t.equal(await store.count(), before + 1, 'two creates, one destroy; the rolled-back create is not counted');
  t.equal(await store.count(), counted());

  // A database made before the count existed: the migration counts what it holds.
  const file = path.join(t.testdir(), 'old.db');
  const old = openDb(file);
  old.exec('DROP TRIGGER objects_counted; DROP TRIGGER objects_uncounted; DROP TABLE class_counts; DROP TABLE changes; PRAGMA user_version = 2');
  old.prepare("INSERT INTO objects (class, created_at, updated_at) VALUES ('User', 0, 0), ('User', 0, 0), ('Device', 0, 0)").run();
  old.close();
  const upgraded = openDb(file);
  t.strictSame(upgraded.prepare('SELECT class, n FROM class_counts ORDER BY class').all(), [{ class: 'Device', n: 1 }, { class: 'User', n: 2 }]);
  upgraded.close();
});

t.test('page(): offsets and marks answer what a walk of the index does, while the class changes', async (t) => {
  const { db, store, writer } = open();
  const walk = (limit: number, offset: number, prefix = '') =>
    (db.prepare(`SELECT oid FROM props WHERE class = 'User' AND ns = '' AND name = 'fullName' AND value LIKE ? ORDER BY value, oid LIMIT ? OFFSET ?`)
      .pluck().all(`${prefix}%`, limit, offset) as number[]);
  const made: number[] = [];
  for (let i = 0; i < 40; i++) made.push(await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: `p${i}`, fullName: `n${i % 7}` })));
  const seen = (offset: number, prefix?: string) => store.page(SYSTEM, 'User', 'fullName', { limit: 6, offset, ...(prefix ? { prefix } : {}) });
  // Pages in sequence (each start remembered by the one before), then again (remembered starts), then after changes.
  for (const round of ['first', 'again']) {
    for (let offset = 0; offset <= 42; offset += 6) t.strictSame((await seen(offset)).oids, walk(6, offset), `${round}: offset ${offset}`);
  }
  await writer.submit((w) => store.at(w).destroy(SYSTEM, made[3]!));
  await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'late', fullName: 'n0' }));
  await writer.submit((w) => store.at(w).set(SYSTEM, made[10]!, '', { fullName: 'a-first' }));
  for (let offset = 0; offset <= 42; offset += 6) t.strictSame((await seen(offset)).oids, walk(6, offset), `after changes: offset ${offset}`);
  t.strictSame((await seen(6, 'n1')).oids, walk(6, 6, 'n1'), 'a prefix pages alike');
  const users = (db.prepare("SELECT count(*) FROM objects WHERE class = 'User'").pluck().get() as number);
  t.equal(users, 40);
  t.equal((await seen(0)).total, users, 'the total: 40 made, one destroyed, one created');

  // `after`: right after an entry, by value (and oid when values repeat).
  const firstPage = await seen(0);
  const next = await store.page(SYSTEM, 'User', 'fullName', { limit: 6, offset: 0, after: firstPage.last! });
  t.strictSame(next.oids, walk(6, 6), 'after the last entry of a page: the next page');
  const byValue = await store.page(SYSTEM, 'User', 'fullName', { limit: 100, offset: 0, after: { value: 'n3' } });
  t.ok(byValue.oids.length > 0);
  const values = await Promise.all(byValue.oids.map((oid) => store.rawValues(oid)));
  t.ok(values.every((v) => v.fullName! > 'n3'), 'a value alone: strictly after every entry of that value');
});

t.test('page(): a deep offset is walked in steps, the event loop served between two, and answers what one walk does', async (t) => {
  const { db, store, writer } = open();
  const walk = (limit: number, offset: number) =>
    db.prepare(`SELECT oid FROM props WHERE class = 'User' AND ns = '' AND name = 'fullName' ORDER BY value, oid LIMIT ? OFFSET ?`).pluck().all(limit, offset) as number[];
  const made = await writer.submit(async (w) => {
    const oids: number[] = [];
    for (let i = 0; i < 230; i++) oids.push(await store.at(w).create(SYSTEM, 'User', { name: `w${i}`, fullName: `v${i % 17}` }));
    return oids;
  });
  store.pageWalkStep = 20;
  const turnsDuring = async (offset: number) => {
    let turns = 0;
    let on = true;
    const count = () => {
      turns++;
      if (on) setImmediate(count);
    };
    setImmediate(count);
    const page = await store.page(SYSTEM, 'User', 'fullName', { limit: 7, offset });
    on = false;
    return { oids: page.oids, turns };
  };
  const deep = await turnsDuring(215);
  t.strictSame(deep.oids, walk(7, 215), 'the page at offset 215');
  t.ok(deep.turns >= 10, `other work ran between the steps (${deep.turns} turns of the event loop)`);
  // Every depth again, from the steps remembered, and past the end.
  for (const offset of [0, 19, 20, 21, 99, 140, 199, 200, 229, 230, 400]) t.strictSame((await store.page(SYSTEM, 'User', 'fullName', { limit: 7, offset })).oids, walk(7, offset), `offset ${offset}`);
  // The order changes: the steps remembered no longer hold.
  await writer.submit((w) => store.at(w).destroy(SYSTEM, made[0]!));
  await writer.submit((w) => store.at(w).set(SYSTEM, made[5]!, '', { fullName: 'a-first' }));
  for (const offset of [21, 120, 215, 228]) t.strictSame((await store.page(SYSTEM, 'User', 'fullName', { limit: 7, offset })).oids, walk(7, offset), `after changes: offset ${offset}`);
});

t.test('a reference by oid (DeviceType.forked_from) names an object of its class, soft-deleted or not', async (t) => {
  const { store, writer } = open();
  const orig = await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'orig' }));
  const user = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'u' }));
  const fork = await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'fork', forked_from: String(orig) }));
  t.equal(await store.rawValue(fork, '', 'forked_from'), String(orig));
  for (const bad of [String(user), '999999', '0']) {
    await t.rejects(writer.submit((w) => store.at(w).set(SYSTEM, fork, '', { forked_from: bad })), { code: 302, message: `BAD DATA ${fork} forked_from "[[base-cce.unknownReference]]"` }, bad);
  }
  await writer.submit((w) => store.at(w).destroy(SYSTEM, orig));
  t.equal(await store.rawValue(orig, '', 'deleted'), '1', 'soft-deleted');
  await writer.submit((w) => store.at(w).set(SYSTEM, fork, '', { forked_from: String(orig) }));
  await writer.submit((w) => store.at(w).set(SYSTEM, fork, '', { forked_from: '' }));
  t.equal(await store.rawValue(fork, '', 'forked_from'), '', "'' names nothing");
});
