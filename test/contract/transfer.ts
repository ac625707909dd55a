/**
 * An export and an import at the port's level (what `cced export` and `cced import` do with the rows once
 * the store is on the asynchronous port): every object with its properties, the device events and the
 * credentials from one snapshot; then, into an empty store, the objects made again at their exported oids, so
 * every reference (a property holding an oid) names the same object.
 */
import type { AsyncStoreBackend } from '../../src/store/async-port.js';
import type { CredentialRecord, DeviceEvent } from '../../src/store/port.js';

export interface ExportedStore {
  count: number;
  objects: { oid: number; className: string; props: { ns: string; name: string; value: string }[] }[];
  events: (DeviceEvent & { device_oid: number })[];
  credentials: CredentialRecord[];
}

async function all<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

export function exportStore(b: AsyncStoreBackend): Promise<ExportedStore> {
  return b.snapshot(async (s) => {
    const objects: ExportedStore['objects'] = [];
    for await (const o of s.transfer.objects()) objects.push({ ...o, props: await s.transfer.properties(o.oid) });
    return { count: await s.objects.count(), objects, events: await all(s.transfer.events()), credentials: await all(s.transfer.credentials()) };
  });
}

/** Into an empty store, in one transaction: the oids of the export kept, and none of them handed out again. */
export function importStore(b: AsyncStoreBackend, data: ExportedStore): Promise<void> {
  return b.transaction(async (tx) => {
    for (const o of data.objects) {
      const oid = await tx.objects.insertObject(o.className, 1, o.oid);
      for (const p of o.props) await tx.objects.putValue(oid, p.ns, p.name, o.className, p.value);
    }
    await tx.transfer.reserveOids(Math.max(0, ...data.objects.map((o) => o.oid)));
    for (const { device_oid, ...e } of data.events) await tx.transfer.addEvent(device_oid, e);
    for (const c of data.credentials) await tx.transfer.putCredential(c);
  });
}

/**
 * A small store with references: two users, a device owned by the second (its `owner` holds the user's
 * oid), a namespace, device events, credentials; one object destroyed, so the oids have a gap an import
 * must keep.
 */
export async function seedStore(b: AsyncStoreBackend): Promise<{ ann: number; bob: number; device: number }> {
  return b.transaction(async (tx) => {
    const make = async (className: string, values: Record<string, string>, ns = ''): Promise<number> => {
      const oid = await tx.objects.insertObject(className, 1000);
      for (const [k, v] of Object.entries(values)) await tx.objects.putValue(oid, ns, k, className, v);
      return oid;
    };
    const ann = await make('User', { name: 'ann' });
    const gone = await make('User', { name: 'gone' });
    const bob = await make('User', { name: 'bob', note: 'éclair ☃ 😀' });
    await tx.objects.deleteObject(gone);
    const device = await make('Device', { name: 'dev1', owner: String(bob), peers: `&${ann}&${bob}&` });
    await tx.objects.putValue(device, 'Site', 'room', 'Device', '4.2');
    await tx.transfer.putCredential({ oid: ann, name: 'password', hash: 'hash-ann', updated_at: 5 });
    await tx.transfer.putCredential({ oid: bob, name: 'password', hash: 'hash-bob', updated_at: 6 });
    await tx.transfer.putCredential({ oid: bob, name: 'token', hash: 'hash-bob-token', updated_at: 7 });
    await tx.transfer.addEvent(device, { at: 10, event: 'connected', host: 'node-a', remote: '10.0.0.1' });
    await tx.transfer.addEvent(device, { at: 11, event: 'disconnected', host: 'node-b', remote: '10.0.0.1' });
    return { ann, bob, device };
  });
}
