/**
 * The SSH-side callers (an AuthorizedKeysCommand, the ForceCommand script):
 * `X-Meeting-Ssh-Token` (src/auth/credentials/ssh-token.ts), else an
 * administrator's bearer token, else — on the read paths the document opens
 * to localhost — a local caller without a credential.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { SYSTEM } from '../../store/store.js';
import { CredentialRefused, type CredentialChain, type Principal } from '../../auth/credentials/index.js';
import { credentialRequest, requireAdmin } from '../kit/principals.js';
import { meetingAuth } from './auth.js';

export { SSH_TOKEN_FILE, SSH_TOKEN_HEADER, loadSshToken } from '../../auth/credentials/ssh-token.js';

/** A local caller without a credential, on the read paths the document opens to localhost. */
const LOCAL_READER: Principal = { subject: SYSTEM, label: 'local' };

const doors = new WeakMap<CredentialChain, ReturnType<CredentialChain['door']>>();

async function sshOrAdmin(s: Services, req: FastifyRequest, localMayRead: boolean): Promise<Principal> {
  let door = doors.get(s.credentials);
  if (!door) doors.set(s.credentials, (door = s.credentials.door(['ssh-token', 'oidc', 'bearer-grant'])));
  const who = await s.credentials.resolve(credentialRequest(req), door);
  if (who) return who.via === 'ssh-token' ? who : requireAdmin(who);
  if (localMayRead && req.origin === 'local') return LOCAL_READER;
  throw new CredentialRefused(401, 'Missing X-Meeting-Ssh-Token');
}

/**
 * The X-Meeting-Ssh-Token (401 when wrong), else an admin bearer token, else
 * — when `localMayRead` and the request comes from a local address — the
 * local reader; otherwise 401. The token is the one the tunnel runtime made
 * (or checked) at start, read from the same file by the chain's strategy.
 */
export function sshApiCaller(s: Services, req: FastifyRequest, localMayRead: boolean): Promise<Principal> {
  return meetingAuth(sshOrAdmin(s, req, localMayRead));
}
