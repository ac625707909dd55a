/**
 * The device credential memory while write transactions are open, as they
 * nearly always are under a fleet's heartbeats: a credential read then is
 * still remembered, and a credential written by a transaction open during the
 * read is not served once that transaction has committed.
 */
import t from 'tap';
import { catalogWorld, deviceRest, newDevice } from './helpers/meeting.js';
import { DeviceCredentials } from '../src/devices/credentials.js';
import { SYSTEM } from '../src/store/store.js';
import { digest } from '../src/auth/secrets.js';

/** Opens a writer transaction that runs `inside` and then stays open until the returned `release` is called. */
function openTransaction(services: any, inside: (tx: any) => Promise<void> = async () => {}) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => (opened = r));
  const done = services.writer.submit(async (w: any) => {
    await inside(services.store.at(w));
    opened();
    await gate;
  });
  return { isOpen, release, done };
}

/** A daemon with one registered device, its oid and the credential memory. */
async function world(t: any) {
  const { d, a } = await catalogWorld(t);
  const { services } = d.app;
  const device = await newDevice(a);
  const oid = (await services.store.findOne('Device', '', 'device_key', device.key))!;
  return { d, services, device, oid, credentials: DeviceCredentials.of(services.store) };
}

t.test('a credential read while a transaction is open is remembered; a beat then authenticates from memory', async (t) => {
  const { d, services, device, credentials } = await world(t);
  const tx = openTransaction(services);
  await tx.isOpen;
  const reads = credentials.reads;
  t.equal((await credentials.lookup(device.key))?.tokenDigest?.equals(digest(device.token)), true, 'read from the store');
  t.equal(credentials.reads, reads + 1);
  await credentials.lookup(device.key);
  t.equal(credentials.reads, reads + 1, 'remembered though a transaction was open during the read');
  tx.release();
  await tx.done;
  t.equal((await deviceRest(d, device.token).post(`/api/devices/${device.key}/online`)).status, 200);
  t.equal(credentials.reads, reads + 1, 'the beat authenticated from memory');
});

t.test('a token changed by a transaction open during the read: the old token is refused once it commits', async (t) => {
  const { d, services, device, oid, credentials } = await world(t);
  const renewed = 'renewed-token-abcdefghij';
  const tx = openTransaction(services, (store) => store.set(SYSTEM, oid, '', { token_code: renewed }));
  await tx.isOpen;
  // The read sees the committed (old) token: it may be served until the new one commits.
  t.equal((await credentials.lookup(device.key))?.tokenDigest?.equals(digest(device.token)), true, 'the committed token, read during the write');
  tx.release();
  await tx.done;
  t.equal((await credentials.lookup(device.key))?.tokenDigest?.equals(digest(renewed)), true, 'the new token once committed');
  t.equal((await deviceRest(d, device.token).post(`/api/devices/${device.key}/online`)).status, 403, 'the old token is refused');
  t.equal((await deviceRest(d, renewed).post(`/api/devices/${device.key}/online`)).status, 200, 'the new token is accepted');
});

t.test('a read answered across a credential commit is not remembered', async (t) => {
  const { d, services, device, oid, credentials } = await world(t);
  const renewed = 'crossing-token-abcdefghij';
  const reads = credentials.reads;
  // The lookup's read and the write's commit race: whatever the read saw, the old token must not stay remembered.
  const [seen] = await Promise.all([credentials.lookup(device.key), services.writer.submit((w: any) => services.store.at(w).set(SYSTEM, oid, '', { token_code: renewed }))]);
  t.ok(seen, 'the device was found');
  t.equal((await credentials.lookup(device.key))?.tokenDigest?.equals(digest(renewed)), true, 'the committed token after the write');
  t.ok(credentials.reads >= reads + 1);
  t.equal((await deviceRest(d, device.token).post(`/api/devices/${device.key}/online`)).status, 403, 'the old token is refused');
});
