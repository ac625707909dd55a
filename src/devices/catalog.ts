/**
 * The device catalog's class names and its one cross-object rule that is not
 * a plain reference: a DeviceType's new name reaches every Distribution and
 * Device naming the old one, inside the renaming write, whatever the door.
 * Facades and src/flash build on this; it depends on the store only.
 */
import type { Store } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';

export const DEVICE = 'Device';
export const DEVICE_TYPE = 'DeviceType';
export const DISTRIBUTION = 'Distribution';
export const SSH_KEY = 'SshKey';

/** Points every object of `classes` whose `device_type` is `from` at `to` (inside the caller's write, as the caller). */
export function retargetDeviceType(store: Store, subject: AclSubject, classes: readonly string[], from: string, to: string): void {
  for (const cls of classes) {
    for (const oid of store.find(subject, cls, { criteria: [{ ns: '', name: 'device_type', op: '=', value: from }] })) {
      store.set(subject, oid, '', { device_type: to });
    }
  }
}

/**
 * Renaming a type carries the name to its distributions, then its devices (a
 * device's distribution must be one of its type's), as the renaming caller: a
 * rename it may not carry through fails whole. Returns the unsubscribe function.
 */
export function installRenameCascade(store: Store): () => void {
  return store.watchValue(DEVICE_TYPE, 'name', ({ subject, from, to }) => retargetDeviceType(store, subject, [DISTRIBUTION, DEVICE], from, to));
}
