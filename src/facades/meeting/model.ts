/**
 * The Meeting document's presentation of a device, and its one way to write:
 * through the group-commit writer, whose refusals (suspended: 309, a dangling
 * reference: 302, a device rule: src/devices) the facade answers from
 * MEETING_ERRORS. The device world itself is src/devices.
 */
import type { Services } from '../../services.js';
import type { Store, StoreTx } from '../../store/store.js';
import { toJsonValue } from '../../schema/values.js';
import { DEVICE } from '../../devices/classes.js';

/** The fields of GET /api/devices/{key}, in the document's order. */
export const DEVICE_FIELDS = [
  'device_key', 'device_name', 'product_serial', 'authorized', 'device_type', 'distribution', 'token_code',
  'token_count', 'note', 'ip_address', 'parent_device_key', 'bundles', 'ghost_candidate_url', 'ap_ssid',
  'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high', 'services',
] as const;

/** One device's readable values, typed (booleans, numbers, arrays), in the document's fields; unreadable ones are left out. */
export function presentDevice(values: Record<string, string>, store: Store): Record<string, unknown> {
  const props = store.classDef(DEVICE).namespaces.get('')!.properties;
  const out: Record<string, unknown> = {};
  for (const f of DEVICE_FIELDS) if (f in values) out[f] = toJsonValue(props.get(f), values[f]!);
  return out;
}

/** Runs a store mutation in the next group commit; it reads and writes through `tx` (the store inside that transaction). */
export function write<R>(services: Services, mutation: (tx: StoreTx) => R | Promise<R>): Promise<R> {
  return services.writer.submit((w) => mutation(services.store.at(w)));
}
