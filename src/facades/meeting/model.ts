/**
 * The device world as the facade sees it, over the Store API only: look-ups by
 * natural key (device_key, type name), the document's presentation of a
 * device, and writes through the group-commit writer (which refuses them while
 * the daemon is suspended: 309, answered 503 here).
 */
import type { Services } from '../../services.js';
import type { Store } from '../../store/store.js';
import { SYSTEM } from '../../store/store.js';
import type { AclSubject } from '../../schema/types.js';
import { toJsonValue } from '../../schema/values.js';
import { CceError } from '../../errors.js';
import { WHY_SELF_REFERENCE, WHY_UNKNOWN_REFERENCE } from '../../store/references.js';
import { DEVICE, DEVICE_TYPE, DISTRIBUTION } from '../../devices/catalog.js';
import { deviceNotFound, fail, type FacadeError } from './replies.js';

export { DEVICE, DEVICE_TYPE, DISTRIBUTION, retargetDeviceType } from '../../devices/catalog.js';

/** The fields of GET /api/devices/{key}, in the document's order. */
export const DEVICE_FIELDS = [
  'device_key', 'device_name', 'product_serial', 'authorized', 'device_type', 'distribution', 'token_code',
  'token_count', 'note', 'ip_address', 'parent_device_key', 'bundles', 'ghost_candidate_url', 'ap_ssid',
  'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high', 'services',
] as const;

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

/** The document's words for the store's reference refusals (302 BAD DATA <oid> <property> "<why>"). */
const REFERENCE_REPLIES: Record<string, Record<string, string>> = {
  [WHY_UNKNOWN_REFERENCE]: {
    device_type: 'Unknown device type',
    distribution: 'Unknown distribution for this device type',
    parent_device_key: 'Parent device not found',
  },
  [WHY_SELF_REFERENCE]: { parent_device_key: 'A device cannot be its own parent' },
};

/** A reference the store refused, as the document's 400; undefined for any other error. */
function referenceReply(err: unknown): FacadeError | undefined {
  if (!(err instanceof CceError) || err.code !== 302) return undefined;
  const m = /^BAD DATA \S+ (\S+) "(.*)"$/.exec(err.message);
  const words = m ? REFERENCE_REPLIES[m[2]!]?.[m[1]!] : undefined;
  return words === undefined ? undefined : fail(400, words);
}

/**
 * Runs a synchronous store mutation in the next group commit. The store's
 * rules answer here as everywhere: suspended writes are 309 (503 here), a
 * dangling reference 302 (the document's 400).
 */
export async function write<R>(services: Services, mutation: () => R): Promise<R> {
  try {
    return await services.writer.submit(mutation);
  } catch (err) {
    throw referenceReply(err) ?? err;
  }
}
