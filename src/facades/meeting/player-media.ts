/**
 * What a player's agent calls (seeds/000, "Workflow complet", steps 3 and 4):
 * its playlist, each media of it, and clear-cache before a resync. Each path
 * names the device in its URL: the device itself (X-Device-Token) or an
 * admin's bearer token may call it.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { SEGMENT } from '../../flash/names.js';
import { sendFile } from './send-file.js';
import type { PlayerMedia } from '../../player/media.js';
import type { Router } from './route.js';
import type { Principal } from './auth.js';
import { fail } from './replies.js';
import { keyParams } from './schemas.js';
import { requireDevice } from '../../devices/lookups.js';

const segment = z.string().regex(SEGMENT, 'invalid name');
const mediaParams = z.object({ key: segment, dir: segment, file: segment });

/** One audit line per player operation: who, which device, what (file, size, sha256 or counts). */
export function auditPlayer(req: FastifyRequest, op: string, who: string, deviceKey: string, what: object): void {
  req.log.info({ audit: op, by: who, device_key: deviceKey, ...what }, 'player');
}

/** The stored key of the device the path names: the authenticated device itself, or (for an admin) 404 if unknown. */
async function deviceKeyOf(services: Services, who: Principal, key: string): Promise<string> {
  return (await services.store.rawValues(who.deviceOid ?? await requireDevice(services.store, key))).device_key!;
}

export function playerMediaRoutes(route: Router, services: Services, media: PlayerMedia): void {
  route('GET', '/api/player/playlist/:key', { access: 'device', params: keyParams }, async ({ who, params }) => {
    return media.playlist(await deviceKeyOf(services, who, params.key));
  });

  route('GET', '/api/player/media/:key/:dir/:file', { access: 'device', params: mediaParams }, async ({ req, reply, who, params }) => {
    const key = await deviceKeyOf(services, who, params.key);
    const file = await media.storage.open(key, params.dir, params.file);
    if (file === undefined) throw fail(404, 'Media not found');
    return sendFile(req, reply, file, (r) =>
      auditPlayer(req, 'PLAYER_DOWNLOAD', who.label, key, { dir: params.dir, file: file.name, size: file.size, sha256: file.sha256, ...r }),
    );
  });

  route('POST', '/api/player/clear-cache/:key', { access: 'device', params: keyParams }, async ({ req, who, params }) => {
    services.state.refuseWhileSuspended();
    const key = await deviceKeyOf(services, who, params.key);
    const removed = await media.clear(key);
    auditPlayer(req, 'PLAYER_CLEAR', who.label, key, removed);
    return { ok: true };
  });
}
