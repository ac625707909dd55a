/**
 * What the nodes on one database share of the bans (src/auth/bans.ts): the
 * failure counters and the bans in force. A backend that several nodes share
 * provides it (PostgreSQL: postgres/shared-bans.ts); one node alone keeps
 * both in memory and needs none.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/** A ban in force, as nodes tell each other: its list, its key there (see Bans) and when it ends (ms). */
export interface SharedBan {
  scope: 'pair' | 'address';
  key: string;
  until: number;
}

/** Failures counted per key, as rate-limiter-flexible counts them (consume() rejects with a RateLimiterRes when over). */
export type FailureCounter = Pick<RateLimiterAbstract, 'consume' | 'block'>;

/** What the nodes on one database share of the bans. */
export interface BanSharing {
  /** A failure counter (`points` failures within `duration` seconds) that every node counts on alike. */
  counter(scope: SharedBan['scope'], points: number, duration: number): FailureCounter;
  /** Tells every node of a ban this one started. */
  announce(ban: SharedBan): Promise<void>;
  /** Calls `heard` with every ban in force now, and again with those in force whenever another node announces one. */
  follow(heard: (ban: SharedBan) => void): Promise<void>;
  close(): Promise<void>;
}
