/**
 * Bans after repeated failed claims (src/auth/claims.ts), counted with
 * rate-limiter-flexible in memory, each credential kind on its own counters:
 *
 * - per (kind, address, identity): the `api_auth_fails`-th failure within
 *   FAILURE_WINDOW_S bans that pair for `api_ban_time` seconds: that identity's
 *   credential of that kind, right or wrong, is refused (429) from that address.
 *   Other identities, other kinds and other addresses are untouched.
 * - per (kind, address): the `api_auth_fails_per_address`-th failure of one
 *   kind, whatever the identities, bans the address: every request from it that
 *   does not carry an established session, LOGIN token or bearer token is
 *   refused (429); one that does runs as usual, so a local attacker cannot lock
 *   an administrator out of a session it already holds.
 *
 * A success resets nothing; a refused claim is not counted again.
 *
 * One node keeps both in memory, and a restart forgets all. Several nodes on
 * one database share them (BanSharing; PostgreSQL's is
 * src/store/postgres/shared-bans.ts): the failures are counted in the
 * database, so failures spread over the nodes add up, and a ban one node
 * starts is announced to the others (src/store/ban-sharing.ts), which add it to their own lists. The
 * check on every request stays a read of this node's list.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { BanSharing, FailureCounter, SharedBan } from '../store/ban-sharing.js';
import type { Logger } from 'pino';
import { normalizeIp } from './gate.js';
import { Refusal } from '../errors.js';
import type { Claim } from './claims.js';

/** How long a failure counts toward a ban. */
export const FAILURE_WINDOW_S = 15 * 60;

export interface BanLimits {
  /** Failures of one (kind, address, identity) that ban the pair. */
  pairFails: number;
  /** Failures of one kind from one address that ban the address. */
  addressFails: number;
  banSeconds: number;
}

/** Bans in force, each with when it ends (ms). */
class BanList {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly ended: (key: string) => void,
  ) {}

  get size(): number {
    return this.until.size;
  }

  set(key: string, ms: number): void {
    this.until.set(key, ms);
  }

  /** A ban another node started: kept unless this list already ends it later. */
  heard(key: string, ms: number): void {
    if (ms > this.now() && ms > (this.until.get(key) ?? 0)) this.until.set(key, ms);
  }

  /** Whole seconds left (at least 1), or undefined; an ended ban is forgotten when seen. */
  secondsLeft(key: string): number | undefined {
    const until = this.until.get(key);
    if (until === undefined) return undefined;
    const ms = until - this.now();
    if (ms > 0) return Math.max(1, Math.ceil(ms / 1000));
    this.end(key);
    return undefined;
  }

  /** Forgets bans that ended without being seen (the list stays as small as the bans in force). */
  endExpired(): void {
    const now = this.now();
    for (const [key, until] of this.until) if (until <= now) this.end(key);
  }

  private end(key: string): void {
    this.until.delete(key);
    this.ended(key);
  }
}

const SEP = '\u0000';
const pairKeyOf = (c: Claim) => [c.kind, normalizeIp(c.ip), c.identity].join(SEP);

export class Bans {
  private readonly pairLimiter: FailureCounter;
  private readonly addressLimiter: FailureCounter;
  /**
   * Banned addresses: the check on every request reads only this list,
   * synchronously; empty (the common case), it costs nothing.
   */
  private readonly addresses: BanList;
  private readonly pairs: BanList;

  constructor(
    private readonly limits: BanLimits,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Where several nodes share the counters and the bans; none: this node's memory. */
    private readonly sharing?: BanSharing,
  ) {
    const counter = (scope: SharedBan['scope'], points: number) =>
      sharing ? sharing.counter(scope, points, FAILURE_WINDOW_S) : new RateLimiterMemory({ points, duration: FAILURE_WINDOW_S });
    this.pairLimiter = counter('pair', limits.pairFails);
    this.addressLimiter = counter('address', limits.addressFails);
    this.addresses = new BanList(now, (ip) => this.log.info({ audit: 'BAN', ip, scope: 'address', outcome: 'end' }, 'ban ended'));
    this.pairs = new BanList(now, (key) => {
      const [kind, ip, user] = key.split(SEP);
      this.log.info({ audit: 'BAN', ip, kind, user, scope: 'pair', outcome: 'end' }, 'ban ended');
    });
  }

  /** With sharing: takes the bans other nodes hold now, and those they start from now on. */
  async follow(): Promise<void> {
    await this.sharing?.follow((ban) => (ban.scope === 'pair' ? this.pairs : this.addresses).heard(ban.key, ban.until));
  }

  /** Counts one failed claim; may start a ban of its pair, of its address, or both. */
  async failed(c: Claim): Promise<void> {
    const ip = normalizeIp(c.ip);
    const pairKey = pairKeyOf(c);
    const addressKey = c.kind + SEP + ip;
    const [pairFull, addressFull] = await Promise.all([reachedLimit(this.pairLimiter, pairKey), reachedLimit(this.addressLimiter, addressKey)]);
    const until = this.now() + this.limits.banSeconds * 1000;
    if (pairFull) {
      this.pairs.endExpired();
      this.pairs.set(pairKey, until);
      await this.pairLimiter.block(pairKey, this.limits.banSeconds);
      await this.sharing?.announce({ scope: 'pair', key: pairKey, until });
      this.log.warn(
        { audit: 'BAN', ip, kind: c.kind, user: c.identity, scope: 'pair', outcome: 'start', seconds: this.limits.banSeconds, failures: this.limits.pairFails },
        'claims of this identity from this address banned',
      );
    }
    if (addressFull) {
      this.addresses.endExpired();
      this.addresses.set(ip, until);
      await this.addressLimiter.block(addressKey, this.limits.banSeconds);
      await this.sharing?.announce({ scope: 'address', key: ip, until });
      this.log.warn(
        { audit: 'BAN', ip, kind: c.kind, scope: 'address', outcome: 'start', seconds: this.limits.banSeconds, failures: this.limits.addressFails },
        'address banned',
      );
    }
  }

  /**
   * Counts a failed claim: a bookkeeping error is logged, never thrown at the caller. A caller that can wait
   * awaits it before it answers, so the next request sees the ban this failure started (on a shared store the
   * count is a round trip to the database, not a microtask).
   */
  count(c: Claim): Promise<void> {
    return this.failed(c).catch((err: unknown) => this.log.error({ err }, 'ban bookkeeping failed'));
  }

  /** Whole seconds until `ip`'s address ban ends (at least 1), or undefined when it is not banned. */
  addressBanLeft(ip: string): number | undefined {
    if (this.addresses.size === 0) return undefined;
    return this.addresses.secondsLeft(normalizeIp(ip));
  }

  /** Whole seconds until this claim's pair ban ends, or undefined. */
  pairBanLeft(c: Claim): number | undefined {
    if (this.pairs.size === 0) return undefined;
    return this.pairs.secondsLeft(pairKeyOf(c));
  }

  /** Whole seconds until this claim may be made again (its pair or its address is banned), or undefined. */
  banLeft(c: Claim): number | undefined {
    return this.pairBanLeft(c) ?? this.addressBanLeft(c.ip);
  }

  /** Throws the 429 Refusal when this claim may not be made now: its pair or its address is banned. */
  refuse(c: Claim): void {
    const wait = this.banLeft(c);
    if (wait !== undefined) throw new Refusal('banned', wait);
  }

  /** Throws the 429 Refusal when only the pair is banned (the address ban spares established credentials). */
  refusePair(c: Claim): void {
    const wait = this.pairBanLeft(c);
    if (wait !== undefined) throw new Refusal('banned', wait);
  }
}

/** Consumes one point; true when that was the last one (the limit is reached now). */
async function reachedLimit(limiter: FailureCounter, key: string): Promise<boolean> {
  // Over the limit, consume() rejects with a RateLimiterRes (not an Error): already banned, nothing new.
  const res = await limiter.consume(key).catch((r: unknown) => {
    if (r instanceof RateLimiterRes) return undefined;
    throw r;
  });
  return res !== undefined && res.remainingPoints === 0;
}
