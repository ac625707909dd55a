import { CceError, badParameters } from '../src/errors.js';
import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { auditAuth, verbClaim } from '../src/auth/audit.js';

/** AUTHKEY user + sessionid (local callers only): is this session alive and this user's? A failure counts toward a ban of (address, user). */
export const AUTHKEY: ReadCommand<{ user: string; sessionid: string }> = {
  verb: 'AUTHKEY',
  kind: 'read',
  access: 'local',
  parse(input) {
    none(input);
    const { user, sessionid } = input.envelope;
    if (user === undefined || sessionid === undefined) throw badParameters('AUTHKEY needs user and sessionid');
    return { user, sessionid };
  },
  async run(ctx, { user, sessionid }) {
    const grant = await ctx.auth.grants.lookup(sessionid);
    const alive = grant?.kind === 'session' && grant.userName === user && await ctx.auth.callerFor(grant, sessionid) !== undefined;
    // A live session is an established credential: no ban refuses it (on AUTHKEY as on any other command).
    if (!alive) ctx.auth.bans.refuse(verbClaim(ctx, 'AUTHKEY', user)!);
    await auditAuth(ctx, 'AUTHKEY', user, alive ? 'ok' : 'fail');
    if (!alive) throw new CceError(401);
    return goodbye();
  },
};
