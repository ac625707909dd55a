/**
 * A LOGIN token (`token` in the envelope) with its entry's X-Client-Secret,
 * from inside the api_access entry it was issued to (src/auth/client-secrets.ts):
 * outside it the request is anonymous; with a wrong secret, HTTP 401 counted
 * toward a ban.
 */
import type { StrategyDef } from './deps.js';
import { callerPrincipal } from './deps.js';
import { CLIENT_SECRET_HEADER } from '../client-secrets.js';

export const loginToken: StrategyDef = {
  name: 'login-token',
  headers: [CLIENT_SECRET_HEADER],
  fields: ['token'],
  create: ({ auth }) => async (req) => {
    const secret = req.envelope?.token;
    if (secret === undefined) return undefined;
    const grant = await auth.grants.lookup(secret);
    if (grant?.kind !== 'token' || !(await auth.clients.tokenValid(grant, req.ip, req.headers))) return undefined;
    return callerPrincipal(await auth.callerFor(grant, secret), 'login-token');
  },
};
