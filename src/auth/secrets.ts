/**
 * Session ids and tokens: 256 random bits, kept only as their SHA-256 in memory
 * (a memory dump yields no usable secret), looked up by that hash and then
 * compared in constant time. Sessions slide (each use extends them); tokens do
 * not. Restarting the daemon ends them all. An owner (a user's sessions, an
 * api_access entry's tokens) holds a bounded number: a new grant beyond the
 * bound ends the owner's grant closest to expiry.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Grant {
  readonly kind: 'session' | 'token';
  readonly userOid: number;
  readonly userName: string;
  /** Where it was issued (a token is only valid from its own whitelist entry). */
  readonly origin: string;
  /** Where a bearer grant may be used: `local`, or the api_access entry it was issued from (src/auth/origins.ts). */
  readonly boundTo?: string;
  /** A systemAdministrator whatever its User says (an OIDC token's admin claim, src/auth/credentials/oidc.ts). */
  readonly admin?: boolean;
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

/** How many live grants one owner (a user's sessions, a client's tokens) may hold: `key` names the owner. */
export interface GrantLimit {
  readonly key: string;
  readonly max: number;
}

interface Entry {
  hash: Buffer;
  grant: Grant;
  /** The owner's key when the grant is limited. */
  owner?: string;
}

export class SecretTable {
  private readonly byHash = new Map<string, Entry>();
  /** grant -> its key in byHash (see holds()). */
  private readonly keys = new WeakMap<Grant, string>();
  /**
   * Each owner's grants (hex digests) in order of expiry, soonest first: tokens
   * by issue time; a sliding session moves to the end whenever it is used. A
   * full owner loses its first one when a new one is issued.
   */
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(
    private readonly now: () => number = Date.now,
    /** The limit a grant falls under; none when undefined. */
    private readonly limitOf: (g: Omit<Grant, 'expires'>) => GrantLimit | undefined = () => undefined,
  ) {}

  /** A new grant under a new random secret, or under `secret` when given (an OIDC token, verified once). */
  issue(g: Omit<Grant, 'expires'>, secret = randomSecret()): { secret: string; grant: Grant } {
    const grant: Grant = { ...g, expires: this.now() + g.lifetimeMs };
    const hash = digest(secret);
    const hex = hash.toString('hex');
    const limit = this.limitOf(g);
    const entry: Entry = { hash, grant };
    if (limit !== undefined) {
      let owned = this.byOwner.get(limit.key);
      if (owned === undefined) this.byOwner.set(limit.key, (owned = new Set()));
      // Full: the grant closest to its expiry ends, so the newest (or most recently used) survive.
      for (const oldest of owned) {
        if (owned.size < limit.max) break;
        this.drop(oldest);
      }
      owned.add(hex);
      entry.owner = limit.key;
    }
    this.byHash.set(hex, entry);
    this.keys.set(grant, hex);
    return { secret, grant };
  }

  /** Is this grant still valid (neither ended nor expired)? What a BEGIN queue holds counts only while it is. */
  holds(grant: Grant): boolean {
    const key = this.keys.get(grant);
    return key !== undefined && this.byHash.get(key)?.grant === grant && grant.expires > this.now();
  }

  /** The live grant for a secret, extending it when sliding; undefined when unknown or expired. */
  lookup(secret: string, maxLength = 256): Grant | undefined {
    if (secret.length === 0 || secret.length > maxLength) return undefined;
    const hash = digest(secret);
    const hex = hash.toString('hex');
    const entry = this.byHash.get(hex);
    if (!entry || !timingSafeEqual(entry.hash, hash)) return undefined;
    const now = this.now();
    if (entry.grant.expires <= now) {
      this.drop(hex);
      return undefined;
    }
    if (entry.grant.sliding) {
      entry.grant.expires = now + entry.grant.lifetimeMs;
      this.touch(hex, entry);
    }
    return entry.grant;
  }

  revoke(secret: string): boolean {
    return this.drop(digest(secret).toString('hex'));
  }

  /** Ends every grant of a user (disabled, destroyed, new password), except `keep` (the caller's own). */
  revokeUser(userOid: number, keep?: Grant): number {
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.userOid === userOid && e.grant !== keep && this.drop(k)) n++;
    return n;
  }

  /** Drops expired grants; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.byHash) if (e.grant.expires <= now && this.drop(k)) n++;
    return n;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** How many live grants an owner holds (expired ones not yet swept included). */
  held(key: string): number {
    return this.byOwner.get(key)?.size ?? 0;
  }

  private drop(hex: string): boolean {
    const entry = this.byHash.get(hex);
    if (entry === undefined) return false;
    this.byHash.delete(hex);
    if (entry.owner !== undefined) {
      const owned = this.byOwner.get(entry.owner)!;
      owned.delete(hex);
      if (owned.size === 0) this.byOwner.delete(entry.owner);
    }
    return true;
  }

  /** A used sliding grant now expires last among its owner's: to the end of the order. */
  private touch(hex: string, entry: Entry): void {
    if (entry.owner === undefined) return;
    const owned = this.byOwner.get(entry.owner)!;
    owned.delete(hex);
    owned.add(hex);
  }
}
