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
   */
  match(ip: string, given: string | undefined): AccessEntry | undefined {
    if (given === undefined || given.length === 0 || given.length > 256) return undefined;
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
  tokenValid(grant: Grant, ip: string, headers: Record<string, string | string[] | undefined>): boolean {
    const own = this.entries.find((e) => e.entry.entry === grant.origin);
    if (!own || !own.entry.contains(ip)) return false;
    if (this.match(ip, clientSecretOf(headers)) !== own.entry) {
      this.log.info({ audit: 'TOKEN', user: grant.userName, ip, outcome: 'fail', why: 'client secret' }, 'token refused');
      // Counted at once: consume() updates the in-memory counter synchronously.
      void this.bans.failed(ip);
      throw new Refusal('client-secret');
    }
    return true;
  }
}
