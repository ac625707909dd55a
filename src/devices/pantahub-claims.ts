/**
 * How often the Pantahub registry may be tried, whichever door asks: a claim
 * is refused while its (address, device) pair or the address is banned, or
 * while the device has had too many failed claims from every address together
 * (src/devices/pantahub-limits.ts); a failed claim is audited (`CLAIM_PANTAHUB`)
 * and counted toward both. An anonymous registration takes one of its
 * address's hourly registrations. Refusals are `pantahub.too-many` with the
 * seconds to wait (a ban's is the gate's 429 Refusal).
 */
import type { BaseLogger } from 'pino';
import type { Store } from '../store/store.js';
import type { Writer } from '../store/writer.js';
import type { Bans } from '../auth/bans.js';
import { claim } from '../auth/claims.js';
import { auditFailedClaim } from '../auth/audit.js';
import { PantahubError } from '../errors.js';
import { claimDevice, type PantahubDevice } from './pantahub.js';
import type { PantahubLimits } from './pantahub-limits.js';

export interface ClaimGuards {
  store: Store;
  writer: Writer;
  bans: Bans;
  limits: PantahubLimits;
}

/** Where an attempt comes from: its address, and the log its audit line goes to. */
export interface Attempt {
  ip: string;
  log: Pick<BaseLogger, 'info'>;
}

/** `user` claims the device `id` with `challenge`, within the bans and the device's failed-claim limit. */
export async function guardedClaim(g: ClaimGuards, at: Attempt, id: string, user: string, challenge: string): Promise<PantahubDevice> {
  const c = claim('pantahub-challenge', at.ip, id);
  g.bans.refuse(c);
  const wait = await g.limits.claimWait(id);
  if (wait !== undefined) throw new PantahubError('pantahub.too-many', wait);
  try {
    return await claimDevice(g.store, g.writer, id, user, challenge);
  } catch (err) {
    if (err instanceof PantahubError && err.code === 'pantahub.bad-challenge') {
      await auditFailedClaim(at.log, g.bans, 'CLAIM_PANTAHUB', c, 'device');
      await g.limits.claimFailed(id);
    }
    throw err;
  }
}

/** Takes one anonymous registration of the address, or refuses with the seconds until one is free. */
export async function anonymousRegistration(limits: PantahubLimits, ip: string): Promise<void> {
  const wait = await limits.register(ip);
  if (wait !== undefined) throw new PantahubError('pantahub.too-many', wait);
}
