/**
 * Who calls a Pantahub path: a Pantahub token (src/auth/credentials/
 * pantahub-token.ts) through the one credential chain, naming a user or a
 * device; nobody when no Authorization header is sent.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { Door } from '../../auth/credentials/index.js';
import { credentialRequest } from '../kit/principals.js';
import type { PantahubCaller } from '../../devices/pantahub.js';
import { PantahubReply } from './replies.js';

const doors = new WeakMap<Services, Door>();

export async function callerOf(s: Services, req: FastifyRequest): Promise<PantahubCaller> {
  let door = doors.get(s);
  if (door === undefined) doors.set(s, (door = s.credentials.door(['pantahub-token'])));
  const who = await s.credentials.resolve(credentialRequest(req), door);
  if (who === undefined) return {};
  req.cceCaller = who.label;
  return who.deviceOid !== undefined ? { deviceOid: who.deviceOid } : { user: who.caller!.name };
}

/** A logged-in user: 401 without a token, 403 for a device's. */
export async function userOf(s: Services, req: FastifyRequest): Promise<string> {
  const who = await callerOf(s, req);
  if (who.user !== undefined) return who.user;
  throw who.deviceOid === undefined ? new PantahubReply(401, 'Not Authorized') : new PantahubReply(403, 'Forbidden');
}

/** A device logged in as itself: 401 without a token, 403 for a user's. */
export async function deviceOf(s: Services, req: FastifyRequest): Promise<PantahubCaller> {
  const who = await callerOf(s, req);
  if (who.deviceOid !== undefined) return who;
  throw who.user === undefined ? new PantahubReply(401, 'Not Authorized') : new PantahubReply(403, 'Forbidden');
}

/** A user or a device with its token: 401 without one. */
export async function tokenHolderOf(s: Services, req: FastifyRequest): Promise<PantahubCaller> {
  const who = await callerOf(s, req);
  if (who.user === undefined && who.deviceOid === undefined) throw new PantahubReply(401, 'Not Authorized');
  return who;
}
