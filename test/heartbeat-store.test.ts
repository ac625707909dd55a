/**
 * A Device's heartbeat values in their narrow table (src/store/sqlite/hot.ts):
 * every read answers as the generic property rows did (checked against a twin
 * class whose same properties stay property rows), an existing store migrates
 * (its rows moved, nothing lost), and the compact credential memory
 * (src/devices/credential-table.ts) stays bounded and exact.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDb } from '../src/store/sqlite/db.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { Store, SYSTEM } from '../src/store/store.js';
import { Writer } from '../src/store/writer.js';
import { loadSchema } from '../src/schema/loader.js';
import { CredentialTable } from '../src/devices/credential-table.js';
import { DeviceCredentials } from '../src/devices/credentials.js';
import { startDaemon } from './helpers/daemon.js';
import { adminRest, deviceRest, newDevice, seedCatalog } from './helpers/meeting.js';
import { adminClient } from './helpers/daemon.js';

const TWIN = 'DeviceTwin';

/** The shipped schema plus DeviceTwin: Device's properties under another class name, so stored as property rows. */
function schemaWithTwin(dir: string) {
  const device = (JSON.parse(readFileSync('schema/Device.json', 'utf8')) as { classes: { class: string }[] }).classes.find((c) => c.class === 'Device')!;
  mkdirSync(dir, { recursive: true });
  const properties = JSON.parse(JSON.stringify((device as unknown as { properties: Record<string, { references?: { class: string } }> }).properties));
  properties.parent_device_key.references.class = TWIN;
  writeFileSync(path.join(dir, 'twin.json'), JSON.stringify({ classes: [{ ...device, class: TWIN, properties }] }));
  return loadSchema(['schema', dir]);
}

function open(dir: string, file = ':memory:') {
  const db = openDb(file);
  return { db, store: new Store(sqliteBackend(db), schemaWithTwin(dir)), writer: new Writer(sqliteBackend(db)) };
}

const KEYS = ['AAAA1', 'AAAA2', 'AAAA3', 'AAAA4', 'AAAA5', 'AAAA6'];
/** Heartbeat values per device (undefined: never beat), with repeats, so finds and sorts have ties. */
const BEATS: ({ last_seen: string; ip_address: string } | undefined)[] = [
  { last_seen: '2026-01-02T00:00:00.000Z', ip_address: '10.0.0.2' },
  undefined,
  { last_seen: '2026-01-01T00:00:00.000Z', ip_address: '10.0.0.10' },
  { last_seen: '2026-02-01T00:00:00.000Z', ip_address: '10.0.0.2' },
  { last_seen: '2026-01-01T00:00:00.000Z', ip_address: '192.168.1.1' },
  undefined,
];

t.test('the heartbeat columns answer every read as property rows do', async (t) => {
  const { db, store, writer } = open(t.testdir());
  await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'rpi4' }));
  const oids: Record<string, number[]> = { Device: [], [TWIN]: [] };
  for (const cls of ['Device', TWIN]) {
    for (const [i, key] of KEYS.entries()) {
      const oid = await writer.submit((w) => store.at(w).create(SYSTEM, cls, { device_key: key, token_code: `token-${key}-abcdefghijkl`, device_type: 'rpi4' }));
      oids[cls]!.push(oid);
      const beat = BEATS[i];
      if (beat) await writer.submit((w) => store.at(w).set(SYSTEM, oid, '', { ...beat, note: `n${i}` }, { routine: true }));
    }
  }
  t.equal((db.prepare("SELECT count(*) FROM props WHERE class = 'Device' AND name IN ('last_seen', 'ip_address')").pluck().get() as number), 0, 'no Device keeps them as property rows');
  t.equal((db.prepare('SELECT count(*) FROM device_beats').pluck().get() as number), KEYS.length, 'one narrow row per Device');

  /** Everything read about one class, with its oids as positions (so the two classes compare). */
  const readAll = async (cls: string) => {
    const at = (oid: number) => oids[cls]!.indexOf(oid);
    const ats = (list: number[]) => list.map(at);
    const find = async (criteria: { name: string; op: '=' | '~'; value: string }[], sort?: { name: string; sorttype?: 'ascii' | 'ip' | 'old_numeric' }) =>
      ats(await store.find(SYSTEM, cls, { criteria: criteria.map((c) => ({ ns: '', ...c })), ...(sort ? { sortprop: { ns: '', name: sort.name }, sorttype: sort.sorttype ?? 'ascii' } : {}) }));
    const live: number[] = [];
    for (const oid of oids[cls]!) if (await store.exists(oid)) live.push(oid);
    const one = await store.findOneWith(cls, '', 'device_key', 'AAAA4', ['last_seen', 'ip_address', 'note']);
    return {
      get: await Promise.all(live.map(async (oid) => (await store.get(SYSTEM, oid)).values)),
      raw: await Promise.all(live.map(async (oid) => [await store.rawValues(oid), await store.rawValue(oid, '', 'last_seen'), await store.rawValue(oid, '', 'ip_address')])),
      many: [...(await store.getMany(SYSTEM, live)).entries()].map(([oid, v]) => [at(oid), v.namespaces.get('')]),
      byIp: await find([{ name: 'ip_address', op: '=', value: '10.0.0.2' }]),
      byIpNone: await find([{ name: 'ip_address', op: '=', value: '' }]),
      bySeen: await find([{ name: 'last_seen', op: '=', value: '2026-01-01T00:00:00.000Z' }]),
      bySeenRegex: await find([{ name: 'last_seen', op: '~', value: '^2026-01' }]),
      byIpRegex: await find([{ name: 'ip_address', op: '~', value: '^10\\.' }]),
      both: await find([{ name: 'device_type', op: '=', value: 'rpi4' }, { name: 'ip_address', op: '=', value: '10.0.0.2' }, { name: 'last_seen', op: '~', value: '02-01' }]),
      sortedSeen: await find([], { name: 'last_seen' }),
      sortedIp: await find([{ name: 'device_type', op: '=', value: 'rpi4' }], { name: 'ip_address', sorttype: 'ip' }),
      page: await Promise.all([0, 2, 4].map(async (offset) => ats((await store.page(SYSTEM, cls, 'last_seen', { limit: 2, offset })).oids))),
      pageTotal: (await store.page(SYSTEM, cls, 'ip_address', { limit: 2, offset: 0, prefix: '10.' })).total,
      pagePrefix: ats((await store.page(SYSTEM, cls, 'ip_address', { limit: 5, offset: 0, prefix: '10.' })).oids),
      one: one && [at(one.oid), one.values],
      findOne: at((await store.findOne(cls, '', 'ip_address', '192.168.1.1')) ?? -1),
      byIpWith: ((w) => w && [at(w.oid), w.values])(await store.findOneWith(cls, '', 'ip_address', '10.0.0.2', ['device_key', 'last_seen'])),
    };
  };
  const twin = await readAll(TWIN);
  t.strictSame(await readAll('Device'), twin, 'GET, FIND, FINDX terms, sorts, pages and look-ups: as the property rows answer');
  t.strictSame(twin.byIp, [0, 3], 'the twin itself answers what was written');
  t.strictSame(twin.sortedSeen, [1, 5, 2, 4, 0, 3], 'never-beaten devices (empty default) first, then by time, ties by oid');

  // A SET of a heartbeat value by another door, a DESTROY: still the same answers.
  for (const cls of ['Device', TWIN]) {
    await writer.submit((w) => store.at(w).set(SYSTEM, oids[cls]![1]!, '', { ip_address: '10.0.0.2' }));
    await writer.submit((w) => store.at(w).destroy(SYSTEM, oids[cls]![3]!));
  }
  t.strictSame(await readAll('Device'), await readAll(TWIN), 'after a SET and a DESTROY');
  t.equal((db.prepare('SELECT count(*) FROM device_beats').pluck().get() as number), KEYS.length - 1, "the destroyed device's row went with it");
});

t.test('a default filled in, or a property dropped, on a heartbeat column acts on the narrow table', async (t) => {
  const { db, store, writer } = open(t.testdir());
  await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'rpi4' }));
  const [a, b] = [
    await writer.submit((w) => store.at(w).create(SYSTEM, 'Device', { device_key: 'BBBB1', token_code: 'token-BBBB1-abcdefghijkl', device_type: 'rpi4' })),
    await writer.submit((w) => store.at(w).create(SYSTEM, 'Device', { device_key: 'BBBB2', token_code: 'token-BBBB2-abcdefghijkl', device_type: 'rpi4' })),
  ];
  db.prepare('UPDATE device_beats SET last_seen = NULL WHERE oid = ?').run(a);
  const defaults = sqliteBackend(db).defaults;
  t.equal(await store.rawValue(a, '', 'last_seen'), undefined, 'a Device without the value stored');
  t.equal(defaults.fill('Device', '', 'last_seen', 'X', 0, b), 1, 'one value filled in');
  t.strictSame([await store.rawValue(a, '', 'last_seen'), await store.rawValue(b, '', 'last_seen')], ['X', ''], 'only where it was missing');
  defaults.dropProperty('Device', '', 'last_seen');
  t.strictSame([await store.rawValue(a, '', 'last_seen'), await store.rawValue(b, '', 'ip_address')], [undefined, ''], 'dropped: that column only');
});

t.test('a store of the earlier layout migrates: heartbeat rows moved, nothing lost', async (t) => {
  const dir = t.testdir();
  // The content: made by this cced, then written into a file of the earlier layout as its property rows.
  const made = open(path.join(dir, 'schema'), path.join(dir, 'made.db'));
  await made.writer.submit((w) => made.store.at(w).create(SYSTEM, 'DeviceType', { name: 'rpi4' }));
  const devices: number[] = [];
  for (const [i, key] of KEYS.entries()) {
    const oid = await made.writer.submit((w) => made.store.at(w).create(SYSTEM, 'Device', { device_key: key, token_code: `token-${key}-abcdefghijkl`, device_type: 'rpi4' }));
    devices.push(oid);
    if (BEATS[i]) await made.writer.submit((w) => made.store.at(w).set(SYSTEM, oid, '', BEATS[i]!, { routine: true }));
  }
  const expected = await Promise.all(devices.map(async (oid) => (await made.store.get(SYSTEM, oid)).values));
  made.db.close();

  const oldFile = path.join(dir, 'old.db');
  const old = new Database(oldFile);
  old.pragma('journal_mode = WAL');
  for (const m of MIGRATIONS.slice(0, 5)) old.exec(m);
  old.pragma('user_version = 5');
  old.exec(`ATTACH '${path.join(dir, 'made.db')}' AS made`);
  old.exec('DELETE FROM class_counts; INSERT INTO objects SELECT * FROM made.objects; INSERT INTO props SELECT * FROM made.props; INSERT INTO credentials SELECT * FROM made.credentials');
  old.exec(`INSERT INTO props (oid, ns, name, class, value) SELECT oid, '', 'last_seen', 'Device', last_seen FROM made.device_beats WHERE last_seen IS NOT NULL;
            INSERT INTO props (oid, ns, name, class, value) SELECT oid, '', 'ip_address', 'Device', ip_address FROM made.device_beats WHERE ip_address IS NOT NULL`);
  old.exec('DETACH made');
  const oldRows = old.prepare("SELECT count(*) FROM props WHERE class = 'Device' AND name IN ('last_seen', 'ip_address')").pluck().get() as number;
  t.equal(oldRows, KEYS.length * 2, 'the earlier layout: two property rows per Device');
  t.notOk(old.prepare("SELECT 1 FROM sqlite_master WHERE name = 'device_beats'").get(), 'no narrow table yet');
  old.close();

  const upgraded = open(path.join(dir, 'schema'), oldFile);
  t.equal(upgraded.db.pragma('user_version', { simple: true }), MIGRATIONS.length, 'migrated to this layout');
  t.equal((upgraded.db.prepare("SELECT count(*) FROM props WHERE class = 'Device' AND name IN ('last_seen', 'ip_address')").pluck().get() as number), 0, 'the rows left props');
  t.strictSame(upgraded.db.prepare('SELECT oid, last_seen, ip_address FROM device_beats ORDER BY oid').all(), devices.map((oid, i) => ({ oid, last_seen: BEATS[i]?.last_seen ?? '', ip_address: BEATS[i]?.ip_address ?? '' })), 'and are here');
  t.strictSame(await Promise.all(devices.map(async (oid) => (await upgraded.store.get(SYSTEM, oid)).values)), expected, 'every Device reads as before');
  t.strictSame(await upgraded.store.find(SYSTEM, 'Device', { criteria: [{ ns: '', name: 'ip_address', op: '=', value: '10.0.0.2' }] }), [devices[0], devices[3]]);
  // It goes on working: a beat lands in the narrow table.
  await upgraded.writer.submit((w) => upgraded.store.at(w).set(SYSTEM, devices[1]!, '', { last_seen: '2026-03-01T00:00:00.000Z', ip_address: '10.9.9.9' }, { routine: true }));
  t.equal((await upgraded.store.get(SYSTEM, devices[1]!)).values.ip_address, '10.9.9.9');
  upgraded.db.close();
});

t.test('CredentialTable: bounded, one entry evicted per new one, found by key, forgotten by key or oid', async (t) => {
  const c = (oid: number, revoked = false) => ({ oid, tokenDigest: Buffer.alloc(32, oid), revoked });
  const table = new CredentialTable(3);
  table.set('A', c(1));
  table.set('B', c(2, true));
  table.set('C', { oid: 3, tokenDigest: undefined, revoked: false });
  t.strictSame(table.get('A'), c(1));
  t.strictSame(table.get('B'), c(2, true));
  t.strictSame(table.get('C'), { oid: 3, tokenDigest: undefined, revoked: false });
  t.equal(table.get('Z'), undefined);
  table.get('A');
  table.set('D', c(4));
  t.equal(table.size, 3, 'past the bound: one evicted, not all');
  t.equal([table.get('A'), table.get('B'), table.get('C'), table.get('D')].filter((x) => x !== undefined).length, 3);
  t.strictSame(table.get('D'), c(4), 'the new one is kept');
  table.deleteOid(4);
  t.equal(table.get('D'), undefined, 'forgotten by oid');
  table.set('E', c(5));
  table.set('E2', c(5));
  t.equal(table.get('E'), undefined, 'one key per device: the same oid under a new key replaces the old key');
  t.strictSame(table.get('E2'), c(5));
  table.deleteKey('E2');
  t.equal(table.get('E2'), undefined, 'forgotten by key');
  table.clear();
  t.equal(table.size, 0);
  t.throws(() => new CredentialTable(0), RangeError);

  // Many operations, through growth and eviction: every answer is either absent or exactly the last one set.
  const big = new CredentialTable(500);
  const truth = new Map<string, number>();
  // mulberry32: a seeded generator, so a failure replays.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  let wrong = 0;
  for (let i = 0; i < 20_000; i++) {
    const key = `K${rand(2000)}`;
    const op = rand(10);
    if (op < 6) {
      const oid = 1 + rand(3000);
      for (const [k, o] of truth) if (o === oid) truth.delete(k);
      big.set(key, c(oid));
      truth.set(key, oid);
    } else if (op < 7) {
      big.deleteKey(key);
      truth.delete(key);
    } else if (op < 8) {
      const oid = truth.get(key);
      if (oid !== undefined) big.deleteOid(oid);
      truth.delete(key);
    } else {
      const got = big.get(key);
      if (got !== undefined && (got.oid !== truth.get(key) || !got.tokenDigest!.equals(Buffer.alloc(32, got.oid)))) wrong++;
    }
    if (big.size > 500) wrong++;
  }
  t.equal(wrong, 0, 'never a wrong credential, never past the bound');
  t.ok(big.size > 400, 'and mostly full');
});

t.test('a device beyond every cache bound still authenticates and beats', async (t) => {
  const d = await startDaemon({ config: { device_credential_cache: '2' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const fleet = [];
  for (let i = 0; i < 5; i++) fleet.push(await newDevice(a));
  const credentials = DeviceCredentials.of(d.app.services.store);
  for (let round = 0; round < 3; round++) {
    for (const [i, dev] of fleet.entries()) {
      const r = await deviceRest(d, dev.token).post(`/api/devices/${dev.key}/online`, { ip_address: `10.1.${round}.${i}` });
      t.equal(r.status, 200, `round ${round}, device ${i}`);
    }
  }
  t.ok(credentials.size <= 2, `the credential memory holds at most its bound (${credentials.size})`);
  t.equal((await deviceRest(d, 'wrong-token-abcdefghij').post(`/api/devices/${fleet[0]!.key}/online`, {})).status, 403, 'a wrong token is still refused');
  const cce = await adminClient(d);
  for (const [i, dev] of fleet.entries()) {
    const found = await cce.cmd({ cmd: 'FINDX', class: 'Device', args: { ip_address: `10.1.2.${i}` } });
    t.equal(found.body.data.oidlist.length, 1, `device ${i}: found by its last address`);
    const got = await cce.cmd(`GET ${found.body.data.oidlist[0]}`);
    t.equal(got.body.data.DATA.device_key, dev.key);
    t.match(got.body.data.DATA.last_seen, /^\d{4}-\d\d-\d\dT/);
    const seen = await a.get(`/api/devices/${dev.key}/last-seen`);
    t.equal(seen.status, 200);
    t.not(seen.body.last_seen, null);
  }
});
