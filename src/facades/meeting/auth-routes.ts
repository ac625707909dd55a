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
import { guessPassword } from '../../auth/password-guess.js';

const loginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function authRoutes(route: Router, services: Services): void {
  route('POST', '/api/auth/login', { access: 'public', door: 'password-login', body: loginBody }, async ({ req, body }) => {
    const boundTo = await passwordLoginOrigin(services, req);
    const guess = { ip: req.ip, name: body.username, audit: 'LOGIN_REST', log: req.log };
    const oid = await guessPassword(services.auth.bans, guess, () => services.auth.checkPassword(body.username, body.password));
    if (oid === undefined) throw fail(401, 'Invalid credentials');
    req.log.info({ audit: 'LOGIN_REST', user: body.username, ip: req.ip, outcome: 'ok' }, 'bearer token issued');
    const { secret, grant, saved } = await issueBearer(services, oid, body.username, boundTo);
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
