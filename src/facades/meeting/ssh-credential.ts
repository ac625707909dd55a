/**
 * The credential of the SSH-side callers (an AuthorizedKeysCommand, the
 * ForceCommand script): `X-Meeting-Ssh-Token: <token>`, the content of
 * `<state_dir>/ssh-api-token` (256 bits, made at first start, mode 0600, so
 * only the daemon's user and root can read it), compared in constant time.
 * It is a file rather than a config key so that no secret sits in the config
 * file or its environment variables. An administrator's bearer token is
 * accepted in its place. A wrong one is audited and counted toward a ban
 * (src/auth/bans.ts) like any other credential.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { SYSTEM } from '../../store/store.js';
import { readOrCreateSecret } from '../../tunnels/secret-file.js';
import { adminCaller, bearerSecret, userPrincipal, type Principal } from './auth.js';
import { sameSecret } from '../../auth/secrets.js';
import { fail } from './replies.js';
import { claim, MIN_TOKEN_LENGTH } from '../../auth/claims.js';
import { auditFailedClaim } from '../../auth/audit.js';

export const SSH_TOKEN_FILE = 'ssh-api-token';
export const SSH_TOKEN_HEADER = 'x-meeting-ssh-token';

export function loadSshToken(stateDir: string): string {
  const file = path.join(stateDir, SSH_TOKEN_FILE);
  const token = readOrCreateSecret(file, () => randomBytes(32).toString('base64url') + '\n').trim();
  // An operator may have written the file by hand: a guessable token is refused at start, not served.
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${file} holds fewer than ${MIN_TOKEN_LENGTH} characters: write a longer token or delete it to make a new one`);
  return token;
}

/** The SSH token's holder acts as the daemon itself (SYSTEM) on the few paths that accept it. */
const SSH_TOKEN_PRINCIPAL: Principal = { subject: SYSTEM, label: 'ssh-token' };
/** A local caller without a credential, on the read paths the document opens to localhost. */
const LOCAL_READER: Principal = { subject: SYSTEM, label: 'local' };

/**
 * The X-Meeting-Ssh-Token (401 when wrong), else an admin bearer token, else
 * — when `localMayRead` and the request comes from a local address — the
 * local reader; otherwise 401.
 */
export function sshApiCaller(s: Services, req: FastifyRequest, token: string, localMayRead: boolean): Principal {
  const given = req.headers[SSH_TOKEN_HEADER];
  if (given !== undefined) {
    const c = claim('ssh-token', req.ip, SSH_TOKEN_PRINCIPAL.label);
    s.auth.bans.refuse(c);
    if (typeof given !== 'string' || given.length < MIN_TOKEN_LENGTH || !sameSecret(given, token)) {
      auditFailedClaim(req.log, s.auth.bans, 'SSH_TOKEN', c);
      throw fail(401, 'Invalid X-Meeting-Ssh-Token');
    }
    return SSH_TOKEN_PRINCIPAL;
  }
  if (bearerSecret(req) !== undefined) return userPrincipal(adminCaller(s, req));
  if (localMayRead && req.origin === 'local') return LOCAL_READER;
  throw fail(401, 'Missing X-Meeting-Ssh-Token');
}
