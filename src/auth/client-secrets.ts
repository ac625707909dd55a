/**
 * Client secrets (X-Client-Secret): each api_access entry has its own, and a
 * secret is valid only from inside its own entry. LOGIN trades one for a token;
 * every command sent with that token must carry the same secret from inside the
 * same entry. Comparisons are constant time (SHA-256 digests of equal length).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { Refusal } from '../errors.js';
import type { AccessEntry } from './gate.js';
import { digest, type Grant } from './secrets.js';
import type { Bans } from './bans.js';
import { auditFailedClaim } from './audit.js';
import { claim, MIN_TOKEN_LENGTH, type Claim } from './claims.js';
import { API_ADMIN_NAME } from './auth.js';

export const CLIENT_SECRET_HEADER = 'x-client-secret';

/** The header's value when it was sent exactly once. */
export function clientSecretOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers[CLIENT_SECRET_HEADER];
  return typeof v === 'string' ? v : undefined;
}

export class ClientSecrets {
  private readonly entries: { entry: AccessEntry; digest: Buffer }[];

  constructor(
    access: readonly AccessEntry[],
    secrets: ReadonlyMap<string, string>,
    private readonly bans: Bans,
    private readonly log: Logger,
  ) {
    this.entries = access.map((entry) => ({ entry, digest: digest(secrets.get(entry.entry)!) }));
  }

  /**
   * The entry that holds `ip` and whose secret is `given`, else undefined.
   * Every entry holding the address is compared, so the time does not depend on which matched.
   * While this address may not present a client secret (its claims as api-admin are banned), a 429 Refusal.
   */
  match(ip: string, given: string | undefined): AccessEntry | undefined {
    this.bans.refusePair(secretClaim(ip));
    if (given === undefined || given.length < MIN_TOKEN_LENGTH || given.length > 256) return undefined;
    const d = digest(given);
    let found: AccessEntry | undefined;
    for (const e of this.entries) {
      if (e.entry.contains(ip) && timingSafeEqual(e.digest, d)) found ??= e.entry;
    }
    return found;
  }

  /**
   * Services.tokenValid: a token counts only from inside the entry it was issued
   * to (else the request is anonymous), and only with that entry's secret (else
   * HTTP 401, counted toward a ban like a failed LOGIN).
   */
  async tokenValid(grant: Grant, ip: string, headers: Record<string, string | string[] | undefined>): Promise<boolean> {
    const own = this.entries.find((e) => e.entry.entry === grant.origin);
    if (!own || !own.entry.contains(ip)) return false;
    if (this.match(ip, clientSecretOf(headers)) !== own.entry) await this.refuse(ip, 'TOKEN');
    return true;
  }

  /**
   * The entry whose secret the request carries, from inside it; else HTTP 401,
   * audited as `audit` and counted toward a ban like a failed LOGIN.
   */
  async requireEntry(ip: string, headers: Record<string, string | string[] | undefined>, audit: string): Promise<AccessEntry> {
    return this.match(ip, clientSecretOf(headers)) ?? (await this.refuse(ip, audit));
  }

  /** Counted before the refusal is answered: on a shared store the count is a round trip to the database. */
  private async refuse(ip: string, audit: string): Promise<never> {
    await auditFailedClaim(this.log, this.bans, audit, secretClaim(ip));
    throw new Refusal('client-secret');
  }

  /** Is `ip` inside the api_access entry written `entry`? */
  entryHolds(entry: string, ip: string): boolean {
    return this.entries.some((e) => e.entry.entry === entry && e.entry.contains(ip));
  }
}

/** A client secret claims api-admin, the identity behind every LOGIN token. */
function secretClaim(ip: string): Claim {
  return claim('client-secret', ip, API_ADMIN_NAME);
}
