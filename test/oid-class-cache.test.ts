/**
 * The store's compact oid -> class memory (src/store/oid-classes.ts) as the
 * store uses it: answers stay right after creates and destroys elsewhere,
 * for an oid past the memory's bound (one sharing a slot with a remembered
 * oid), and inside mutations that are rolled back.
 */
import t from 'tap';
import { openDb } from '../src/store/sqlite/db.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { Store, SYSTEM, type StoreTx } from '../src/store/store.js';
import { Writer } from '../src/store/writer.js';
import { loadSchema } from '../src/schema/loader.js';
import { startDaemon, adminClient } from './helpers/daemon.js';
import { adminRest, deviceRest, newDevice, seedCatalog } from './helpers/meeting.js';

const schema = loadSchema(['schema']);
/** The memory's slots (store.ts MAX_OID_CLASSES): an oid this much above another shares its slot. */
const SLOTS = 2 ** 21;

function open() {
  const db = openDb(':memory:');
  const store = new Store(sqliteBackend(db), schema);
  const writer = new Writer(sqliteBackend(db));
  writer.onBeforeCommit(() => store.sealOids());
  return { db, store, writer };
}

const device = (tx: StoreTx, key: string) => tx.create(SYSTEM, 'Device', { device_key: key, token_code: `token-${key}-abcdefghijkl`, device_type: 'rpi4' });
const className = async (store: Store | StoreTx, oid: number) => (await store.objectClass(oid)).name;

t.test('class look-ups stay right across creates and destroys of other objects, and past the bound', async (t) => {
  const { db, store, writer } = open();
  await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'rpi4' }));
  const a = await writer.submit((w) => device(store.at(w), 'CLS000000001'));
  const user = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'u1' }));
  t.equal(await className(store, a), 'Device', 'read (and remembered) outside a transaction');
  t.equal(await className(store, user), 'User');
  const b = await writer.submit((w) => device(store.at(w), 'CLS000000002'));
  await writer.submit((w) => store.at(w).destroy(SYSTEM, user));
  t.equal(await className(store, a), 'Device', 'a create and a destroy elsewhere keep the answer');
  t.equal(await className(store, b), 'Device');
  t.notOk(await store.exists(user), 'the destroyed object is gone');
  await t.rejects(store.objectClass(user), /UNKNOWN OBJECT/, 'and its class look-up says so');

  // The next oid shares a's slot: remembering it evicts a, and a is read again from the store.
  db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'objects'").run(a + SLOTS - 1);
  const far = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'far' }));
  t.equal(far, a + SLOTS, 'an oid one bound above a');
  t.equal(await className(store, far), 'User');
  t.equal(await className(store, a), 'Device', 'a, evicted, is read again');
  t.equal(await className(store, far), 'User', 'far, evicted in turn, too');
  await writer.submit((w) => store.at(w).set(SYSTEM, a, '', { last_seen: new Date().toISOString(), ip_address: '10.9.9.9' }, { routine: true }));
  t.equal(await store.rawValue(a, '', 'ip_address'), '10.9.9.9', 'a beats');
  await writer.submit((w) => store.at(w).destroy(SYSTEM, far));
  t.notOk(await store.exists(far));
  t.ok(await store.exists(a));
});

t.test('inside mutations: a rolled-back create or destroy leaves no wrong answer', async (t) => {
  const { store, writer } = open();
  await writer.submit((w) => store.at(w).create(SYSTEM, 'DeviceType', { name: 'rpi4' }));
  const kept = await writer.submit((w) => device(store.at(w), 'CLS000000010'));
  let made = 0;
  await t.rejects(
    writer.submit(async (w) => {
      made = await device(store.at(w), 'CLS000000011');
      t.equal(await className(store.at(w), made), 'Device', 'seen by its own mutation');
      throw new Error('undo');
    }),
    /undo/,
  );
  t.notOk(await store.exists(made), 'a rolled-back creation is not remembered');
  await t.rejects(
    writer.submit(async (w) => {
      const tx = store.at(w);
      t.equal(await className(tx, kept), 'Device', 'read (and remembered) inside a mutation');
      await tx.destroy(SYSTEM, kept);
      t.notOk(await tx.exists(kept), 'gone for the rest of it');
      throw new Error('undo');
    }),
    /undo/,
  );
  t.equal(await className(store, kept), 'Device', 'a rolled-back destroy leaves it');
  await writer.submit(async (w) => {
    const tx = store.at(w);
    t.equal(await className(tx, kept), 'Device');
    await tx.destroy(SYSTEM, kept);
  });
  t.notOk(await store.exists(kept), 'a committed destroy is seen');
  const again = await writer.submit((w) => device(store.at(w), 'CLS000000012'));
  t.ok(again > made, 'oids are not reused');
  t.equal(await className(store, again), 'Device');
});

t.test('over HTTP: a device beats across creates and destroys of other devices, and not once destroyed', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const cce = await adminClient(d);
  const [one, two] = [await newDevice(a), await newDevice(a)];
  const beat = (dev: { key: string; token: string }, ip: string) => deviceRest(d, dev.token).post(`/api/devices/${dev.key}/online`, { ip_address: ip });
  t.equal((await beat(one, '10.2.0.1')).status, 200);
  const found = async (ip: string) => (await cce.cmd({ cmd: 'FINDX', class: 'Device', args: { ip_address: ip } })).body.data.oidlist as string[];
  const [twoOid] = (await beat(two, '10.2.0.2')).status === 200 ? await found('10.2.0.2') : [];
  t.ok(twoOid, 'two beat');
  t.equal((await cce.cmd(`DESTROY ${twoOid}`)).body.status, 201, 'another device destroyed');
  const three = await newDevice(a);
  t.equal((await beat(one, '10.2.0.3')).status, 200, 'one still beats');
  t.equal((await beat(three, '10.2.0.4')).status, 200, 'the new one beats');
  t.equal((await found('10.2.0.3')).length, 1, "one's beat is stored");
  t.not((await beat(two, '10.2.0.5')).status, 200, 'the destroyed device is refused');
  t.equal((await found('10.2.0.5')).length, 0, 'and nothing of it stored');
});
