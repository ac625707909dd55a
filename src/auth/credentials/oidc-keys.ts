/**
 * The identity provider as the daemon sees it: its discovery document
 * (`<issuer>/.well-known/openid-configuration`, whose `issuer` must equal the
 * configured one exactly), its key set (jose's remote JWKS: cached, fetched
 * again for an unknown `kid` once the cooldown has passed) and the
 * verification of a token against both, every JWT operation done by jose.
 * Each failure becomes the one refusal the doors answer (docs/credentials.md):
 * a token that does not verify is 403, keys that cannot be fetched are 503.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { isSafeIssuer, type Config } from '../../config/schema.js';
import { ConfigError } from '../../config/load.js';
import { CredentialRefused } from './types.js';

/** How long a fetch of the discovery document or the key set may take. */
const FETCH_TIMEOUT_MS = 5000;
/** After a failed discovery, requests answer 503 at once for this long instead of each fetching again. */
const DISCOVERY_RETRY_MS = 1000;

const discoverySchema = z.looseObject({ issuer: z.string(), jwks_uri: z.string().refine(isSafeIssuer, 'an https:// URL (http:// only on a loopback host)') });

export type OidcSettings = Pick<Config, 'oidc_issuer' | 'oidc_audience' | 'oidc_algorithms' | 'oidc_clock_tolerance' | 'oidc_jwks_cooldown'>;

/** The provider's keys could not be had: 503, never a pass and never a 500. */
class KeysUnavailable extends Error {}

const unavailable = (why: string) => new CredentialRefused(503, `OIDC identity provider unavailable: ${why}; try again later`);

/** jose's verification errors as the doors' refusals (403: the token was presented and proves nothing). */
function refusalOf(err: unknown): CredentialRefused {
  if (err instanceof CredentialRefused) return err;
  if (err instanceof KeysUnavailable) return unavailable(err.message);
  if (err instanceof errors.JWTExpired) return new CredentialRefused(403, 'Token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new CredentialRefused(403, 'Token audience does not match');
    if (err.claim === 'iss') return new CredentialRefused(403, 'Token issuer does not match');
    if (err.claim === 'exp') return new CredentialRefused(403, 'Token has no valid exp');
    if (err.claim === 'nbf') return new CredentialRefused(403, 'Token not yet valid');
    return new CredentialRefused(403, `Token claim ${err.claim} is invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new CredentialRefused(403, 'Token algorithm not allowed');
  if (err instanceof errors.JWSSignatureVerificationFailed) return new CredentialRefused(403, 'Invalid token signature');
  if (err instanceof errors.JWKSNoMatchingKey) return new CredentialRefused(403, 'No key of the identity provider matches the token');
  return new CredentialRefused(403, 'Malformed token');
}

export class OidcProvider {
  private keys: JWTVerifyGetKey | undefined;
  private discovering: Promise<JWTVerifyGetKey> | undefined;
  private failedAt = -Infinity;
  private failure: CredentialRefused | undefined;

  constructor(
    private readonly settings: OidcSettings,
    private readonly now: () => number = Date.now,
  ) {
    // Without an audience any token of the provider, issued to any of its clients, would be accepted.
    if (settings.oidc_audience === '') throw new ConfigError('config: oidc_audience: required when oidc_issuer is set (the client id tokens are issued to)');
  }

  /** The token's verified claims, or a CredentialRefused. */
  async verify(token: string): Promise<JWTPayload> {
    const s = this.settings;
    try {
      const keys = this.keys ?? (await this.discover());
      const { payload } = await jwtVerify(token, keys, {
        issuer: s.oidc_issuer,
        audience: s.oidc_audience,
        algorithms: [...s.oidc_algorithms],
        clockTolerance: s.oidc_clock_tolerance,
        // Without it jose accepts a token that never expires.
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      throw refusalOf(err);
    }
  }

  /** Discovery once (shared by concurrent requests); a failure is answered again, without fetching, for DISCOVERY_RETRY_MS. */
  private discover(): Promise<JWTVerifyGetKey> {
    if (this.failure && this.now() - this.failedAt < DISCOVERY_RETRY_MS) return Promise.reject(this.failure);
    this.discovering ??= this.fetchDiscovery()
      .then(
        (keys) => (this.keys = keys),
        (err: unknown) => {
          this.failedAt = this.now();
          this.failure = err instanceof CredentialRefused ? err : unavailable('discovery failed');
          throw this.failure;
        },
      )
      .finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  private async fetchDiscovery(): Promise<JWTVerifyGetKey> {
    const issuer = this.settings.oidc_issuer;
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (res.status !== 200) throw unavailable(`its discovery document answered HTTP ${res.status}`);
      doc = await res.json();
    } catch (err) {
      if (err instanceof CredentialRefused) throw err;
      throw unavailable('its discovery document could not be fetched');
    }
    const parsed = discoverySchema.safeParse(doc);
    if (!parsed.success) throw unavailable('its discovery document has no usable issuer and jwks_uri');
    if (parsed.data.issuer !== issuer) throw unavailable(`its discovery document names the issuer ${JSON.stringify(parsed.data.issuer.slice(0, 200))}, not the configured one`);
    const remote = createRemoteJWKSet(new URL(parsed.data.jwks_uri), {
      cooldownDuration: this.settings.oidc_jwks_cooldown * 1000,
      timeoutDuration: FETCH_TIMEOUT_MS,
    });
    // jose's own answers about keys stay what they are; anything else is the key set failing to load.
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
        throw new KeysUnavailable('its key set could not be fetched');
      }
    };
  }
}
