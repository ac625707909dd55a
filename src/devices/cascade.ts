/**
 * What goes with a Device when it is destroyed, by any door, in the same
 * transaction: its SshKey objects (a device re-created later with the same
 * device_key must not inherit them), its Tunnel leases and its connection
 * events. Closing its forwards and ending its SSH session follow from the
 * Tunnel and Device destroy hooks of the tunnel runtime, once committed.
 */
import type { Store } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import { TUNNEL } from '../tunnels/ports.js';
import { DEVICE, SSH_KEY } from './classes.js';

export function installDeviceCascade(store: Store): () => void {
  return store.beforeDestroy(DEVICE, async ({ oid, values }, tx) => {
    const key = values.device_key ?? '';
    if (key === '') return;
    // The daemon's own records: destroyed by the system, whoever destroyed the device.
    for (const cls of [SSH_KEY, TUNNEL]) {
      for (const owned of await tx.find(SYSTEM, cls, { criteria: [{ ns: '', name: 'device_key', op: '=', value: key }] })) await tx.destroy(SYSTEM, owned);
    }
    await tx.w.events.purge(oid);
  });
}
