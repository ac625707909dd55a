/**
 * /api/auth/*: login (a user's name and password for a bearer token), logout
 * (revokes that token) and me (the caller's own user record).
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { issueBearer, passwordLoginOrigin } from './auth.js';
import { fail } from './replies.js';
import { presentUser } from './users.js';
import { claim } from '../../auth/claims.js';
import { auditFailedClaim } from '../../auth/audit.js';

const loginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function authRoutes(route: Router, services: Services): void {
  route('POST', '/api/auth/login', { access: 'public', door: 'password-login', body: loginBody }, async ({ req, body }) => {
    const boundTo = passwordLoginOrigin(services, req);
    // The same claim as AUTH's: both doors guess one password, so they share one counter.
    const c = claim('password', req.ip, body.username);
    services.auth.bans.refuse(c);
    const oid = await services.auth.checkPassword(body.username, body.password);
    // A Meeting user whose `authorized` flag is off may not log in.
    if (oid === undefined || services.store.rawValues(oid).authorized === '0') {
      auditFailedClaim(req.log, services.auth.bans, 'LOGIN_REST', c);
      throw fail(401, 'Invalid credentials');
    }
    req.log.info({ audit: 'LOGIN_REST', user: body.username, ip: req.ip, outcome: 'ok' }, 'bearer token issued');
    const { secret, grant, saved } = issueBearer(services, oid, body.username, boundTo);
    // Handed out only once stored: a restart right after the reply keeps it.
    await saved;
    return { success: true, token: secret, expires_at: new Date(grant.expires).toISOString() };
  });

  route('POST', '/api/auth/logout', { access: 'user' }, async ({ who }) => {
    // A 'user' route's principal always carries the bearer caller and its secret.
    await services.auth.grants.revoke(who.caller!.secret!);
    return { success: true };
  });

  route('GET', '/api/auth/me', { access: 'user' }, ({ who }) => presentUser(services, who.subject, who.subject.oid));
}
