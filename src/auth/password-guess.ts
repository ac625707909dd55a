/**
 * A password guess, at whichever door makes it: AUTH and WHOAMI on /v2/cce,
 * POST /api/auth/login (Meeting) and POST /auth/login (Pantahub: a user's
 * password or a device's secret). One rule for all of them: while the
 * (address, name) pair or the address is banned, the guess is refused without
 * being checked (429); a wrong one is audited under the door's name and
 * counted toward the bans before its refusal goes out. They all count as the
 * `password` kind: the doors guess the same secrets, so they share a counter.
 */
import type { BaseLogger } from 'pino';
import type { Bans } from './bans.js';
import { claim } from './claims.js';

export interface PasswordGuess {
  ip: string;
  /** The name claimed: a user's, or a Pantahub device's prn. */
  name: string;
  /** The audit name of the door (AUTH, WHOAMI, LOGIN_REST, LOGIN_PANTAHUB). */
  audit: string;
  log: Pick<BaseLogger, 'info'>;
}

/** The oid `check` finds for the guess, or undefined (audited and counted); throws the 429 Refusal while banned. */
export async function guessPassword(bans: Bans, guess: PasswordGuess, check: () => Promise<number | undefined>): Promise<number | undefined> {
  const c = claim('password', guess.ip, guess.name);
  bans.refuse(c);
  const oid = await check();
  if (oid === undefined) {
    guess.log.info({ audit: guess.audit, user: c.identity, ip: c.ip, outcome: 'fail' }, `${guess.audit} fail`);
    await bans.failed(c);
  }
  return oid;
}
