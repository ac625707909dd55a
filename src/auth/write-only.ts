/**
 * Write-only properties (type `password`) are hashed before the transaction
 * opens (argon2 is asynchronous; a transaction must not await). A non-admin
 * changing its own password must prove the current one (`oldpassword`).
 * An empty value means "unchanged", so a form that sends back what GET showed
 * ('' for a password) changes nothing.
 */
import type { AclSubject, ClassDef } from '../schema/types.js';
import type { Store } from '../store/store.js';
import { Hashed } from '../store/store.js';
import { badData, WHY_INVALID_DATA } from '../errors.js';
import { hashPassword, verifyPassword } from './passwords.js';

export async function hashWriteOnly(
  store: Store,
  caller: AclSubject,
  cls: ClassDef,
  ns: string,
  oid: number | undefined,
  values: Record<string, unknown>,
  oldpassword = '',
): Promise<Record<string, unknown>> {
  const writeOnly = await checkWriteOnly(store, caller, cls, ns, oid, values);
  if (writeOnly.length === 0) return values;
  const out = { ...values };
  const changesOwn = oid !== undefined && oid === caller.oid && !caller.admin && (values.password ?? '') !== '';
  if (changesOwn && !(await verifyPassword(await store.credential(oid, 'password'), oldpassword))) {
    throw badData(oid, 'oldpassword', '[[base-cce.badOldPassword]]');
  }
  for (const k of writeOnly) {
    const v = values[k] as string;
    out[k] = new Hashed(v === '' ? null : await hashPassword(v));
  }
  return out;
}

/**
 * The checks made before hashing, which a write queued inside BEGIN gets too: write-only values are strings, and the caller may
 * write them. Returns the write-only keys of `values`.
 */
export async function checkWriteOnly(store: Store, caller: AclSubject, cls: ClassDef, ns: string, oid: number | undefined, values: Record<string, unknown>): Promise<string[]> {
  const props = cls.namespaces.get(ns)?.properties;
  const writeOnly = Object.keys(values).filter((k) => props?.get(k)?.writeOnly);
  for (const k of writeOnly) if (typeof values[k] !== 'string') throw badData(oid ?? 0, k, WHY_INVALID_DATA);
  // Refuse before hashing: argon2 is deliberately costly, and a caller who may not write must not make us pay it.
  if (writeOnly.length > 0 && oid !== undefined && (await store.exists(oid))) await store.checkWritable(caller, oid, cls.namespaces.get(ns)!, writeOnly);
  return writeOnly;
}

/** Stands for a hash still to be made, in values that are only checked (Store.checkWrite), never written. */
const TO_BE_HASHED = new Hashed(null);

/** `values` with each of the `writeOnly` keys standing for its hash to come. */
export function unhashed(values: Record<string, unknown>, writeOnly: readonly string[]): Record<string, unknown> {
  if (writeOnly.length === 0) return values;
  const out = { ...values };
  for (const k of writeOnly) out[k] = TO_BE_HASHED;
  return out;
}
