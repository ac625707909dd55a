/**
 * Flash tokens: an authorized device spends one per flash request. Read,
 * check and decrement in one synchronous mutation: the writer runs mutations
 * one at a time, so no two requests can both take the last token.
 */
import type { StoreTx } from '../store/store.js';
import type { AclSubject } from '../schema/types.js';
import { DeviceError } from '../errors.js';

/** Takes one token of the device (inside a write); returns how many are left. */
export async function takeFlashToken(tx: StoreTx, subject: AclSubject, oid: number): Promise<number> {
  const v = await tx.rawValues(oid);
  if (v.authorized !== '1') throw new DeviceError('device.unauthorized');
  const tokens = Number(v.token_count);
  if (tokens <= 0) throw new DeviceError('device.no-tokens');
  await tx.set(subject, oid, '', { token_count: tokens - 1 });
  return tokens - 1;
}
