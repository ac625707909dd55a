/**
 * Credentials on the Meeting paths: the one chain (src/auth/credentials)
 * through the kit's access levels (src/facades/kit/principals.ts), its
 * refusals in the document's `{"error": "..."}` shape. People send
 * `Authorization: Bearer <token>`: a grant of POST /api/auth/login or an OIDC
 * token (missing: 401; refused: 403; identity provider unreachable: 503).
 * Devices send their key (in the path) and `X-Device-Token`. Who may call a
 * path is its declared access level, resolved by the kit before the handler.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { Grant } from '../../auth/secrets.js';
import { CredentialRefused, type Principal } from '../../auth/credentials/index.js';
import { issueBearer as issueBearerGrant } from '../../auth/credentials/bearer-grant.js';
import { fail } from './replies.js';

export { BEARER_ORIGIN } from '../../auth/credentials/bearer-grant.js';
export { DEVICE_TOKEN_HEADER } from '../../auth/credentials/device-token.js';
export type { Principal };

/** A refused credential as the document answers it; anything else unchanged. */
export function asMeetingError(err: unknown): unknown {
  return err instanceof CredentialRefused ? fail(err.status, err.message) : err;
}

/** Issues a bearer token for a user (POST /api/auth/login), usable from `boundTo` only; lives `session_lifetime` seconds, not sliding. */
export function issueBearer(services: Services, userOid: number, userName: string, boundTo: string): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
  return issueBearerGrant(services.auth, services.config, userOid, userName, boundTo);
}

/**
 * Where a password login may be made (the origin policy's `password-login`
 * door, src/auth/origins.ts): a local address, or — with `rest_login_remote` —
 * a whitelisted one with its entry's X-Client-Secret (else 401, counted as a
 * failed LOGIN). Answers what the bearer token is bound to.
 */
export async function passwordLoginOrigin(services: Services, req: FastifyRequest): Promise<string> {
  if (req.origin === 'local') return 'local';
  if (req.origin !== 'remote' || !services.config.rest_login_remote) throw fail(403, 'Password login is only allowed from a local address');
  return (await services.auth.clients.requireEntry(req.ip, req.headers, 'LOGIN_REST')).entry;
}
