/**
 * The access levels every REST facade uses, each a question to the one
 * credential chain (src/auth/credentials) with the rule of the level on top:
 *
 * - `public`: anyone the gate let in
 * - `user`: a person (an OIDC token or a bearer grant); 401 when none is sent
 * - `admin`: a person who is a systemAdministrator (403 otherwise)
 * - `device`: the device named by the path with its X-Device-Token, or an
 *   administrator (a person's credential, when one is sent, wins)
 *
 * Refusals are the chain's CredentialRefused; each facade words them in its
 * own body shape.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { CredentialChain, CredentialRequest, Principal } from '../../auth/credentials/index.js';
import { CredentialRefused } from '../../auth/credentials/index.js';
import { ANYONE as ANY_CALLER, type Credential } from '../../api-reference/declaration.js';

export type Access = 'public' | 'user' | 'admin' | 'device';

export const ANYONE: Principal = Object.freeze({ subject: { oid: -1, admin: false, capabilities: [] }, label: 'anonymous' });

/** The chain's view of a fastify request. */
export function credentialRequest(req: FastifyRequest, deviceKey?: string): CredentialRequest {
  return { ip: req.ip, origin: req.origin, headers: req.headers, log: req.log, ...(deviceKey !== undefined ? { deviceKey } : {}) };
}

/** The doors of the access levels, built once per chain. */
function doorsOf(chain: CredentialChain) {
  let d = doors.get(chain);
  if (!d) {
    d = { people: chain.door(['oidc', 'bearer-grant']), devices: chain.door(['oidc', 'bearer-grant', 'device-token']) };
    doors.set(chain, d);
  }
  return d;
}
const doors = new WeakMap<CredentialChain, { people: ReturnType<CredentialChain['door']>; devices: ReturnType<CredentialChain['door']> }>();

/** A person (an OIDC token or a bearer grant): 401 when none is sent. */
export async function personOf(s: Services, req: FastifyRequest): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req), doorsOf(s.credentials).people);
  if (!who) throw new CredentialRefused(401, 'Missing bearer token');
  return who;
}

/** A principal who must be a systemAdministrator. */
export function requireAdmin(who: Principal): Principal {
  if (!who.subject.admin) throw new CredentialRefused(403, 'Administrator rights required');
  return who;
}

/** The device `key` with its own token, or an administrator. */
export async function deviceOrAdminOf(s: Services, req: FastifyRequest, key: string): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req, key), doorsOf(s.credentials).devices);
  if (!who) throw new CredentialRefused(401, 'Missing bearer token or X-Device-Token');
  return who.deviceOid === undefined ? requireAdmin(who) : who;
}

/** Each level as the API reference states it: the schemes it accepts and the refusals below. */
export const CREDENTIALS: Record<Access, Credential> = {
  public: ANY_CALLER,
  user: { security: [{ bearer: [] }], errors: { 401: 'No bearer token, or a refused one' }, words: 'A person: an OIDC token or a bearer grant.' },
  admin: {
    security: [{ bearer: [] }],
    errors: { 401: 'No bearer token, or a refused one', 403: 'The caller is not a systemAdministrator' },
    words: 'A systemAdministrator (an OIDC token or a bearer grant).',
  },
  device: {
    security: [{ deviceToken: [] }, { bearer: [] }],
    errors: { 401: 'Neither a bearer token nor the X-Device-Token of this device', 403: 'A person who is not a systemAdministrator' },
    words: 'The device named by the path with its X-Device-Token, or a systemAdministrator.',
  },
};

export async function principalFor(s: Services, req: FastifyRequest, access: Access, params: unknown): Promise<Principal> {
  switch (access) {
    case 'public':
      return ANYONE;
    case 'user':
      return personOf(s, req);
    case 'admin':
      return requireAdmin(await personOf(s, req));
    case 'device':
      return deviceOrAdminOf(s, req, (params as { key: string }).key);
  }
}
