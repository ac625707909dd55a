/** The device credential memory: kept across writes to other devices, forgotten for the device a write changes. */
import t from 'tap';
import { adminClient } from './helpers/daemon.js';
import { catalogWorld, deviceRest, newDevice } from './helpers/meeting.js';
import { DeviceCredentials } from '../src/devices/credentials.js';

t.test('credentials survive creating and destroying other devices; a destroyed or re-keyed one is refused', async (t) => {
  const { d, a } = await catalogWorld(t);
  const credentials = DeviceCredentials.of(d.app.services.store);
  const beat = (key: string, token: string) => deviceRest(d, token).post(`/api/devices/${key}/online`);
  const kept = await newDevice(a);
  const other = await newDevice(a);
  t.equal((await beat(kept.key, kept.token)).status, 200);
  t.equal((await beat(other.key, other.token)).status, 200);

  // Writes elsewhere in the class: a device created, another destroyed, another's token changed.
  const reads = credentials.reads;
  const fresh = await newDevice(a);
  t.strictSame((await a.del(`/api/devices/${other.key}`)).body, { success: true });
  t.equal((await beat(kept.key, kept.token)).status, 200);
  t.equal(credentials.reads, reads, 'the kept device authenticated from memory: no store read');
  t.equal((await a.put(`/api/devices/${fresh.key}/token-code`, { token_code: 'retoken-abcdefghij' })).status, 200);
  t.equal((await beat(kept.key, kept.token)).status, 200);
  t.equal(credentials.reads, reads, 'still no store read after another device was re-tokened');

  // The destroyed device's token is refused, though it was remembered before its DESTROY.
  const gone = await beat(other.key, other.token);
  t.equal(gone.status, 403, 'the destroyed device is refused');
  t.equal(credentials.reads, reads + 1, 'its entry was forgotten: read again, and found missing');

  // A new token: the old one is refused, the new one accepted.
  t.equal((await beat(kept.key, kept.token)).status, 200);
  t.equal((await a.put(`/api/devices/${kept.key}/token-code`, { token_code: 'new-token-abcdefghij' })).status, 200);
  t.equal((await beat(kept.key, kept.token)).status, 403, 'the old token is refused');
  t.equal((await beat(kept.key, 'new-token-abcdefghij')).status, 200, 'the new token is accepted');

  // A new device_key (through CCE): the old key is refused, the new one answers with the same token.
  const cce = await adminClient(d);
  const oid = (await d.app.services.store.findOne('Device', '', 'device_key', kept.key))!;
  t.equal((await cce.cmd(`SET ${await oid} device_key="ABCD9999"`)).body.status, 201);
  t.equal((await beat(kept.key, 'new-token-abcdefghij')).status, 403, 'the old key is refused');
  t.equal((await beat('ABCD9999', 'new-token-abcdefghij')).status, 200, 'the new key authenticates');
});
