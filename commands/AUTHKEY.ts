import { CceError, badParameters } from '../src/errors.js';
import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** AUTHKEY user + sessionid (local callers only): is this session alive and this user's? */
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
  run(ctx, { user, sessionid }) {
    const grant = ctx.auth.grants.lookup(sessionid);
    const alive = grant?.kind === 'session' && grant.userName === user && ctx.auth.callerFor(grant, sessionid) !== undefined;
    ctx.log.info({ audit: 'AUTHKEY', user, ip: ctx.ip, outcome: alive ? 'ok' : 'fail' }, 'session check');
    if (!alive) throw new CceError(401);
    return goodbye();
  },
};
