/**
 * Look-ups of the device world by natural key (a device's device_key, a
 * type's name or id, a distribution's name within its type), over the Store
 * API only. A DeviceType is soft-deleted (`deleted=1`): the look-ups of types
 * see live ones only.
 */
import type { Store } from '../store/store.js';
import { SYSTEM } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DeviceError } from '../errors.js';
import { DEVICE, DEVICE_TYPE, DISTRIBUTION } from './classes.js';

export function findDevice(store: Store, key: string): Promise<number | undefined> {
  return store.findOne(DEVICE, '', 'device_key', key);
}

/** The oid of a device, or `device.unknown`. */
export async function requireDevice(store: Store, key: string): Promise<number> {
  const oid = await findDevice(store, key);
  if (oid === undefined) throw new DeviceError('device.unknown');
  return oid;
}

/** The oid of a live (not soft-deleted) device type called `name`. */
export async function findDeviceType(store: Store, name: string): Promise<number | undefined> {
  const oid = await store.findOne(DEVICE_TYPE, '', 'name', name);
  return oid !== undefined && (await store.rawValues(oid)).deleted !== '1' ? oid : undefined;
}

/** Is `oid` a live device type? */
export async function isLiveType(store: Store, oid: number): Promise<boolean> {
  return (await store.exists(oid)) && (await store.objectClass(oid)).name === DEVICE_TYPE && (await store.rawValues(oid)).deleted !== '1';
}

/** `oid` when it is a live device type, else `device-type.unknown`. */
export async function requireLiveType(store: Store, oid: number): Promise<number> {
  if (!(await isLiveType(store, oid))) throw new DeviceError('device-type.unknown');
  return oid;
}

/** Oids of the live device types the subject may read, in creation order. */
export function liveTypes(store: Store, subject: AclSubject): Promise<number[]> {
  return store.find(subject, DEVICE_TYPE, { criteria: [{ ns: '', name: 'deleted', op: '=', value: '0' }] });
}

/** The `name` of each object, in order. */
async function namesOf(store: Store, oids: readonly number[]): Promise<string[]> {
  const out: string[] = [];
  for (const oid of oids) out.push((await store.rawValues(oid)).name!);
  return out;
}

/** Names of the live device types, sorted. */
export async function deviceTypeNames(store: Store, subject: AclSubject): Promise<string[]> {
  const oids = await store.find(subject, DEVICE_TYPE, { criteria: [{ ns: '', name: 'deleted', op: '=', value: '0' }], sortprop: { ns: '', name: 'name' } });
  return namesOf(store, oids);
}

/** Names of the distributions of one type, sorted. */
export async function distributionNames(store: Store, subject: AclSubject, type: string): Promise<string[]> {
  const oids = await store.find(subject, DISTRIBUTION, { criteria: [{ ns: '', name: 'device_type', op: '=', value: type }], sortprop: { ns: '', name: 'name' } });
  return namesOf(store, oids);
}

export async function distributionExists(store: Store, type: string, name: string): Promise<boolean> {
  const found = await store.find(SYSTEM, DISTRIBUTION, {
    criteria: [
      { ns: '', name: 'device_type', op: '=', value: type },
      { ns: '', name: 'name', op: '=', value: name },
    ],
  });
  return found.length > 0;
}
