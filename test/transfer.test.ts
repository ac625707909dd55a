/**
 * `cced export` / `cced import` through the real executable on real stores: a round trip keeps every object,
 * every reference and every oid (into an empty store), or remaps them consistently (into a store that has
 * objects: System stays oid 1, a fork still names its original, whose merge then works), hashes travel only
 * in a --with-secrets 0600 file, and an export of the earlier header-less format imports into a store of an
 * earlier database layout (the migrations run first).
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { adminClient, consoleEnv, consoleStoreName, onPostgres, startDaemon, ADMIN_PASSWORD } from './helpers/daemon.js';
import { withStoreRows } from './helpers/store-rows.js';
import { adminRest, deviceRest, newDevice, seedCatalog } from './helpers/meeting.js';
import { runTs } from './helpers/spawn.js';
import { withoutCced } from './helpers/main-process.js';
import { remember } from './helpers/gate.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { PG_MIGRATIONS } from '../src/store/postgres/migrations.js';

remember(ADMIN_PASSWORD);
const dir = mkdtempSync(path.join(tmpdir(), 'cced-transfer-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const cced = async (state: string, args: string[]) => runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), ...(await consoleEnv(state)) } });

const num = (v: unknown) => Number(v);

/** Every object of a store with its stored properties, events and hashes, read with SQL (on either backend). */
function storeContent(state: string) {
  return withStoreRows(state, async (query) => {
    const objects = new Map<number, { class: string; props: Record<string, string> }>();
    for (const o of await query('SELECT oid, class FROM objects ORDER BY oid')) objects.set(num(o.oid), { class: String(o.class), props: {} });
    for (const p of await query('SELECT oid, ns, name, value FROM props')) objects.get(num(p.oid))!.props[`${p.ns}.${p.name}`] = String(p.value);
    // A Device's heartbeat values live in their narrow table on SQLite (src/store/sqlite/hot.ts), from layout 6 on.
    if (!onPostgres && (await query("SELECT 1 FROM sqlite_master WHERE name = 'device_beats'")).length > 0) {
      for (const b of await query('SELECT oid, last_seen, ip_address FROM device_beats')) {
        if (b.last_seen !== null) objects.get(num(b.oid))!.props['.last_seen'] = String(b.last_seen);
        if (b.ip_address !== null) objects.get(num(b.oid))!.props['.ip_address'] = String(b.ip_address);
      }
    }
    const events = (await query('SELECT device_oid, at, event, host, remote FROM device_events ORDER BY id')).map((e) => ({ ...e, device_oid: num(e.device_oid) }));
    const credentials = (await query('SELECT oid, name, hash FROM credentials ORDER BY oid, name')).map((c) => ({ ...c, oid: num(c.oid) }));
    return { objects, events: events as { device_oid: number }[], credentials: credentials as { oid: number; name: string; hash: string }[] };
  });
}

t.test('round trips', async (t) => {
  // The source: a catalog with a fork, a device with its token and events, a user with a password, and a gap in the oids.
  const source = f('source');
  const d = await startDaemon({ stateDir: source });
  await seedCatalog(d);
  const admin = await adminClient(d);
  const rest = await adminRest(d);
  const fork = await rest.post(`/api/device-types/${(await admin.cmd('FIND DeviceType name = "rpi4"')).body.data.oidlist[0]}/fork`, { name: 'rpi4-beta' });
  t.equal(fork.status, 200, fork.text);
  t.equal((await admin.cmd('CREATE User name="temp"')).status, 200);
  t.equal((await admin.cmd(`DESTROY ${(await admin.cmd('FIND User name = "temp"')).body.data.oidlist[0]}`)).status, 200);
  const device = await newDevice(rest, { distribution: 'prod' });
  t.equal((await deviceRest(d, device.token).post(`/api/devices/${device.key}/online`, {})).status, 200);
  t.equal((await admin.cmd('CREATE User name="carol" password="carol-password"')).status, 200);
  await d.close();
  const before = await storeContent(source);
  t.ok(before.events.length > 0 && before.credentials.length >= 3, 'events and hashes to carry');

  // Without --with-secrets: no hash and no device token leaves; to a terminal never.
  const plain = await cced(source, ['export']);
  t.equal(plain.code, 0, plain.stderr);
  t.equal(plain.stderr, `cced: configuration built-in defaults (no --config, no CCED_CONFIG), overridden by CCED_STATE_DIR CCED_DB_SYNCHRONOUS${onPostgres ? ' CCED_DB_URL' : ''}; store ${await consoleStoreName(source)}\n`);
  t.notMatch(plain.stdout, /argon2|credential/, 'no password hash');
  t.notMatch(plain.stdout, device.token, 'no device token');
  const toPipe = await cced(source, ['export', '--with-secrets']);
  t.strictSame([toPipe.code, toPipe.stdout], [1, '']);
  t.match(toPipe.stderr, /cced: --with-secrets writes to a file only/);

  const file = f('full.jsonl');
  const exp = await cced(source, ['export', file, '--with-secrets']);
  t.equal(exp.code, 0, exp.stderr);
  t.equal(exp.stdout, `exported ${before.objects.size} objects to ${file}, secrets and password hashes included\n`);
  t.equal(statSync(file).mode & 0o777, 0o600, 'created 0600');
  const again = await cced(source, ['export', file]);
  t.equal(again.code, 1, 'never written into an existing file');

  await t.test('into an empty store: every oid, property, event and hash as it was', async (t) => {
    const empty = f('empty');
    const imp = await cced(empty, ['import', file]);
    t.equal(imp.code, 0, imp.stderr);
    t.equal(imp.stdout, `imported ${before.objects.size} objects\n`);
    t.match(imp.stderr, /cced: the store was empty: oids kept\n/);
    t.strictSame(await storeContent(empty), before, 'object by object, with references, events and hashes');
    // One audit line for the whole import (a bulk write), its creations counted per class.
    const audits = imp.stderr.split('\n').filter((l) => l.includes('"audit"')).map((l) => JSON.parse(l) as { audit: string; by: number[]; writes: Record<string, Record<string, number>> });
    const perClass: Record<string, number> = {};
    for (const o of before.objects.values()) perClass[o.class] = (perClass[o.class] ?? 0) + 1;
    t.strictSame(
      audits.map((a) => [a.audit, a.by, a.writes.CREATE]),
      [['BULK', [0], perClass]],
    );
    // The change log names every object created, at the oid it kept (the source's oids have a gap).
    const createdRows = await withStoreRows(empty, (query) => query('SELECT oid, class FROM changes WHERE created = 1 ORDER BY oid'));
    t.strictSame(
      createdRows.map((r) => [num(r.oid), String(r.class)]),
      [...before.objects].map(([oid, o]) => [oid, o.class]),
    );
    // The device still logs in with its token, carol with her password, and System is oid 1.
    const d2 = await startDaemon({ stateDir: empty });
    t.teardown(() => d2.close());
    t.equal((await deviceRest(d2, device.token).post(`/api/devices/${device.key}/online`, {})).status, 200);
    const carol = await new (await import('./helpers/daemon.js')).CceClient(d2, 'carol').login('carol-password');
    t.equal((await carol.cmd('WHOAMI')).status, 200);
    t.equal((await (await adminClient(d2)).cmd('GET 1')).body.data.DATA.CLASS, 'System');
  });

  await t.test('into a store that has objects: remapped consistently, System stays oid 1', async (t) => {
    const busy = f('busy');
    const d3 = await startDaemon({ stateDir: busy });
    const a3 = await adminClient(d3);
    t.equal((await a3.cmd('CREATE DeviceType name="local-only"')).status, 200);
    await d3.close();
    const imp = await cced(busy, ['import', file]);
    t.equal(imp.code, 0, imp.stderr);
    t.match(imp.stderr, /cced: \d+ created, 3 merged into existing ones\n/, 'System, admin and api-admin merged');
    const after = await storeContent(busy);
    t.equal(after.objects.get(1)!.class, 'System');
    // Every object of the source is there with the same properties, an oid-valued one naming the counterpart.
    const byKey = (c: Awaited<ReturnType<typeof storeContent>>, oid: number) => {
      const o = c.objects.get(oid)!;
      return `${o.class}:${o.props['.name'] ?? o.props['.device_key'] ?? (o.class === 'System' ? 'system' : oid)}${o.class === 'Distribution' ? `@${o.props['.device_type']}` : ''}`;
    };
    const index = new Map([...after.objects.keys()].map((oid) => [byKey(after, oid), oid]));
    for (const [oid, o] of before.objects) {
      const there = index.get(byKey(before, oid));
      t.ok(there !== undefined, `${byKey(before, oid)} is there`);
      if (there === undefined) continue;
      const expected = { ...o.props };
      if (expected['.forked_from']) expected['.forked_from'] = String(index.get(byKey(before, Number(expected['.forked_from']))));
      t.strictSame(after.objects.get(there)!.props, expected, `${byKey(before, oid)}: same properties, references remapped`);
    }
    const deviceOid = index.get(`Device:${device.key}`)!;
    t.equal(after.events.filter((e) => e.device_oid === deviceOid).length, before.events.length, 'the events follow their device');
    // The imported fork still names its original: its merge works.
    const d4 = await startDaemon({ stateDir: busy });
    t.teardown(() => d4.close());
    const merge = await (await adminRest(d4)).post(`/api/device-types/${index.get('DeviceType:rpi4-beta')}/merge`, {});
    t.equal(merge.status, 200, merge.text);
  });

  await t.test('an export of the earlier format into a store of an earlier layout', { skip: onPostgres && 'the earlier layout is a SQLite file made here (PostgreSQL stores begin at its first layout)' }, async (t) => {
    const old = f('old');
    const db = new Database(path.join((await import('node:fs')).mkdirSync(old, { recursive: true }) ?? old, 'cced.db'));
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.close();
    // The header-less lines earlier releases wrote: objects only.
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"oid"'));
    const legacy = f('legacy.jsonl');
    writeFileSync(legacy, lines.map((l) => l + '\n').join(''));
    const imp = await cced(old, ['import', legacy]);
    t.equal(imp.code, 0, imp.stderr);
    t.match(imp.stderr, /cced: the store was empty: oids kept \(an export of format 1\)\n/);
    const now = await storeContent(old);
    t.strictSame([...now.objects.keys()], [...before.objects.keys()], 'every object at its oid');
    const check = new Database(path.join(old, 'cced.db'), { readonly: true });
    t.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length, 'migrated first');
    check.close();
  });

  const help = await cced(source, ['import', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: cced import \[options\] <file>/);
  const usage = await cced(source, ['import']);
  t.equal(usage.code, 2);
});

t.test('a store larger than every chunk streams out whole, in oid order, to a file and to stdout alike', async (t) => {
  // 2500 users (each read chunk holds 1000, each write 64 KiB), and forks naming types before and after them.
  const users = Array.from({ length: 2500 }, (_, i) => ({ oid: 10 + 2 * i, class: 'User', namespaces: { '': { name: `u${i}` } } }));
  const types = [
    { oid: 7, class: 'DeviceType', namespaces: { '': { name: 'early-fork', forked_from: '9' } } },
    { oid: 8, class: 'DeviceType', namespaces: { '': { name: 'orig' } } },
    { oid: 9, class: 'DeviceType', namespaces: { '': { name: 'fork', forked_from: '8' } } },
    { oid: 6000, class: 'DeviceType', namespaces: { '': { name: 'lost', forked_from: '5' } } },
  ];
  const seed = f('many.jsonl');
  writeFileSync(seed, [...types, ...users].map((o) => JSON.stringify(o) + '\n').join(''));
  const state = f('many');
  const imp = await cced(state, ['import', seed]);
  t.equal(imp.code, 0, imp.stderr);
  t.match(imp.stderr, "cced: DeviceType 6000 forked_from=5 named no object of the export; imported as ''\n");

  const file = f('many-out.jsonl');
  const exp = await cced(state, ['export', file]);
  t.equal(exp.code, 0, exp.stderr);
  t.equal(exp.stdout, `exported 2504 objects to ${file}\n`);
  const lines = readFileSync(file, 'utf8').split('\n');
  t.equal(lines.pop(), '', 'every line ends with a newline');
  t.strictSame(JSON.parse(lines[0]!), { cced_export: 2, layout: onPostgres ? PG_MIGRATIONS.length : MIGRATIONS.length, with_secrets: false, objects: 2504 });
  const objects = lines.slice(1).map((l) => JSON.parse(l) as { oid: number; class: string; namespaces: Record<string, Record<string, string>> });
  t.strictSame(objects.map((o) => o.oid), [7, 8, 9, ...users.map((u) => u.oid), 6000], 'each object once, in oid order, at its oid');
  t.strictSame(objects.map((o) => o.namespaces['']!.forked_from ?? null).filter((v) => v !== null && v !== ''), ['9', '8'], 'the forks name their originals');
  t.equal(objects.find((o) => o.oid === 6000)!.namespaces['']!.forked_from, '');
  t.equal(objects.filter((o) => o.class === 'User').map((o) => o.namespaces['']!.name).join(), users.map((u) => u.namespaces['']!.name).join());

  const piped = await cced(state, ['export']);
  t.equal(piped.code, 0, piped.stderr);
  t.equal(piped.stdout, readFileSync(file, 'utf8'), 'stdout gets the same lines');
});
