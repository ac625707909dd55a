/**
 * Who calls a Pantahub path, in the registry's terms: the kit's Pantahub
 * levels (src/facades/kit/principals.ts) have already resolved the token
 * through the one credential chain; this only names the user or the device.
 */
import type { Principal } from '../../auth/credentials/index.js';
import type { PantahubCaller } from '../../devices/pantahub.js';

export function pantahubCaller(who: Principal): PantahubCaller {
  if (who.deviceOid !== undefined) return { deviceOid: who.deviceOid };
  return who.caller !== undefined ? { user: who.caller.name } : {};
}

/** The user of a `pantahub-user` route (the kit let in nobody else). */
export const userOf = (who: Principal): string => who.caller!.name;
