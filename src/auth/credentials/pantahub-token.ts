/**
 * A Pantahub token: `Authorization: Bearer <token>` issued by the Pantahub
 * facade's POST /auth/login, to a user or to a device (`prn:::devices:/<id>`
 * with its secret). Its own kind of grant (origin `pantahub`), bound to no
 * address: Pantahub clients and devices log in from anywhere the gate lets
 * them. An unknown or expired token, or a grant of another kind (a Meeting
 * bearer token), is 401; from a banned address, 429.
 */
import type { Auth } from '../auth.js';
import type { Grant } from '../secrets.js';
import type { CredentialRequest, StrategyDef } from './deps.js';
import type { Principal } from './types.js';
import { callerPrincipal } from './deps.js';
import { AUTHORIZATION_HEADER, bearerGrantOf, refuseBearer } from './bearer.js';

export const PANTAHUB_ORIGIN = 'pantahub';
/** The userName of a device's grant starts with this (the seed's device prn). */
export const DEVICE_PRN = 'prn:::devices:/';

/** A token for a user (its oid and name) or a device (its oid and prn), living `lifetimeSeconds`. */
/** A new token; `saved` settles once its row has committed (a reply hands the token out only then, so a restart keeps it). */
export function issuePantahubToken(auth: Auth, lifetimeSeconds: number, oid: number, name: string): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
  return auth.grants.issue({ kind: 'token', userOid: oid, userName: name, origin: PANTAHUB_ORIGIN, lifetimeMs: lifetimeSeconds * 1000, sliding: false });
}

/** A user's or a device's principal; undefined without a bearer; a refusal for an unknown token or another kind of grant. */
async function resolvePantahub(auth: Auth, req: CredentialRequest): Promise<Principal | undefined> {
  const sent = await bearerGrantOf(auth, req);
  if (sent === undefined) return undefined;
  const grant = sent.grant?.origin === PANTAHUB_ORIGIN ? sent.grant : undefined;
  if (grant?.userName.startsWith(DEVICE_PRN)) {
    return { subject: { oid: grant.userOid, admin: false, capabilities: [] }, label: `device:${grant.userName}`, deviceOid: grant.userOid, via: 'pantahub-token' };
  }
  return (grant && callerPrincipal(await auth.callerFor(grant, sent.secret), 'pantahub-token')) ?? refuseBearer(auth, req, 401);
}

export const pantahubToken: StrategyDef = { name: 'pantahub-token', headers: [AUTHORIZATION_HEADER], fields: [], create: ({ auth }) => (req) => resolvePantahub(auth, req) };
