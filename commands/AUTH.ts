import { CceError, badParameters } from '../src/errors.js';
import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { auditAuth } from '../src/auth/audit.js';
import { guessPassword } from '../src/auth/password-guess.js';

/**
 * AUTH user + password (local callers only): opens a session, `data.sessionid`.
 * A failure counts toward a ban of (address, user); while that pair is banned
 * the password is not even checked (429).
 */
export const AUTH: ReadCommand<{ user: string; password: string }> = {
  verb: 'AUTH',
  kind: 'read',
  access: 'local',
  parse(input) {
    none(input);
    const { user, password } = input.envelope;
    if (user === undefined || password === undefined) throw badParameters('AUTH needs user and password');
    return { user, password };
  },
  async run(ctx, { user, password }) {
    const oid = await guessPassword(ctx.auth.bans, { ip: ctx.ip, name: user, audit: 'AUTH', log: ctx.log }, () => ctx.auth.checkPassword(user, password));
    if (oid === undefined) throw new CceError(401);
    const { secret, saved } = await ctx.auth.startSession(oid, user, ctx.ip);
    // Handed out only once stored: a restart right after the reply keeps it.
    await saved;
    await auditAuth(ctx, 'AUTH', user, 'ok');
    return goodbye({ sessionid: secret });
  },
};
