/**
 * Session ids and tokens: 256 random bits, kept only as their SHA-256 in memory
 * (a memory dump yields no usable secret), looked up by that hash and then
 * compared in constant time. Sessions slide (each use extends them); tokens do
 * not. Restarting the daemon ends them all.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Grant {
  readonly kind: 'session' | 'token';
  readonly userOid: number;
  readonly userName: string;
  /** Where it was issued (a token is only valid from its own whitelist entry). */
  readonly origin: string;
  expires: number;
  readonly lifetimeMs: number;
  readonly sliding: boolean;
}

/** SHA-256, one-shot (crypto.hash: no Hash object per call, unlike createHash). */
export const digest = (secret: string): Buffer => hash('sha256', secret, 'buffer') as unknown as Buffer;

/** Constant-time equality of two secrets (compared as digests, so lengths leak nothing); '' never matches. */
export function sameSecret(given: string, expected: string): boolean {
  return expected !== '' && timingSafeEqual(digest(given), digest(expected));
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export class SecretTable {
  private readonly byHash = new Map<string, { hash: Buffer; grant: Grant }>();
  /** grant -> its key in byHash (see holds()). */
  private readonly keys = new WeakMap<Grant, string>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(g: Omit<Grant, 'expires'>): { secret: string; grant: Grant } {
    const secret = randomSecret();
    const grant: Grant = { ...g, expires: this.now() + g.lifetimeMs };
    const hash = digest(secret);
    this.byHash.set(hash.toString('hex'), { hash, grant });
    this.keys.set(grant, hash.toString('hex'));
    return { secret, grant };
  }

  /** Is this grant still valid (neither ended nor expired)? What a BEGIN queue holds counts only while it is. */
  holds(grant: Grant): boolean {
    const key = this.keys.get(grant);
    return key !== undefined && this.byHash.get(key)?.grant === grant && grant.expires > this.now();
  }

  /** The live grant for a secret, extending it when sliding; undefined when unknown or expired. */
  lookup(secret: string): Grant | undefined {
    if (secret.length === 0 || secret.length > 256) return undefined;
    const hash = digest(secret);
    const entry = this.byHash.get(hash.toString('hex'));
    if (!entry || !timingSafeEqual(entry.hash, hash)) return undefined;
    const now = this.now();
    if (entry.grant.expires <= now) {
      this.byHash.delete(hash.toString('hex'));
      return undefined;
    }
    if (entry.grant.sliding) entry.grant.expires = now + entry.grant.lifetimeMs;
    return entry.grant;
  }

  revoke(secret: string): boolean {
    return this.byHash.delete(digest(secret).toString('hex'));
  }

  /** Ends every grant of a user (disabled, destroyed, new password), except `keep` (the caller's own). */
  revokeUser(userOid: number, keep?: Grant): number {
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.userOid === userOid && e.grant !== keep && this.byHash.delete(k)) n++;
    return n;
  }

  /** Drops expired grants; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.expires <= now && this.byHash.delete(k)) n++;
    return n;
  }

  get size(): number {
    return this.byHash.size;
  }
}
