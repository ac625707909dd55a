/**
 * /devices: self-registration, registration by a user, claiming with the
 * challenge, the caller's list and one device. The rules are the domain's
 * (src/devices/pantahub.ts); here only the seed's shapes.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { claimDevice, ownedDevices, registerDevice, visibleDevice } from '../../devices/pantahub.js';
import { callerOf, userOf } from './caller.js';
import { presentDevice } from './replies.js';

const meta = z.record(z.string().max(256), z.json()).refine((m) => JSON.stringify(m).length <= 65536, 'at most 64 KiB of JSON');

const registerBody = z
  .object({ secret: z.string().min(1).max(1024).optional(), 'device-meta': meta.optional() })
  .optional()
  .transform((b) => b ?? {});

const idParams = z.object({ id: z.string().max(64) });
const claimQuery = z.strictObject({ challenge: z.string().min(1).max(64) });

export function deviceRoutes(route: Router, s: Services): void {
  const { store, writer } = s;
  const ttlMs = () => s.config.pantahub_challenge_ttl * 1000;

  for (const url of ['/devices', '/devices/']) {
    route('POST', url, { access: 'public', door: 'device', body: registerBody }, async ({ req, body }) => {
      const who = await callerOf(s, req);
      // A device chose no secret: one is drawn for it, shown in this reply only.
      const secret = body.secret ?? randomBytes(12).toString('base64url');
      const d = await registerDevice(store, writer, { ...(who.user !== undefined ? { owner: who.user } : {}), secret, ...(body['device-meta'] ? { deviceMeta: body['device-meta'] } : {}) }, ttlMs());
      return { ...presentDevice(d, true), secret };
    });

    route('GET', url, { access: 'public' }, async ({ req }) => ownedDevices(store, await userOf(s, req)).map((d) => presentDevice(d)));
  }

  route('GET', '/devices/:id', { access: 'public', door: 'device', params: idParams }, async ({ req, params }) => {
    const who = await callerOf(s, req);
    const d = visibleDevice(store, params.id, who);
    // The device itself reads its challenge, to show its user.
    return presentDevice(d, who.deviceOid === d.oid);
  });

  route('PUT', '/devices/:id', { access: 'public', params: idParams, query: claimQuery }, async ({ req, params, query }) => {
    const user = await userOf(s, req);
    return presentDevice(await claimDevice(store, writer, params.id, user, query.challenge), true);
  });
}
