/**
 * The credential of the SSH-side callers (an AuthorizedKeysCommand, the
 * ForceCommand script): `X-Meeting-Ssh-Token: <token>`, the content of
 * `<state_dir>/ssh-api-token` (256 bits, made at first start, mode 0600, so
 * only the daemon's user and root can read it), compared in constant time.
 * A file rather than a config key, so that no secret sits in the config file
 * or its environment variables. Its holder acts as the daemon itself (SYSTEM).
 * A wrong one is 401, audited and counted toward a ban.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SYSTEM } from '../../store/store.js';
import { readOrCreateSecret } from '../../tunnels/secret-file.js';
import { sameSecret } from '../secrets.js';
import { claim, MIN_TOKEN_LENGTH } from '../claims.js';
import { auditFailedClaim } from '../audit.js';
import type { StrategyDef } from './deps.js';
import { CredentialRefused, type Principal } from './types.js';

export const SSH_TOKEN_FILE = 'ssh-api-token';
export const SSH_TOKEN_HEADER = 'x-meeting-ssh-token';

export function loadSshToken(stateDir: string): string {
  const file = path.join(stateDir, SSH_TOKEN_FILE);
  const token = readOrCreateSecret(file, () => randomBytes(32).toString('base64url') + '\n').trim();
  // An operator may have written the file by hand: a guessable token is refused at start, not served.
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${file} holds fewer than ${MIN_TOKEN_LENGTH} characters: write a longer token or delete it to make a new one`);
  return token;
}

const SSH_TOKEN_PRINCIPAL: Principal = { subject: SYSTEM, label: 'ssh-token', via: 'ssh-token' };

export const sshToken: StrategyDef = {
  name: 'ssh-token',
  headers: [SSH_TOKEN_HEADER],
  fields: [],
  create: ({ auth, config }) => {
    // Read at the first use, from the file the tunnel runtime made at start.
    let expected: string | undefined;
    return async (req) => {
      const given = req.headers[SSH_TOKEN_HEADER];
      if (given === undefined) return undefined;
      const c = claim('ssh-token', req.ip, SSH_TOKEN_PRINCIPAL.label);
      auth.bans.refuse(c);
      expected ??= loadSshToken(config.state_dir);
      if (typeof given !== 'string' || given.length < MIN_TOKEN_LENGTH || !sameSecret(given, expected)) {
        await auditFailedClaim(req.log, auth.bans, 'SSH_TOKEN', c);
        throw new CredentialRefused(401, 'Invalid X-Meeting-Ssh-Token');
      }
      return SSH_TOKEN_PRINCIPAL;
    };
  },
};
