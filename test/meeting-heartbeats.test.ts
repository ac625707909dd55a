/** The heartbeat coalescer: batching by time and by size, each beat's own time, failures kept apart, durability order. */
import t from 'tap';
import { onPostgres, startDaemon } from './helpers/daemon.js';
import { adminRest, catalogWorld, deviceRest, newDevice, seedCatalog } from './helpers/meeting.js';
import { Heartbeats, MAX_BATCH } from '../src/devices/heartbeats.js';
import type { Services } from '../src/services.js';
import { SYSTEM } from '../src/store/store.js';
import { otherConnection } from './helpers/other-store.js';

t.test('concurrent beats over HTTP are coalesced into few transactions', async (t) => {
  const d = await startDaemon({ config: { heartbeat_flush_ms: '20' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const devices = await Promise.all(Array.from({ length: 20 }, () => newDevice(a)));
  const before = d.app.services.writer.commits;
  const replies = await Promise.all(devices.map((x) => deviceRest(d, x.token).post(`/api/devices/${x.key}/online`)));
  t.ok(replies.every((r) => r.status === 200 && r.body.ok === true));
  t.ok(d.app.services.writer.commits - before < 20, 'fewer commits than beats');
  for (const x of devices) t.equal((await a.get(`/api/devices/${x.key}/logs`)).body.length, 1);
});

t.test('one coalescer per daemon: the Meeting facade hands its beats to services.heartbeats', async (t) => {
  const d = await startDaemon({ config: { heartbeat_flush_ms: '20' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const hb = d.app.services.heartbeats;
  t.ok(hb instanceof Heartbeats, 'made with the core services');
  const { key, token } = await newDevice(a);
  const before = { beats: hb.beats, flushes: hb.flushes };
  t.equal((await deviceRest(d, token).post(`/api/devices/${key}/online`)).status, 200);
  t.strictSame({ beats: hb.beats - before.beats, flushes: hb.flushes - before.flushes }, { beats: 1, flushes: 1 }, 'the beat went through it');
});

t.test('the coalescer in-process: size trigger, own beat times, failures alone, flush_ms = 0', async (t) => {
  const d = await startDaemon({ config: { heartbeat_flush_ms: '1000' } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const s = d.app.services;
  const { key } = await newDevice(a);
  const oid = (await s.store.findOne('Device', '', 'device_key', key))!;
  const subject = { oid, admin: false, capabilities: [] };

  const hb = new Heartbeats(s);
  const commits = s.writer.commits;
  // On PostgreSQL the change log's pruning commits a transaction of its own (a maintenance job) beside the
  // batch, so there the transactions submitted are counted: the upkeep is no submission.
  const submit = s.writer.submit.bind(s.writer);
  let submitted = 0;
  if (onPostgres) s.writer.submit = (...a) => (submitted++, submit(...a));
  t.teardown(() => { s.writer.submit = submit; });
  // MAX_BATCH beats flush at once, long before the 1000 ms timer; the last beat's own time is kept.
  const base = Date.UTC(2024, 0, 1);
  await Promise.all(Array.from({ length: MAX_BATCH }, (_, i) => hb.submit({ oid, subject, at: base + i, ip: '10.1.1.1' })));
  if (onPostgres) t.equal(submitted, 1, 'one transaction for the whole batch');
  else t.equal(s.writer.commits - commits, 1, 'one transaction for the whole batch');
  s.writer.submit = submit;
  t.equal(hb.flushes, 1);
  t.equal(hb.beats, MAX_BATCH);
  t.equal((await s.store.rawValues(oid)).last_seen, new Date(base + MAX_BATCH - 1).toISOString());
  t.equal((await s.events.list(await oid, 10)).length, 1, 'one Connected event for the streak');

  // A beat for a vanished device fails alone; its batch-mates commit.
  const good = hb.submit({ oid, subject, at: base + 5000, ip: '10.1.1.2' });
  const gone = hb.submit({ oid: 999999, subject, at: base + 5000, ip: '10.1.1.2' });
  hb.close();
  await t.resolves(good);
  await t.rejects(gone, { code: 300 });
  t.equal((await s.store.rawValues(oid)).ip_address, '10.1.1.2');
  hb.close();
  t.equal(hb.flushes, 2, 'closing with nothing pending is a no-op');

  // heartbeat_flush_ms = 0: straight to the writer's group commit.
  const direct = new Heartbeats({ ...s, config: { ...s.config, heartbeat_flush_ms: 0 } } as Services);
  await direct.submit({ oid, subject, at: base + 9000, ip: '10.1.1.3', services: ['ssh'], note: 'direct' });
  t.match(await s.store.rawValues(oid), { ip_address: '10.1.1.3', services: '&ssh&', note: 'direct' });
  t.equal(direct.flushes, 0);
  t.equal(await s.events.count(), 1);
});

t.test('a failed commit rejects every beat of the batch (nothing is acknowledged)', async (t) => {
  const failing = {
    config: { heartbeat_flush_ms: 1 },
    writer: { submit: () => Promise.reject(new Error('disk full')), savepoint: (fn: () => unknown) => fn() },
    store: { onWrite: () => () => {} },
  } as unknown as Services;
  const hb = new Heartbeats(failing);
  const beat = { oid: 1, subject: { oid: 1, admin: false, capabilities: [] }, at: 0, ip: '10.0.0.1' };
  await t.rejects(Promise.all([hb.submit(beat), hb.submit(beat)]), { message: 'disk full' });
  // Straight to the writer (heartbeat_flush_ms = 0): the same refusal.
  const direct = new Heartbeats({ ...failing, config: { heartbeat_flush_ms: 0 } } as unknown as Services);
  await t.rejects(direct.submit(beat), { message: 'disk full' });
});

t.test('remembered device credentials and last_seen follow every other write, this daemon\'s or another process\'s', async (t) => {
  const { d, a } = await catalogWorld(t);
  const s = d.app.services;
  const { key, token } = await newDevice(a);
  const oid = (await s.store.findOne('Device', '', 'device_key', key))!;
  const beat = (tok: string) => deviceRest(d, tok).post(`/api/devices/${key}/online`);
  const connects = async () => (await a.get(`/api/devices/${key}/logs`)).body.length;
  t.equal((await beat(token)).status, 200, 'first beat: credential and last_seen now remembered');
  t.equal((await beat(token)).status, 200);
  t.equal(await connects(), 1, 'one Connected event for a device that stays connected');
  t.equal((await beat('not-the-token')).status, 403, 'a wrong token against a remembered credential');

  // A new token through the facade: the old one stops working at once.
  t.equal((await a.put(`/api/devices/${key}/token-code`, { token_code: 'fresh-token-0001' })).status, 200);
  t.equal((await beat(token)).status, 403);
  t.equal((await beat('fresh-token-0001')).status, 200);

  // last_seen written by someone else (far in the past): the next beat opens a new connection.
  await s.writer.submit(async (w) => s.store.at(w).set({ oid: 0, admin: true, capabilities: [] }, await oid, '', { last_seen: '2000-01-01T00:00:00.000Z' }));
  t.equal((await beat('fresh-token-0001')).status, 200);
  t.equal(await connects(), 2, 'Connected again after the silence another writer recorded');

  // Revoked by another connection to the store (the admin CLI's way): refused at the next beat.
  const other = await otherConnection(t, d);
  await other.writer.submit((w) => other.store.at(w).set(SYSTEM, oid, '', { revoked: '1' }));
  t.equal((await beat('fresh-token-0001')).status, 403);
  const routine = d.logs.filter((l) => l.includes('"routine":true'));
  t.ok(routine.length >= 4, 'heartbeats are audited...');
  t.ok(routine.every((l) => l.includes('"level":20')), '...at debug level (the test logger shows debug)');
});
