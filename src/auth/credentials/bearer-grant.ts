/**
 * A bearer grant: `Authorization: Bearer <token>` issued by POST
 * /api/auth/login (`issueBearer`). Its own kind of grant (origin
 * `meeting-bearer`): a /v2/cce session or LOGIN token is not a bearer grant.
 * Unknown, expired or of another kind: 403 (seed 001's semantics); from a
 * banned address, 429 (only an established grant passes a ban).
 */
import type { Config } from '../../config/schema.js';
import type { Auth } from '../auth.js';
import type { Grant } from '../secrets.js';
import type { CredentialRequest, StrategyDef } from './deps.js';
import type { Principal } from './types.js';
import { callerPrincipal } from './deps.js';
import { CredentialRefused } from './types.js';
import { AUTHORIZATION_HEADER, bearerGrantOf, bearerOf, refuseBearer } from './bearer.js';

export const BEARER_ORIGIN = 'meeting-bearer';

/**
 * Issues a bearer grant for a user, usable only from where it was issued
 * (`boundTo`: `local`, or the api_access entry); it lives `session_lifetime`
 * seconds and does not slide.
 */
export function issueBearer(auth: Auth, config: Pick<Config, 'session_lifetime'>, userOid: number, userName: string, boundTo: string): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
  return auth.grants.issue({ kind: 'token', userOid, userName, origin: BEARER_ORIGIN, boundTo, lifetimeMs: config.session_lifetime * 1000, sliding: false });
}

/** Is the request where the grant may be used? */
function fromBound(auth: Auth, grant: Grant, req: CredentialRequest): boolean {
  if (grant.boundTo === undefined) return true;
  if (grant.boundTo === 'local') return req.origin === 'local';
  return req.origin === 'remote' && auth.clients.entryHolds(grant.boundTo, req.ip);
}

export const bearerGrant: StrategyDef = {
  name: 'bearer-grant',
  headers: [AUTHORIZATION_HEADER],
  fields: [],
  // No Authorization header (a device's beat, on a door that also takes bearers): answered without a promise.
  create: ({ auth }) => (req) => (bearerOf(req.headers) === undefined ? undefined : principalOfBearer(auth, req)),
};

/** The user of the bearer grant sent, or the refusal. */
async function principalOfBearer(auth: Auth, req: CredentialRequest): Promise<Principal | undefined> {
  const sent = await bearerGrantOf(auth, req);
  if (sent === undefined) return undefined;
  const { secret, grant } = sent;
  const found = grant?.origin === BEARER_ORIGIN ? callerPrincipal(await auth.callerFor(grant, secret), 'bearer-grant') : undefined;
  if (found && fromBound(auth, grant!, req)) return found;
  if (found) throw new CredentialRefused(403, 'Token not valid from this address');
  return refuseBearer(auth, req, 403);
}
