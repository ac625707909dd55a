/**
 * The store's narrow heartbeat write (StoreTx.beat, src/store/beat-write.ts): a beat over the Meeting door is
 * seen at once by every other door (GET and FIND over /v2/cce, the device list), is on disk when answered, and
 * is recorded in the change log; in the store it answers exactly as the generic SET it stands for.
 */
import t from 'tap';
import { adminClient } from './helpers/daemon.js';
import { catalogWorld, deviceRest, newDevice } from './helpers/meeting.js';
import { otherConnection } from './helpers/other-store.js';
import { SYSTEM } from '../src/store/store.js';
import type { AclSubject } from '../src/schema/types.js';

t.test('a beat is read at once by every door, durable when answered, and in the change log', async (t) => {
  const { d, a } = await catalogWorld(t);
  const s = d.app.services;
  const c = await adminClient(d);
  const { key, token } = await newDevice(a);
  const oid = (await s.store.findOne('Device', '', 'device_key', key))!;
  const beat = (ip: string) => deviceRest(d, token).post(`/api/devices/${key}/online`, { ip_address: ip });
  const getOver = async () => (await c.cmd(`GET ${oid}`)).body.data.DATA as Record<string, string>;
  let durable = 0;
  s.writer.onDurable(() => durable++);
  const other = await otherConnection(t, d);

  // Read (and so cached) before each beat: the beat must move every cached answer.
  t.equal((await getOver()).ip_address, '');
  let lastSeen = '';
  for (const ip of ['10.9.8.7', '10.9.8.7', '192.0.2.44']) {
    const durableBefore = durable;
    const r = await beat(ip);
    t.equal(r.status, 200);
    const view = await getOver();
    t.equal(view.ip_address, ip, `GET over /v2/cce shows ${ip}`);
    // The Meeting reply gives the beat's time in whole seconds.
    t.equal(Math.floor(Date.parse(view.last_seen!) / 1000) * 1000, Date.parse(r.body.last_seen), 'and the beat\'s last_seen');
    t.ok(view.last_seen! > lastSeen, 'a later last_seen than the beat before');
    lastSeen = view.last_seen!;
    const found = await c.cmd({ cmd: 'FINDX', class: 'Device', args: { ip_address: ip } });
    t.strictSame(found.body.data.oidlist, [String(oid)], 'FIND by the new address finds it');
    const listed = (await a.get('/api/devices?limit=100')).body.devices.find((x: { device_key: string }) => x.device_key === key);
    t.equal(listed.ip_address, ip, 'the device list shows it');
    t.ok(durable > durableBefore, 'answered once its batch was durable');
    t.equal((await other.store.rawValues(oid)).ip_address, ip, 'another connection reads it: committed');
  }
  const changes = (await other.changes.after(0, Number.MAX_SAFE_INTEGER, 100_000)).filter((x) => x.oid === oid && !x.created);
  t.ok(changes.some((x) => x.props.includes('last_seen') && x.props.includes('ip_address')), 'the change log recorded the beat');
  t.ok(changes.some((x) => x.props.length === 1 && x.props[0] === 'ip_address'), 'and the address when it moved');
});

t.test('StoreTx.beat answers as the SET it stands for: previous last_seen, 300, 302, 304, rolled back with its savepoint', async (t) => {
  const { d, a } = await catalogWorld(t);
  const s = d.app.services;
  const [one, two] = [await newDevice(a), await newDevice(a)];
  const oid = (await s.store.findOne('Device', '', 'device_key', one.key))!;
  const otherOid = (await s.store.findOne('Device', '', 'device_key', two.key))!;
  const self: AclSubject = { oid, admin: false, capabilities: [] };
  const stranger: AclSubject = { oid: otherOid, admin: false, capabilities: [] };
  const run = <R>(fn: (tx: ReturnType<typeof s.store.at>) => Promise<R>) => s.writer.submit((w) => fn(s.store.at(w)));
  const both = async (subject: AclSubject, target: number, lastSeen: string, ip: string) => {
    const viaSet = await run((tx) => tx.set(subject, target, '', { last_seen: lastSeen, ip_address: ip }, { routine: true })).then(() => 'ok', (e: { code: number; message: string }) => `${e.code} ${e.message}`);
    const viaBeat = await run((tx) => tx.beat(subject, target, lastSeen, ip)).then(() => 'ok', (e: { code: number; message: string }) => `${e.code} ${e.message}`);
    return { viaSet, viaBeat };
  };

  t.equal(await run((tx) => tx.beat(self, oid, '2024-01-01T00:00:00.000Z', '10.0.0.1')) ?? '', '', 'the default before the first beat');
  t.equal(await run((tx) => tx.beat(self, oid, '2024-01-01T00:01:00.000Z', '10.0.0.1')), '2024-01-01T00:00:00.000Z', 'the previous one after');
  t.match(await s.store.rawValues(oid), { last_seen: '2024-01-01T00:01:00.000Z', ip_address: '10.0.0.1' });

  const refusals = {
    'unknown object': await both(self, 99_999_999, '2024-01-01T00:02:00.000Z', '10.0.0.2'),
    'not an address': await both(self, oid, '2024-01-01T00:02:00.000Z', 'not-an-address'),
    'not a time': await both(self, oid, 'yesterday', '10.0.0.2'),
    "another device's": await both(stranger, oid, '2024-01-01T00:02:00.000Z', '10.0.0.2'),
  };
  for (const [why, { viaSet, viaBeat }] of Object.entries(refusals)) {
    t.not(viaBeat, 'ok', `${why}: refused`);
    t.equal(viaBeat, viaSet, `${why}: as the SET refuses it`);
  }
  t.match(await s.store.rawValues(oid), { last_seen: '2024-01-01T00:01:00.000Z', ip_address: '10.0.0.1' }, 'nothing refused was written');

  // A beat undone with its savepoint leaves the row as it was (the narrow table's row on SQLite).
  await run(async (tx) => {
    await tx.w.savepoint(async () => {
      await tx.beat(SYSTEM, oid, '2024-01-01T00:03:00.000Z', '10.0.0.3');
      throw new Error('undo');
    }).catch(() => undefined);
  });
  t.match(await s.store.rawValues(oid), { last_seen: '2024-01-01T00:01:00.000Z', ip_address: '10.0.0.1' }, 'undone with its savepoint');
});
