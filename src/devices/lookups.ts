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

export function findDevice(store: Store, key: string): number | undefined {
  return store.findOne(DEVICE, '', 'device_key', key);
}

/** The oid of a device, or `device.unknown`. */
export function requireDevice(store: Store, key: string): number {
  const oid = findDevice(store, key);
  if (oid === undefined) throw new DeviceError('device.unknown');
  return oid;
}

/** The oid of a live (not soft-deleted) device type called `name`. */
export function findDeviceType(store: Store, name: string): number | undefined {
  const oid = store.findOne(DEVICE_TYPE, '', 'name', name);
  return oid !== undefined && store.rawValues(oid).deleted !== '1' ? oid : undefined;
}

/** Is `oid` a live device type? */
export function isLiveType(store: Store, oid: number): boolean {
  return store.exists(oid) && store.objectClass(oid).name === DEVICE_TYPE && store.rawValues(oid).deleted !== '1';
}

/** `oid` when it is a live device type, else `device-type.unknown`. */
export function requireLiveType(store: Store, oid: number): number {
  if (!isLiveType(store, oid)) throw new DeviceError('device-type.unknown');
  return oid;
}

/** Oids of the live device types the subject may read, in creation order. */
export function liveTypes(store: Store, subject: AclSubject): number[] {
  return store.find(subject, DEVICE_TYPE, { criteria: [{ ns: '', name: 'deleted', op: '=', value: '0' }] });
}

/** Names of the live device types, sorted. */
export function deviceTypeNames(store: Store, subject: AclSubject): string[] {
  const oids = store.find(subject, DEVICE_TYPE, { criteria: [{ ns: '', name: 'deleted', op: '=', value: '0' }], sortprop: { ns: '', name: 'name' } });
  return oids.map((oid) => store.rawValues(oid).name);
}

/** Names of the distributions of one type, sorted. */
export function distributionNames(store: Store, subject: AclSubject, type: string): string[] {
  const oids = store.find(subject, DISTRIBUTION, { criteria: [{ ns: '', name: 'device_type', op: '=', value: type }], sortprop: { ns: '', name: 'name' } });
  return oids.map((oid) => store.rawValues(oid).name);
}

export function distributionExists(store: Store, type: string, name: string): boolean {
  return store.find(SYSTEM, DISTRIBUTION, {
    criteria: [
      { ns: '', name: 'device_type', op: '=', value: type },
      { ns: '', name: 'name', op: '=', value: name },
    ],
  }).length > 0;
}
