/**
 * Rate limits of the Pantahub registry beyond the bans (src/auth/bans.ts),
 * counted with rate-limiter-flexible in memory like them:
 *
 * - failed claims of one device, from every address together: a 40-bit
 *   challenge guessed from many addresses at once still meets a bound. At
 *   `pantahub_claim_fails_per_device` failures within the bans' window, the
 *   device's claims are refused until the window ends or the device refreshes
 *   its challenge (which a guesser cannot do). Per address, failed claims are
 *   the `pantahub-challenge` kind of the bans, counted there.
 * - anonymous self-registrations from one address: `pantahub_registrations_per_address`
 *   an hour. A logged-in user's and an auto-token's registrations are not counted.
 *
 * A restart forgets all, as it does the bans.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { FAILURE_WINDOW_S } from '../auth/bans.js';
import { normalizeIp } from '../auth/gate.js';

const HOUR_S = 3600;

export interface PantahubLimitSettings {
  claimFailsPerDevice: number;
  registrationsPerAddress: number;
}

/** Whole seconds (at least 1) until a refused point comes back. */
const secondsOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export class PantahubLimits {
  private readonly claimFails: RateLimiterMemory;
  private readonly registrations: RateLimiterMemory;

  constructor(private readonly settings: PantahubLimitSettings) {
    this.claimFails = new RateLimiterMemory({ points: settings.claimFailsPerDevice, duration: FAILURE_WINDOW_S });
    this.registrations = new RateLimiterMemory({ points: settings.registrationsPerAddress, duration: HOUR_S });
  }

  /** Seconds until the device `id` may be claimed again, or undefined when it may be now. */
  async claimWait(id: string): Promise<number | undefined> {
    const res = await this.claimFails.get(id);
    return res !== null && res.consumedPoints >= this.settings.claimFailsPerDevice ? secondsOf(res) : undefined;
  }

  /** Counts one failed claim of the device `id`. */
  async claimFailed(id: string): Promise<void> {
    await this.claimFails.consume(id).catch(refusedOnly);
  }

  /** A refreshed challenge starts the device's count afresh. */
  async challengeRefreshed(id: string): Promise<void> {
    await this.claimFails.delete(id);
  }

  /** Takes one anonymous registration of the address; seconds to wait when none is left. */
  async register(ip: string): Promise<number | undefined> {
    try {
      await this.registrations.consume(normalizeIp(ip));
      return undefined;
    } catch (r) {
      if (r instanceof RateLimiterRes) return secondsOf(r);
      /* c8 ignore next */
      throw r;
    }
  }
}

/** Over its limit, consume() rejects with a RateLimiterRes (not an Error): undefined; anything else is thrown. */
function refusedOnly(r: unknown): undefined {
  if (r instanceof RateLimiterRes) return undefined;
  /* c8 ignore next */
  throw r;
}
