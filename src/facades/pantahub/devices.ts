/**
 * /devices: self-registration, registration by a user, claiming with the
 * challenge, the caller's list and one device. The rules are the domain's
 * (src/devices/pantahub.ts); here only the seed's shapes.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { claimDevice, deleteDevice, ownedDevices, registerDevice, renameDevice, setMeta, setPublic, setSecret, visibleDevice, type MetaKind } from '../../devices/pantahub.js';
import { callerOf, deviceOf, userOf } from './caller.js';
import { PantahubReply, presentDevice } from './replies.js';

const meta = z.record(z.string().max(256), z.json()).refine((m) => JSON.stringify(m).length <= 65536, 'at most 64 KiB of JSON');

const registerBody = z
  .object({ secret: z.string().min(1).max(1024).optional(), 'device-meta': meta.optional() })
  .optional()
  .transform((b) => b ?? {});

const idParams = z.object({ id: z.string().max(64) });
const claimQuery = z.strictObject({ challenge: z.string().min(1).max(64).optional() });
const secretBody = z.object({ secret: z.string().min(1).max(1024).optional() }).optional();
const nickBody = z.object({ nick: z.string().min(1).max(64) });

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

  // With a challenge: a claim (body ignored). Without: the owner's update (a new secret, shown in this reply only).
  route('PUT', '/devices/:id', { access: 'public', params: idParams, query: claimQuery, body: secretBody }, async ({ req, params, query, body }) => {
    const user = await userOf(s, req);
    if (query.challenge !== undefined) return presentDevice(await claimDevice(store, writer, params.id, user, query.challenge), true);
    if (body?.secret === undefined) throw new PantahubReply(400, 'Nothing to update');
    return { ...presentDevice(await setSecret(store, writer, params.id, { user }, body.secret)), secret: body.secret };
  });

  for (const url of ['/devices/:id', '/devices/:id/']) {
    route('PATCH', url, { access: 'public', params: idParams, body: nickBody }, async ({ req, params, body }) =>
      presentDevice(await renameDevice(store, writer, params.id, { user: await userOf(s, req) }, body.nick)),
    );
  }

  route('DELETE', '/devices/:id', { access: 'public', params: idParams }, async ({ req, params }) =>
    presentDevice(await deleteDevice(store, writer, params.id, { user: await userOf(s, req) })),
  );

  for (const [method, value] of [['PUT', true], ['DELETE', false]] as const) {
    route(method, '/devices/:id/public', { access: 'public', params: idParams }, async ({ req, params }) =>
      presentDevice(await setPublic(store, writer, params.id, { user: await userOf(s, req) }, value)),
    );
  }

  route('GET', '/devices/:id/user-meta', { access: 'public', params: idParams }, async ({ req, params }) => {
    const user = await userOf(s, req);
    const d = visibleDevice(store, params.id, { user });
    if (d.owner !== user) throw new PantahubReply(403, 'Forbidden');
    return d.userMeta;
  });

  // user-meta: the owner; device-meta: the device itself (its own token). PUT replaces, PATCH merges (null removes a key).
  for (const kind of ['user', 'device'] as const satisfies readonly MetaKind[]) {
    for (const method of ['PUT', 'PATCH'] as const) {
      route(method, `/devices/:id/${kind}-meta`, { access: 'public', ...(kind === 'device' ? { door: 'device' as const } : {}), params: idParams, body: meta }, async ({ req, params, body }) => {
        const who = kind === 'user' ? { user: await userOf(s, req) } : await deviceOf(s, req);
        return setMeta(store, writer, params.id, who, kind, body, method === 'PATCH');
      });
    }
  }
}
