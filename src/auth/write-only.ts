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
  const props = cls.namespaces.get(ns)?.properties;
  const writeOnly = Object.keys(values).filter((k) => props?.get(k)?.writeOnly);
  if (writeOnly.length === 0) return values;
  const out = { ...values };
  for (const k of writeOnly) if (typeof values[k] !== 'string') throw badData(oid ?? 0, k, WHY_INVALID_DATA);
  // Refuse before hashing: argon2 is deliberately costly, and a caller who may not write must not make us pay it.
  if (oid !== undefined && store.exists(oid)) store.checkWritable(caller, oid, cls.namespaces.get(ns)!, writeOnly);
  const changesOwn = oid !== undefined && oid === caller.oid && !caller.admin && (values.password ?? '') !== '';
  if (changesOwn && !(await verifyPassword(store.credential(oid, 'password'), oldpassword))) {
    throw badData(oid, 'oldpassword', '[[base-cce.badOldPassword]]');
  }
  for (const k of writeOnly) {
    const v = values[k] as string;
    out[k] = new Hashed(v === '' ? null : await hashPassword(v));
  }
  return out;
}
