/**
 * OIDC bearer tokens: `Authorization: Bearer <JWT>` issued by the identity
 * provider `oidc_issuer` to the client `oidc_audience`, verified by jose
 * (src/auth/credentials/oidc-keys.ts). The claim `oidc_user_claim` names the
 * cced User the request runs as; `oidc_admin_claim`/`oidc_admin_value` can make
 * it a sysadmin. On /v2/cce it applies to an envelope with neither sessionid
 * nor token.
 *
 * A token verified once is remembered as a grant of the grant table under its
 * own digest until its `exp`: later requests with it cost what a session costs,
 * and a BEGIN queue can belong to it. The user is read again whenever any User
 * changes (Auth.callerFor), so disabling a user ends its token at once.
 *
 * Every refusal but 503 is audited and counted toward a ban of (address,
 * claimed user) and of the address, as a failed AUTH is.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import type { Principal } from './types.js';
import { CredentialRefused } from './types.js';
import type { CredentialDeps, CredentialRequest, StrategyDef } from './deps.js';
import { callerPrincipal } from './deps.js';
import { AUTHORIZATION_HEADER, bearerOf, looksLikeJwt } from './bearer.js';
import { OidcProvider } from './oidc-keys.js';
import { claim, type Claim } from '../claims.js';
import { auditFailedClaim } from '../audit.js';
import { USER_CLASS, USER_NAME, userDisabled } from '../auth.js';
import { SYSTEM } from '../../store/store.js';

export const OIDC_ORIGIN = 'oidc';
/** The longest token looked at: providers' tokens run to a few KB; a header is bounded anyway. */
const MAX_JWT = 16 * 1024;

/** The claimed user of a token not verified yet: only for counting and auditing its failure. */
function claimedUser(token: string, userClaim: string): string {
  try {
    const v = decodeJwt(token)[userClaim];
    return typeof v === 'string' ? v : '?';
  } catch {
    return '?';
  }
}

/** The admin claim holds the admin value (a string equal to it, or an array containing it). */
function claimsAdmin(payload: JWTPayload, name: string, value: string): boolean {
  if (name === '' || value === '') return false;
  const v = payload[name];
  return v === value || (Array.isArray(v) && v.includes(value));
}

function oidcResolver(deps: CredentialDeps) {
  const { config, auth, store, writer } = deps;
  const provider = new OidcProvider(config);

  /** The user's oid, created when oidc_auto_create allows it; refused when it may not log in. */
  async function userOf(name: string): Promise<number> {
    let oid = await auth.userOid(name);
    if (oid === undefined) {
      if (!config.oidc_auto_create) throw new CredentialRefused(403, 'Unknown user');
      oid = await writer.submit(async (w) => {
        const tx = store.at(w);
        return (await tx.findOne(USER_CLASS, '', 'name', name)) ?? tx.create(SYSTEM, USER_CLASS, { name, fullName: name });
      });
    }
    const v = await store.rawValues(oid);
    // api-admin is LOGIN's identity only.
    if (oid === auth.apiAdminOid || userDisabled(v)) throw new CredentialRefused(403, 'User disabled');
    return oid;
  }

  async function verifyNew(token: string, req: CredentialRequest, c: Claim): Promise<Principal> {
    const payload = await provider.verify(token);
    const name = payload[config.oidc_user_claim];
    if (typeof name !== 'string' || !USER_NAME.test(name)) {
      throw new CredentialRefused(403, `Token names no user (claim ${config.oidc_user_claim})`);
    }
    const oid = await userOf(name);
    const expires = (payload.exp as number) * 1000 + config.oidc_clock_tolerance * 1000;
    const { grant } = await auth.grants.issue(
      { kind: 'token', userOid: oid, userName: name, origin: OIDC_ORIGIN, lifetimeMs: expires - Date.now(), sliding: false, admin: claimsAdmin(payload, config.oidc_admin_claim, config.oidc_admin_value) },
      token,
    );
    const found = callerPrincipal(await auth.callerFor(grant, token), 'oidc');
    if (!found) throw new CredentialRefused(403, 'User disabled');
    req.log.info({ audit: 'OIDC', user: c.identity, ip: req.ip, outcome: 'ok' }, 'OIDC token verified');
    return found;
  }

  return async (req: CredentialRequest): Promise<Principal | undefined> => {
    const e = req.envelope;
    if (e !== undefined && (e.sessionid !== undefined || e.token !== undefined)) return undefined;
    const token = bearerOf(req.headers);
    if (token === undefined || !looksLikeJwt(token) || token.length > MAX_JWT) return undefined;
    const known = await auth.grants.lookup(token, MAX_JWT);
    const cached = known?.origin === OIDC_ORIGIN ? callerPrincipal(await auth.callerFor(known, token), 'oidc') : undefined;
    if (cached) return cached;
    const c = claim('oidc', req.ip, claimedUser(token, config.oidc_user_claim));
    auth.bans.refuse(c);
    try {
      return await verifyNew(token, req, c);
    } catch (err) {
      // The provider being down is nobody's failed claim.
      if (err instanceof CredentialRefused && err.status !== 503) await auditFailedClaim(req.log, auth.bans, 'OIDC', c);
      throw err;
    }
  };
}

export const oidc: StrategyDef = {
  name: 'oidc',
  headers: [AUTHORIZATION_HEADER],
  fields: [],
  // Off (no strategy at all) when no issuer is configured.
  create: (deps) => (deps.config.oidc_issuer === '' ? () => undefined : oidcResolver(deps)),
};
