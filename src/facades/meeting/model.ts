/**
 * The device world as the facade sees it, over the Store API only: look-ups by
 * natural key (device_key, type name), the document's presentation of a
 * device, and writes through the group-commit writer (refused while the daemon
 * is suspended, as /v2/cce writes are).
 */
import type { Services } from '../../services.js';
import type { Store } from '../../store/store.js';
import { SYSTEM } from '../../store/store.js';
import type { AclSubject } from '../../schema/types.js';
import { toJsonValue } from '../../schema/values.js';
import { deviceNotFound, fail } from './replies.js';

export const DEVICE = 'Device';
export const DEVICE_TYPE = 'DeviceType';
export const DISTRIBUTION = 'Distribution';

/** The fields of GET /api/devices/{key}, in the document's order. */
export const DEVICE_FIELDS = [
  'device_key', 'device_name', 'product_serial', 'authorized', 'device_type', 'distribution', 'token_code',
  'token_count', 'note', 'ip_address', 'parent_device_key', 'bundles', 'ghost_candidate_url', 'ap_ssid',
  'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high', 'services',
] as const;

/** Points every object of `classes` whose `device_type` is `from` at `to` (inside the caller's write, as the caller). */
export function retargetDeviceType(store: Store, subject: AclSubject, classes: readonly string[], from: string, to: string): void {
  for (const cls of classes) {
    for (const oid of store.find(subject, cls, { criteria: [{ ns: '', name: 'device_type', op: '=', value: from }] })) {
      store.set(subject, oid, '', { device_type: to });
    }
  }
}

export function findDevice(store: Store, key: string): number | undefined {
  return store.findOne(DEVICE, '', 'device_key', key);
}

/** The oid of a device, or 404 `Device not found`. */
export function requireDevice(store: Store, key: string): number {
  const oid = findDevice(store, key);
  if (oid === undefined) throw deviceNotFound();
  return oid;
}

/** The oid of a live (not soft-deleted) device type called `name`. */
export function findDeviceType(store: Store, name: string): number | undefined {
  const oid = store.findOne(DEVICE_TYPE, '', 'name', name);
  return oid !== undefined && store.rawValues(oid).deleted !== '1' ? oid : undefined;
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

/** One device's readable values, typed (booleans, numbers, arrays), in the document's fields; unreadable ones are left out. */
export function presentDevice(values: Record<string, string>, store: Store): Record<string, unknown> {
  const props = store.classDef(DEVICE).namespaces.get('')!.properties;
  const out: Record<string, unknown> = {};
  for (const f of DEVICE_FIELDS) if (f in values) out[f] = toJsonValue(props.get(f), values[f]!);
  return out;
}

/** Runs a synchronous store mutation in the next group commit; 503 while writes are suspended. */
export function write<R>(services: Services, mutation: () => R): Promise<R> {
  if (services.state.suspended !== undefined) throw fail(503, 'Writes are suspended');
  return services.writer.submit(mutation);
}
