/**
 * The access levels every REST facade uses, each a question to the one
 * credential chain (src/auth/credentials) with the rule of the level on top:
 *
 * - `public`: anyone the gate let in
 * - `local`: a local address (`local_addresses`), without a credential; 403 from elsewhere
 * - `user`: a person (an OIDC token or a bearer grant); 401 when none is sent
 * - `admin`: a person who is a systemAdministrator (403 otherwise)
 * - `device`: the device named by the path with its X-Device-Token, or an
 *   administrator (a person's credential, when one is sent, wins)
 * - `device-header`: as `device`, for a path that names no device (a firmware
 *   download): the device names itself with X-Device-Key
 * - `ssh`: the SSH-side callers (an AuthorizedKeysCommand, the ForceCommand
 *   script) with X-Meeting-Ssh-Token, or an administrator; from any address
 * - `ssh-read`: as `ssh`, or a local caller without any credential (the read
 *   paths the Meeting document opens to localhost)
 * - `ssh-or-device`: the SSH token when X-Meeting-Ssh-Token is sent, else as
 *   `device` (a path both the ForceCommand script and a device call)
 * - `pantahub-user`, `pantahub-device`, `pantahub-token`: a Pantahub token
 *   (POST /auth/login) of a user, of a device, of either; `pantahub-optional`:
 *   such a token when one is sent, else anyone
 *
 * Refusals are the chain's CredentialRefused; each facade words them in its
 * own body shape. Only the router asks (principalFor, before the handler): a
 * facade declares a level and never resolves a credential itself.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { SYSTEM } from '../../store/store.js';
import type { CredentialChain, CredentialRequest, Principal } from '../../auth/credentials/index.js';
import { CredentialRefused } from '../../auth/credentials/index.js';
import { bearerOf } from '../../auth/credentials/bearer.js';
import { DEVICE_TOKEN_HEADER } from '../../auth/credentials/device-token.js';
import { ANYONE as ANY_CALLER, type Credential } from '../../api-reference/declaration.js';

export type Access =
  | 'public'
  | 'local'
  | 'user'
  | 'admin'
  | 'device'
  | 'device-header'
  | 'ssh'
  | 'ssh-read'
  | 'ssh-or-device'
  | 'pantahub-user'
  | 'pantahub-device'
  | 'pantahub-token'
  | 'pantahub-optional';

/** The levels a caller without any credential may pass (a public route; a local reader): their bodies get the pre-authentication limit. */
export const MAY_BE_ANONYMOUS: ReadonlySet<Access> = new Set<Access>(['public', 'local', 'ssh-read', 'pantahub-optional']);

/** The levels whose callers are devices (the gate's `device` door, src/auth/origins.ts). */
export const DEVICE_DOOR: ReadonlySet<Access> = new Set<Access>(['device', 'device-header', 'ssh-or-device']);

export const ANYONE: Principal = Object.freeze({ subject: { oid: -1, admin: false, capabilities: [] }, label: 'anonymous' });
/** A caller of a `local` path: known by its address only, so no more rights than anyone. */
const LOCAL_CALLER: Principal = Object.freeze({ subject: ANYONE.subject, label: 'local' });

/** The chain's view of a fastify request. */
export function credentialRequest(req: FastifyRequest, deviceKey?: string): CredentialRequest {
  return { ip: req.ip, origin: req.origin, headers: req.headers, log: req.log, ...(deviceKey !== undefined ? { deviceKey } : {}) };
}

type ChainDoor = ReturnType<CredentialChain['door']>;
interface LevelDoors {
  people: ChainDoor;
  devices: ChainDoor;
  ssh: ChainDoor;
  sshOrDevices: ChainDoor;
  pantahub: ChainDoor;
}

/** The doors of the access levels, built once per chain. In the chain's order: the SSH token first, a device token last. */
function doorsOf(chain: CredentialChain): LevelDoors {
  let d = doors.get(chain);
  if (!d) {
    d = {
      people: chain.door(['oidc', 'bearer-grant']),
      devices: chain.door(['oidc', 'bearer-grant', 'device-token']),
      ssh: chain.door(['ssh-token', 'oidc', 'bearer-grant']),
      sshOrDevices: chain.door(['ssh-token', 'oidc', 'bearer-grant', 'device-token']),
      pantahub: chain.door(['pantahub-token']),
    };
    doors.set(chain, d);
  }
  return d;
}
const doors = new WeakMap<CredentialChain, LevelDoors>();

/** A person (an OIDC token or a bearer grant): 401 when none is sent. */
async function personOf(s: Services, req: FastifyRequest): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req), doorsOf(s.credentials).people);
  if (!who) throw new CredentialRefused(401, 'Missing bearer token');
  return who;
}

/** A principal who must be a systemAdministrator. */
function requireAdmin(who: Principal): Principal {
  if (!who.subject.admin) throw new CredentialRefused(403, 'Administrator rights required');
  return who;
}

/** The device `key` with its own token, or an administrator. */
async function deviceOrAdminOf(s: Services, req: FastifyRequest, key: string): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req, key), doorsOf(s.credentials).devices);
  if (!who) throw new CredentialRefused(401, 'Missing bearer token or X-Device-Token');
  return who.deviceOid === undefined ? requireAdmin(who) : who;
}

/** The header a device names itself with on a path that names no device. */
export const DEVICE_KEY_HEADER = 'x-device-key';

/**
 * The device named by X-Device-Key with its own token, or an administrator. A
 * device token without the key is 401 (the token alone would have to be looked
 * up by its value; with the key it is compared in constant time as on every device path).
 */
async function deviceByHeaderOf(s: Services, req: FastifyRequest): Promise<Principal> {
  const key = req.headers[DEVICE_KEY_HEADER];
  if (bearerOf(req.headers) === undefined && typeof req.headers[DEVICE_TOKEN_HEADER] === 'string' && typeof key !== 'string') {
    throw new CredentialRefused(401, 'Missing X-Device-Key');
  }
  return deviceOrAdminOf(s, req, typeof key === 'string' ? key : '');
}

/** A local caller without a credential, on the read paths the Meeting document opens to localhost. */
const LOCAL_READER: Principal = Object.freeze({ subject: SYSTEM, label: 'local' });

/**
 * The SSH token (a wrong one is 401), else an administrator's bearer token,
 * else — when `localMayRead` and the request comes from a local address — the
 * local reader; otherwise 401. The holder of the token acts as the daemon.
 */
async function sshOrAdminOf(s: Services, req: FastifyRequest, localMayRead: boolean): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req), doorsOf(s.credentials).ssh);
  if (who) return who.via === 'ssh-token' ? who : requireAdmin(who);
  if (localMayRead && req.origin === 'local') return LOCAL_READER;
  throw new CredentialRefused(401, 'Missing X-Meeting-Ssh-Token');
}

/** The SSH token when one is sent (the chain asks it first), else the device `key` with its own token, or an administrator. */
async function sshOrDeviceOf(s: Services, req: FastifyRequest, key: string): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req, key), doorsOf(s.credentials).sshOrDevices);
  if (!who) throw new CredentialRefused(401, 'Missing bearer token or X-Device-Token');
  return who.via === 'ssh-token' || who.deviceOid !== undefined ? who : requireAdmin(who);
}

/** Which Pantahub token holders a level lets in. */
type PantahubHolder = 'user' | 'device' | 'either' | 'optional';

/**
 * A Pantahub token (src/auth/credentials/pantahub-token.ts) naming a user or a
 * device: 401 without one (unless `optional`: then anyone), 403 for the other kind.
 */
async function pantahubHolderOf(s: Services, req: FastifyRequest, holder: PantahubHolder): Promise<Principal> {
  const who = await s.credentials.resolve(credentialRequest(req), doorsOf(s.credentials).pantahub);
  if (!who) {
    if (holder === 'optional') return ANYONE;
    throw new CredentialRefused(401, 'Not Authorized');
  }
  const isDevice = who.deviceOid !== undefined;
  if ((holder === 'user' && isDevice) || (holder === 'device' && !isDevice)) throw new CredentialRefused(403, 'Forbidden');
  return who;
}

const PANTAHUB_401 = 'No Authorization: Bearer token, or an unknown or expired one';

const SSH_LEVEL: Credential = {
  security: [{ sshToken: [] }, { bearer: [] }],
  errors: { 401: 'Neither the SSH token nor a bearer token, or a wrong SSH token', 403: 'A bearer token of a person who is not a systemAdministrator, or a refused one' },
  words: 'The SSH token (X-Meeting-Ssh-Token, the content of <state_dir>/ssh-api-token) or a systemAdministrator, from any address.',
};

/** Each level as the API reference states it: the schemes it accepts and the refusals below. */
export const CREDENTIALS: Record<Access, Credential> = {
  public: ANY_CALLER,
  local: { security: [], errors: { 403: 'Not from a local address' }, words: 'A local address (local_addresses), without a credential.' },
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
  'device-header': {
    security: [{ deviceToken: [] }, { bearer: [] }],
    errors: {
      401: 'Neither a bearer token nor X-Device-Key with its X-Device-Token',
      403: 'A refused device token, or a person who is not a systemAdministrator',
    },
    words: 'A device naming itself with X-Device-Key and proving it with its X-Device-Token, or a systemAdministrator.',
  },
  ssh: SSH_LEVEL,
  'ssh-read': {
    ...SSH_LEVEL,
    // `{}`: a caller without any credential (from a local address).
    security: [...SSH_LEVEL.security, {}],
    words: 'The SSH token (X-Meeting-Ssh-Token) or a systemAdministrator; a local address may read without a credential.',
  },
  'ssh-or-device': {
    security: [{ sshToken: [] }, { deviceToken: [] }, { bearer: [] }],
    errors: { 401: 'None of the SSH token, a bearer token or the X-Device-Token of this device, or a wrong SSH token', 403: 'A refused device token, or a person who is not a systemAdministrator' },
    words: 'The SSH token (X-Meeting-Ssh-Token) when one is sent; else the device named by the path with its X-Device-Token, or a systemAdministrator.',
  },
  'pantahub-user': {
    security: [{ pantahubToken: [] }],
    errors: { 401: PANTAHUB_401, 403: "A device's token where a user's is needed" },
    words: 'A user with its Pantahub token (POST /auth/login).',
  },
  'pantahub-device': {
    security: [{ pantahubToken: [] }],
    errors: { 401: PANTAHUB_401, 403: "A user's token where the device's own is needed" },
    words: 'The device itself with its Pantahub token (POST /auth/login with its prn and secret).',
  },
  'pantahub-token': { security: [{ pantahubToken: [] }], errors: { 401: PANTAHUB_401 }, words: 'A user or a device with its Pantahub token (POST /auth/login).' },
  'pantahub-optional': {
    security: [{}, { pantahubToken: [] }],
    errors: { 401: 'A bearer token that is unknown or expired' },
    words: 'Anyone; with a Pantahub token (POST /auth/login) the caller is that user or device.',
  },
};

export async function principalFor(s: Services, req: FastifyRequest, access: Access, params: unknown): Promise<Principal> {
  switch (access) {
    case 'public':
      return ANYONE;
    case 'local':
      if (req.origin !== 'local') throw new CredentialRefused(403, 'Local access only');
      return LOCAL_CALLER;
    case 'user':
      return personOf(s, req);
    case 'admin':
      return requireAdmin(await personOf(s, req));
    case 'device':
      return deviceOrAdminOf(s, req, (params as { key: string }).key);
    case 'device-header':
      return deviceByHeaderOf(s, req);
    case 'ssh':
      return sshOrAdminOf(s, req, false);
    case 'ssh-read':
      return sshOrAdminOf(s, req, true);
    case 'ssh-or-device':
      return sshOrDeviceOf(s, req, (params as { key: string }).key);
    case 'pantahub-user':
      return pantahubHolderOf(s, req, 'user');
    case 'pantahub-device':
      return pantahubHolderOf(s, req, 'device');
    case 'pantahub-token':
      return pantahubHolderOf(s, req, 'either');
    case 'pantahub-optional':
      return pantahubHolderOf(s, req, 'optional');
  }
}
