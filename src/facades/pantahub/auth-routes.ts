/**
 * POST /auth/login: `{username, password}` → `{"token": ...}`. A user gives
 * its cced User name and password; a device gives `prn:::devices:/<id>` and
 * its secret. Failures are one 401 whichever part was wrong, counted toward
 * the bans like every password guess. From a device-class address only
 * devices may log in.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { claim } from '../../auth/claims.js';
import { auditFailedClaim } from '../../auth/audit.js';
import { DEVICE_PRN, issuePantahubToken } from '../../auth/credentials/pantahub-token.js';
import { deviceLogin } from '../../devices/pantahub.js';
import { PantahubError } from '../../errors.js';
import { PantahubReply } from './replies.js';

const loginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function authRoutes(route: Router, s: Services): void {
  route('POST', '/auth/login', { access: 'public', door: 'device', body: loginBody }, async ({ req, body }) => {
    const isDevice = body.username.startsWith(DEVICE_PRN);
    if (!isDevice && req.origin === 'device') throw new PantahubReply(403, 'Forbidden');
    const c = claim('password', req.ip, body.username);
    s.auth.bans.refuse(c);
    let oid: number | undefined;
    if (isDevice) oid = (await deviceLogin(s.store, body.username.slice(DEVICE_PRN.length), body.password))?.oid;
    else oid = await s.auth.checkPassword(body.username, body.password);
    if (oid === undefined) {
      auditFailedClaim(req.log, s.auth.bans, 'LOGIN_PANTAHUB', c);
      throw new PantahubError('pantahub.bad-login');
    }
    req.log.info({ audit: 'LOGIN_PANTAHUB', user: body.username, ip: req.ip, outcome: 'ok' }, 'pantahub token issued');
    return { token: issuePantahubToken(s.auth, s.config.session_lifetime, oid, body.username).secret };
  });
}
