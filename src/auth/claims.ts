/**
 * A claim: "I am <identity>", made from an address with one kind of
 * credential. Failed claims are what bans count (src/auth/bans.ts) and what
 * the audit names (src/auth/audit.ts): the address and the claimed identity,
 * never the secret.
 */

/**
 * Each kind is counted apart, so failures at one door never ban another:
 * - `password`: AUTH and POST /api/auth/login (one counter: both guess the same password)
 * - `session`: AUTHKEY (is this session id this user's?)
 * - `client-secret`: LOGIN, and a token sent with a wrong X-Client-Secret
 * - `device-token`: X-Device-Token on the device paths
 * - `ssh-key`: a public-key login to the tunnel SSH server
 * - `ssh-token`: X-Meeting-Ssh-Token
 * - `oidc`: an OIDC bearer token that does not verify, or names a user who may not log in
 * - `pantahub-challenge`: a Pantahub claim whose challenge is wrong, used or expired (the identity is the device id)
 */
export type CredentialKind = 'password' | 'session' | 'client-secret' | 'device-token' | 'ssh-key' | 'ssh-token' | 'oidc' | 'pantahub-challenge';

export interface Claim {
  kind: CredentialKind;
  ip: string;
  /** Who the caller says it is (a user name, a device key); the client's input, bounded by `claim()`. */
  identity: string;
}

/** Longest identity kept: a counter key and a log line stay small whatever a client sends. */
const MAX_IDENTITY = 128;

export function claim(kind: CredentialKind, ip: string, identity: string): Claim {
  return { kind, ip, identity: identity.slice(0, MAX_IDENTITY) };
}

/**
 * The shortest shared secret the daemon accepts from a caller (device tokens,
 * client secrets, the SSH token): set shorter, it is refused where it is set;
 * presented shorter, it is a failed claim without being compared. The
 * daemon's own are longer (32 hex digits, 32 letters, 43 base64url).
 */
export const MIN_TOKEN_LENGTH = 16;
