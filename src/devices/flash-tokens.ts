/**
 * Flash tokens: an authorized device spends one per flash request. The token
 * is taken by one conditional update (port `decrement`: lowered only if above
 * zero), whose row lock decides between concurrent requests on any node, so
 * no two can both take the last one; the store's SET then records the new
 * count as every write is recorded (audit, change log, caches).
 */
import type { StoreTx } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DeviceError } from '../errors.js';

/** Takes one token of the device (inside a write); returns how many are left. */
export async function takeFlashToken(tx: StoreTx, subject: AclSubject, oid: number): Promise<number> {
  const v = await tx.rawValues(oid);
  if (v.authorized !== '1') throw new DeviceError('device.unauthorized');
  // A SET the caller may not make fails the write: the decrement is undone with it.
  const left = await tx.w.objects.decrement(oid, '', 'token_count');
  if (left === undefined) throw new DeviceError('device.no-tokens');
  await tx.set(subject, oid, '', { token_count: left });
  return left;
}
