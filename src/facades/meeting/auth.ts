/**
 * Credentials of the Meeting REST paths.
 *
 * - People: `Authorization: Bearer <token>`, a grant issued by POST
 *   /api/auth/login (`issueBearer`). Missing: 401; unknown, expired or not a
 *   bearer grant: 403 (the semantics of seeds/001). Bearer grants are their own
 *   kind of token (origin `meeting-bearer`), so a /v2/cce session or LOGIN token
 *   is not a bearer token and a bearer token is not usable on /v2/cce.
 * - Devices: their key (in the path) and `X-Device-Token: <token_code>`,
 *   compared in constant time; every failure is audited and counted toward a
 *   ban of (address, device key) and of the address (src/auth/bans.ts). A device acts as itself: its AclSubject's oid is
 *   the device's oid, so `ruleSelf` in schema/Device.json says what it may write.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { AclSubject } from '../../schema/types.js';
import type { Caller } from '../../auth/caller.js';
import { describeCaller } from '../../auth/caller.js';
import type { Grant } from '../../auth/secrets.js';
import { fail } from './replies.js';
import { DeviceCredentials } from './device-credentials.js';
import { digest } from '../../auth/secrets.js';
import { Refusal } from '../../errors.js';
import { claim, MIN_TOKEN_LENGTH } from '../../auth/claims.js';
import { auditFailedClaim } from '../../auth/audit.js';

export const BEARER_ORIGIN = 'meeting-bearer';
export const DEVICE_TOKEN_HEADER = 'x-device-token';
/** The longest token_code the schema accepts (schema/Device.json, device_token). */
const MAX_DEVICE_TOKEN = 128;

/** Who a facade request runs as: the subject the store checks ACLs against, and a loggable label. */
export interface Principal {
  subject: AclSubject;
  /** For the request log line; never a secret. */
  label: string;
  /** The Caller behind a bearer token (absent for a device). */
  caller?: Caller;
  /** The authenticated device's oid (a device acting as itself). */
  deviceOid?: number;
}

/** Issues a bearer token for a user (POST /api/auth/login); lives `session_lifetime` seconds, not sliding. */
export function issueBearer(services: Services, userOid: number, userName: string): { secret: string; grant: Grant } {
  return services.auth.grants.issue({
    kind: 'token',
    userOid,
    userName,
    origin: BEARER_ORIGIN,
    lifetimeMs: services.config.session_lifetime * 1000,
    sliding: false,
  });
}

/** The `<secret>` of `Authorization: Bearer <secret>`, or undefined when the header is absent. */
export function bearerSecret(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined || h === '') return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  // A header of another scheme, or a malformed one, is a credential that does not verify.
  return m ? m[1]! : '';
}

/** The person behind a bearer token: 401 when none is given, 403 when it does not verify. */
export function bearerCaller(services: Services, req: FastifyRequest): Caller {
  const secret = bearerSecret(req);
  if (secret === undefined) throw fail(401, 'Missing bearer token');
  const grant = secret === '' ? undefined : services.auth.grants.lookup(secret);
  const caller = grant && grant.origin === BEARER_ORIGIN ? services.auth.callerFor(grant, secret) : undefined;
  if (!caller) {
    // A banned address gets past the gate only with a bearer token, to use an established one: any other is refused.
    const wait = services.auth.bans.addressBanLeft(req.ip);
    if (wait !== undefined) throw new Refusal('banned', wait);
    throw fail(403, 'Invalid or expired token');
  }
  return caller;
}

export function userPrincipal(caller: Caller): Principal {
  return { subject: caller, label: describeCaller(caller), caller };
}

/** A bearer caller who must be a systemAdministrator (403 otherwise). */
export function adminCaller(services: Services, req: FastifyRequest): Caller {
  const caller = bearerCaller(services, req);
  if (!caller.admin) throw fail(403, 'Administrator rights required');
  return caller;
}


/**
 * A device-facing path: the device itself (`X-Device-Token`) or an
 * administrator's bearer token. A device that is unknown, revoked or whose
 * token does not match gets the same 403 (no oracle on which keys exist).
 */
export function deviceOrAdmin(services: Services, req: FastifyRequest, key: string): Principal {
  if (bearerSecret(req) !== undefined) return userPrincipal(adminCaller(services, req));
  const token = req.headers[DEVICE_TOKEN_HEADER];
  if (typeof token !== 'string' || token === '') throw fail(401, 'Missing bearer token or X-Device-Token');
  const claimed = claim('device-token', req.ip, key);
  services.auth.bans.refuse(claimed);
  // A token shorter than the minimum is never compared (nor looked up): no stored token can match it.
  const c = token.length >= MIN_TOKEN_LENGTH && token.length <= MAX_DEVICE_TOKEN ? DeviceCredentials.of(services.store).lookup(key) : undefined;
  const matches = c?.tokenDigest !== undefined && timingSafeEqual(digest(token), c.tokenDigest);
  if (!c || !matches || c.revoked) {
    auditFailedClaim(req.log, services.auth.bans, 'DEVICE_TOKEN', claimed, 'device_key');
    throw fail(403, 'Invalid device credentials');
  }
  return { subject: { oid: c.oid, admin: false, capabilities: [] }, label: `device:${key}`, deviceOid: c.oid };
}
