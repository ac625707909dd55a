/**
 * Bans after repeated authentication failures (failed AUTH, AUTHKEY, LOGIN and
 * bad client secrets), counted per source IP with rate-limiter-flexible in
 * memory. The `api_auth_fails`-th failure within FAILURE_WINDOW_S bans the IP
 * for `api_ban_time` seconds; every request from it then gets HTTP 429, even
 * with the right credentials. A success resets nothing. A restart forgets all.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import { normalizeIp } from './gate.js';

/** How long a failure counts toward a ban. */
export const FAILURE_WINDOW_S = 15 * 60;

export class Bans {
  private readonly limiter: RateLimiterMemory;
  /** Bans started and not yet seen to end, so their end can be logged once. */
  private readonly open = new Set<string>();

  constructor(
    private readonly fails: number,
    private readonly banSeconds: number,
    private readonly log: Logger,
  ) {
    this.limiter = new RateLimiterMemory({ points: fails, duration: FAILURE_WINDOW_S });
  }

  /** Counts one failure from `ip`; the `fails`-th starts a ban. */
  async failed(ip: string): Promise<void> {
    const key = normalizeIp(ip);
    // Over the limit, consume() rejects with a RateLimiterRes (not an Error): the IP is already banned.
    const res = await this.limiter.consume(key).catch((r: unknown) => {
      if (r instanceof RateLimiterRes) return undefined;
      throw r;
    });
    if (res === undefined || res.remainingPoints > 0) return;
    await this.limiter.block(key, this.banSeconds);
    this.open.add(key);
    this.log.warn({ audit: 'BAN', ip: key, outcome: 'start', seconds: this.banSeconds, failures: this.fails }, 'address banned');
  }

  /** Whole seconds until `ip`'s ban ends (at least 1), or undefined when it is not banned. */
  async secondsLeft(ip: string): Promise<number | undefined> {
    const key = normalizeIp(ip);
    const res = await this.limiter.get(key);
    if (res !== null && res.consumedPoints > this.fails) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    if (this.open.delete(key)) this.log.info({ audit: 'BAN', ip: key, outcome: 'end' }, 'ban ended');
    return undefined;
  }
}
