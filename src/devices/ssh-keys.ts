/**
 * SSH key ownership: device SSH keys as SshKey objects (the Meeting document's
 * `device_keys` table): one active key per device, mirrored in
 * Device.ssh_public_key. Registering a new
 * key revokes the device's others; removing deletes them all. Keys are stored
 * canonical (`<type> <base64>`, the comment apart) so the same key with
 * another comment is still the same key for uniqueness and look-ups.
 * The writes run inside a writer mutation (on its StoreTx).
 */
import type { Store, StoreTx } from '../store/store.js';
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

export async function sshKeyOf(store: Store, oid: number): Promise<SshKeyView> {
  const v = await store.rawValues(oid);
  return { oid, pubkey: v.pubkey!, device_key: v.device_key!, user_name: v.user_name!, revoked: v.revoked === '1', comment: v.comment! };
}

async function keysWhere(store: Store, name: 'device_key' | 'user_name', value: string): Promise<SshKeyView[]> {
  const out: SshKeyView[] = [];
  for (const oid of await store.find(SYSTEM, SSH_KEY, { criteria: [{ ns: '', name, op: '=', value }] })) out.push(await sshKeyOf(store, oid));
  return out;
}

export const deviceSshKeys = (store: Store, deviceKey: string) => keysWhere(store, 'device_key', deviceKey);
export const userSshKeys = (store: Store, userName: string) => keysWhere(store, 'user_name', userName);

/** The SshKey holding this key (whatever its comment), if any. */
export async function findSshKey(store: Store, key: PublicKeyLine): Promise<SshKeyView | undefined> {
  const oid = await store.findOne(SSH_KEY, '', 'pubkey', key.canonical);
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
export async function registerDeviceKey(store: StoreTx, subject: AclSubject, deviceKey: string, key: PublicKeyLine, userName?: string): Promise<Registered> {
  const deviceOid = await findDevice(store, deviceKey);
  if (deviceOid === undefined) throw new DeviceError('device.unknown');
  const existing = await findSshKey(store, key);
  if (existing && existing.device_key !== deviceKey) throw new DeviceError('ssh-key.taken');
  let revokedOthers = 0;
  for (const other of await deviceSshKeys(store, deviceKey)) {
    if (other.oid === existing?.oid || other.revoked) continue;
    await store.set(subject, other.oid, '', { revoked: '1' });
    revokedOthers++;
  }
  const values = { revoked: '0', comment: key.comment.slice(0, 200), ...(userName !== undefined ? { user_name: userName } : {}) };
  if (existing) await store.set(subject, existing.oid, '', values);
  else await store.create(subject, SSH_KEY, { pubkey: key.canonical, device_key: deviceKey, ...values });
  await store.set(subject, deviceOid, '', { ssh_public_key: key.comment ? `${key.canonical} ${key.comment}` : key.canonical });
  return { revokedOthers };
}

/** Deletes every key of a device (and clears Device.ssh_public_key); returns how many. */
export async function removeDeviceKeys(store: StoreTx, subject: AclSubject, deviceKey: string): Promise<number> {
  const keys = await deviceSshKeys(store, deviceKey);
  for (const k of keys) await store.destroy(subject, k.oid);
  const deviceOid = await findDevice(store, deviceKey);
  if (deviceOid !== undefined && (await store.rawValues(deviceOid)).ssh_public_key !== '') await store.set(subject, deviceOid, '', { ssh_public_key: '' });
  return keys.length;
}

/** Is this device allowed to use SSH at all (exists, not revoked)? */
export async function deviceUsable(store: Store, deviceKey: string): Promise<boolean> {
  const oid = await findDevice(store, deviceKey);
  return oid !== undefined && (await store.rawValues(oid)).revoked !== '1';
}

/** Does this device exist with `authorized=1`? */
export async function deviceAuthorized(store: Store, deviceKey: string): Promise<boolean> {
  const oid = await findDevice(store, deviceKey);
  return oid !== undefined && (await store.rawValues(oid)).authorized === '1';
}

/** A user's keys that let them in now: not revoked, of a device that is usable and authorized. */
export async function usableUserKeys(store: Store, userName: string): Promise<SshKeyView[]> {
  const out: SshKeyView[] = [];
  for (const k of await userSshKeys(store, userName)) {
    if (!k.revoked && (await deviceUsable(store, k.device_key)) && (await deviceAuthorized(store, k.device_key))) out.push(k);
  }
  return out;
}

/** The SshKey holding this key when it logs in as its device now (not revoked, the device usable). */
export async function activeSshKey(store: Store, key: PublicKeyLine): Promise<SshKeyView | undefined> {
  const found = await findSshKey(store, key);
  return found && !found.revoked && (await deviceUsable(store, found.device_key)) ? found : undefined;
}

