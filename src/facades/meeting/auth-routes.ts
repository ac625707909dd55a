/**
 * POST /api/auth/login: a user's name and password for a bearer token. The
 * minimal version the device paths' tests need; logout, me and the users
 * paths build on `issueBearer` (auth.ts).
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { issueBearer } from './auth.js';
import { fail } from './replies.js';

const loginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function authRoutes(route: Router, services: Services): void {
  route('POST', '/api/auth/login', { access: 'public', body: loginBody }, async ({ body }) => {
    const oid = await services.auth.checkPassword(body.username, body.password);
    // A Meeting user whose `authorized` flag is off may not log in.
    if (oid === undefined || services.store.rawValues(oid).authorized === '0') throw fail(401, 'Invalid credentials');
    const { secret, grant } = issueBearer(services, oid, body.username);
    return { success: true, token: secret, expires_at: new Date(grant.expires).toISOString() };
  });
}
