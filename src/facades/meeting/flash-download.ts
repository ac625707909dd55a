/**
 * GET /api/flash/{device_type}/{distribution}/{filename}: a firmware file,
 * streamed from disk, with Content-Length, ETag (the quoted sha256),
 * If-None-Match (304), one byte range (206, 416) and If-Range, so a device on
 * a bad link resumes where it stopped.
 *
 * Who: an admin's bearer token, or a device naming itself with X-Device-Key
 * and proving it with X-Device-Token (the token alone would have to be looked
 * up by its value; the key lets it be compared in constant time as on every
 * device path), authorized, of this type and distribution. A download does not
 * consume a flash token: POST .../flash-request does, once, and a resumed
 * download must not cost another.
 */
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { FlashStorage } from '../../flash/storage.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import { bearerSecret, deviceOrAdmin, type Principal } from './auth.js';
import { auditFlash, fileParams } from './flash-common.js';
import { sendFile } from './send-file.js';

export const DEVICE_KEY_HEADER = 'x-device-key';

async function downloader(services: Services, req: FastifyRequest, type: string, dist: string): Promise<Principal> {
  const key = req.headers[DEVICE_KEY_HEADER];
  if (bearerSecret(req) === undefined && typeof req.headers['x-device-token'] === 'string' && typeof key !== 'string') throw fail(401, 'Missing X-Device-Key');
  const who = await deviceOrAdmin(services, req, typeof key === 'string' ? key : '');
  if (who.deviceOid === undefined) return who;
  const v = services.store.rawValues(who.deviceOid);
  if (v.authorized !== '1') throw fail(403, 'Device not authorized');
  if (v.device_type !== type || v.distribution !== dist) throw fail(403, 'Not this device\'s distribution');
  return who;
}

export function downloadRoute(route: Router, services: Services, storage: FlashStorage): void {
  route('GET', '/api/flash/:type/:dist/:file', { access: 'public', door: 'device', params: fileParams }, async ({ req, reply, params }) => {
    const who = await downloader(services, req, params.type, params.dist);
    req.cceCaller = who.label;
    const file = await storage.open(params.type, params.dist, params.file);
    if (file === undefined) throw fail(404, 'File not found');
    return sendFile(req, reply, file, (r) => auditFlash(req, 'FLASH_DOWNLOAD', who.label, { type: params.type, dist: params.dist, ...file }, r));
  });
}
