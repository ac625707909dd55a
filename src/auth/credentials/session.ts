/**
 * A session (AUTH's `sessionid`, with its own `user`), from a local address
 * only. A session id sent as a token, or with another user name, is no
 * credential: the request is anonymous, as the reference has it.
 */
import type { StrategyDef } from './deps.js';
import { callerPrincipal } from './deps.js';

export const session: StrategyDef = {
  name: 'session',
  headers: [],
  fields: ['sessionid'],
  create: ({ auth }) => async (req) => {
    const e = req.envelope;
    if (e?.sessionid === undefined || e.token !== undefined) return undefined;
    const grant = await auth.grants.lookup(e.sessionid);
    if (grant?.kind !== 'session' || req.origin !== 'local' || e.user !== grant.userName) return undefined;
    return callerPrincipal(await auth.callerFor(grant, e.sessionid), 'session');
  },
};
