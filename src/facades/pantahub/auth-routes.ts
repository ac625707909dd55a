/**
 * POST /auth/login: `{username, password}` → `{"token": ...}`. A user gives
 * its cced User name and password; a device gives `prn:::devices:/<id>` and
 * its secret. Failures are one 401 whichever part was wrong, counted toward
 * the bans like every password guess. From a device-class address only
 * devices may log in. GET /auth/login: the holder of a live token swaps it
 * for a new one (the old one ends), so a client that keeps refreshing never
 * sends its password again.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { guessPassword } from '../../auth/password-guess.js';
import { bearerOf } from '../../auth/credentials/bearer.js';
import { DEVICE_PRN, issuePantahubToken } from '../../auth/credentials/pantahub-token.js';
import { deviceLogin } from '../../devices/pantahub.js';
import { PantahubError } from '../../errors.js';
import { PantahubReply } from './replies.js';
import { pantahubCaller } from './caller.js';
import { loginReply, pantahubDoc } from './schemas.js';

const loginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function authRoutes(route: Router, s: Services): void {
  const loginDoc = pantahubDoc('Log in a user (its name and password) or a device (prn:::devices:/<id> and its secret)', loginReply, {
    401: 'Incorrect Username or Password (whichever part was wrong)',
    403: 'A user logging in from a device_access address',
    429: 'Too many failed logins of this name from this address, or from this address (Retry-After)',
  });
  route('POST', '/auth/login', { access: 'public', door: 'device', body: loginBody, doc: loginDoc }, async ({ req, body }) => {
    const isDevice = body.username.startsWith(DEVICE_PRN);
    if (!isDevice && req.origin === 'device') throw new PantahubReply(403, 'Forbidden');
    const check = isDevice
      ? async () => (await deviceLogin(s.store, body.username.slice(DEVICE_PRN.length), body.password))?.oid
      : () => s.auth.checkPassword(body.username, body.password);
    const oid = await guessPassword(s.auth.bans, { ip: req.ip, name: body.username, audit: 'LOGIN_PANTAHUB', log: req.log }, check);
    if (oid === undefined) throw new PantahubError('pantahub.bad-login');
    req.log.info({ audit: 'LOGIN_PANTAHUB', user: body.username, ip: req.ip, outcome: 'ok' }, 'pantahub token issued');
    const { secret, saved } = await issuePantahubToken(s.auth, s.config.session_lifetime, oid, body.username);
    await saved;
    return { token: secret };
  });

  const refreshDoc = pantahubDoc('Swap a live Pantahub token for a new one (the old one ends); a user or a device', loginReply, {
    401: 'No token, an unknown or expired one, or one of a device that no longer exists',
  });
  route('GET', '/auth/login', { access: 'pantahub-token', door: 'device', doc: refreshDoc }, async ({ req, who: principal }) => {
    const who = pantahubCaller(principal);
    // A device deleted since its login holds a token that names nothing: it is refreshed no more.
    if (who.deviceOid !== undefined && !await s.store.exists(who.deviceOid)) throw new PantahubReply(401, 'Not Authorized');
    // The same identity as the token sent (the chain has just checked it): its user's oid and name, or the device's.
    const sent = bearerOf(req.headers)!;
    const { userOid, userName } = (await s.auth.grants.lookup(sent))!;
    const { secret: fresh, saved } = await issuePantahubToken(s.auth, s.config.session_lifetime, userOid, userName);
    await saved;
    await s.auth.grants.revoke(sent);
    req.log.info({ audit: 'LOGIN_PANTAHUB', user: userName, ip: req.ip, outcome: 'refreshed' }, 'pantahub token refreshed');
    return { token: fresh };
  });
}
