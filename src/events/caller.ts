/**
 * Who opens a /v2/events stream. The same rules as the dispatcher's
 * (src/dispatch/dispatcher.ts, `authenticate`), which keeps that logic private
 * and inline: a session (user + sessionid, from a local address only) or a
 * LOGIN token (with its entry's X-Client-Secret, from inside that entry);
 * anything else is anonymous. Written against the same Services calls
 * (grants.lookup, tokenValid, callerFor) so that it can be replaced by one
 * call to the shared credential chain once there is one.
 */
import { ANONYMOUS, type Caller } from '../auth/caller.js';
import type { RequestInfo } from '../dispatch/dispatcher.js';
import type { Services } from '../services.js';

export interface StreamCredentials {
  user?: string;
  sessionid?: string;
  token?: string;
}

export function streamCaller(services: Services, creds: StreamCredentials, req: RequestInfo): Caller {
  const { auth } = services;
  const secret = creds.token ?? creds.sessionid;
  if (secret === undefined) return ANONYMOUS;
  const grant = auth.grants.lookup(secret);
  if (!grant) return ANONYMOUS;
  if (grant.kind === 'session') {
    if (req.origin !== 'local' || creds.user !== grant.userName || creds.token !== undefined) return ANONYMOUS;
  } else if (creds.token === undefined || !services.tokenValid(grant, req)) {
    return ANONYMOUS;
  }
  return auth.callerFor(grant, secret) ?? ANONYMOUS;
}
