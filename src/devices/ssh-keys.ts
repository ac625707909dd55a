/**
 * SSH key ownership: device SSH keys as SshKey objects (the Meeting document's
 * `device_keys` table): one active key per device, mirrored in
 * Device.ssh_public_key. Registering a new
 * key revokes the device's others; removing deletes them all. Keys are stored
 * canonical (`<type> <base64>`, the comment apart) so the same key with
 * another comment is still the same key for uniqueness and look-ups.
 * Synchronous: run inside a writer mutation.
 */
import type { Store } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import type { PublicKeyLine } from '../tunnels/public-key.js';
import { DeviceError } from '../errors.js';
import { SSH_KEY } from './classes.js';
import { findDevice } from './lookups.js';

export interface SshKeyView {
  oid: number;
  pubkey: string;
  device_key: string;
  user_name: string;
  revoked: boolean;
  comment: string;
}

export function sshKeyOf(store: Store, oid: number): SshKeyView {
  const v = store.rawValues(oid);
  return { oid, pubkey: v.pubkey!, device_key: v.device_key!, user_name: v.user_name!, revoked: v.revoked === '1', comment: v.comment! };
}

const keysWhere = (store: Store, name: 'device_key' | 'user_name', value: string) =>
  store.find(SYSTEM, SSH_KEY, { criteria: [{ ns: '', name, op: '=', value }] }).map((oid) => sshKeyOf(store, oid));

export const deviceSshKeys = (store: Store, deviceKey: string) => keysWhere(store, 'device_key', deviceKey);
export const userSshKeys = (store: Store, userName: string) => keysWhere(store, 'user_name', userName);

/** The SshKey holding this key (whatever its comment), if any. */
export function findSshKey(store: Store, key: PublicKeyLine): SshKeyView | undefined {
  const oid = store.findOne(SSH_KEY, '', 'pubkey', key.canonical);
  return oid === undefined ? undefined : sshKeyOf(store, oid);
}

/** The outcome of a registration: whether other keys of the device were revoked (their sessions must end). */
export interface Registered {
  revokedOthers: number;
}

/**
 * Makes `key` the device's active key: un-revokes it if the device had it,
 * creates it otherwise, revokes the device's other keys, and mirrors it into
 * Device.ssh_public_key. Refused for an unknown device and for a key of another device.
 */
export function registerDeviceKey(store: Store, subject: AclSubject, deviceKey: string, key: PublicKeyLine, userName?: string): Registered {
  const deviceOid = findDevice(store, deviceKey);
  if (deviceOid === undefined) throw new DeviceError('device.unknown');
  const existing = findSshKey(store, key);
  if (existing && existing.device_key !== deviceKey) throw new DeviceError('ssh-key.taken');
  let revokedOthers = 0;
  for (const other of deviceSshKeys(store, deviceKey)) {
    if (other.oid === existing?.oid || other.revoked) continue;
    store.set(subject, other.oid, '', { revoked: '1' });
    revokedOthers++;
  }
  const values = { revoked: '0', comment: key.comment.slice(0, 200), ...(userName !== undefined ? { user_name: userName } : {}) };
  if (existing) store.set(subject, existing.oid, '', values);
  else store.create(subject, SSH_KEY, { pubkey: key.canonical, device_key: deviceKey, ...values });
  store.set(subject, deviceOid, '', { ssh_public_key: key.comment ? `${key.canonical} ${key.comment}` : key.canonical });
  return { revokedOthers };
}

/** Deletes every key of a device (and clears Device.ssh_public_key); returns how many. */
export function removeDeviceKeys(store: Store, subject: AclSubject, deviceKey: string): number {
  const keys = deviceSshKeys(store, deviceKey);
  for (const k of keys) store.destroy(subject, k.oid);
  const deviceOid = findDevice(store, deviceKey);
  if (deviceOid !== undefined && store.rawValues(deviceOid).ssh_public_key !== '') store.set(subject, deviceOid, '', { ssh_public_key: '' });
  return keys.length;
}

/** Is this device allowed to use SSH at all (exists, not revoked)? */
export function deviceUsable(store: Store, deviceKey: string): boolean {
  const oid = findDevice(store, deviceKey);
  return oid !== undefined && store.rawValues(oid).revoked !== '1';
}

/** Does this device exist with `authorized=1`? */
export function deviceAuthorized(store: Store, deviceKey: string): boolean {
  const oid = findDevice(store, deviceKey);
  return oid !== undefined && store.rawValues(oid).authorized === '1';
}

/** A user's keys that let them in now: not revoked, of a device that is usable and authorized. */
export function usableUserKeys(store: Store, userName: string): SshKeyView[] {
  return userSshKeys(store, userName).filter((k) => !k.revoked && deviceUsable(store, k.device_key) && deviceAuthorized(store, k.device_key));
}

/** The SshKey holding this key when it logs in as its device now (not revoked, the device usable). */
export function activeSshKey(store: Store, key: PublicKeyLine): SshKeyView | undefined {
  const found = findSshKey(store, key);
  return found && !found.revoked && deviceUsable(store, found.device_key) ? found : undefined;
}

