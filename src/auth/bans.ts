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
  /**
   * Banned addresses and when their ban ends (ms). The check on every request
   * reads only this map, synchronously: empty (the common case), it costs
   * nothing; the limiter, which has the same ban, is for counting failures.
   */
  private readonly banned = new Map<string, number>();

  constructor(
    private readonly fails: number,
    private readonly banSeconds: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
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
    this.endExpired();
    this.banned.set(key, this.now() + this.banSeconds * 1000);
    await this.limiter.block(key, this.banSeconds);
    this.log.warn({ audit: 'BAN', ip: key, outcome: 'start', seconds: this.banSeconds, failures: this.fails }, 'address banned');
  }

  /** Whole seconds until `ip`'s ban ends (at least 1), or undefined when it is not banned. */
  secondsLeft(ip: string): number | undefined {
    if (this.banned.size === 0) return undefined;
    const key = normalizeIp(ip);
    const until = this.banned.get(key);
    if (until === undefined) return undefined;
    const ms = until - this.now();
    if (ms > 0) return Math.max(1, Math.ceil(ms / 1000));
    this.end(key);
    return undefined;
  }

  /** Forgets bans that ended without their address coming back (the map stays as small as the bans in force). */
  private endExpired(): void {
    const now = this.now();
    for (const [key, until] of this.banned) if (until <= now) this.end(key);
  }

  private end(key: string): void {
    this.banned.delete(key);
    this.log.info({ audit: 'BAN', ip: key, outcome: 'end' }, 'ban ended');
  }
}
