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
import type { Services } from '../../services.js';
import type { FlashStorage } from '../../flash/storage.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import type { Principal } from './auth.js';
import { auditFlash, fileParams } from './flash-common.js';
import { sendFile } from './send-file.js';

export { DEVICE_KEY_HEADER } from '../kit/principals.js';

/** A device may fetch only its own firmware, and only while authorized; an admin any file. */
async function mayDownload(services: Services, who: Principal, type: string, dist: string): Promise<void> {
  if (who.deviceOid === undefined) return;
  const v = await services.store.rawValues(who.deviceOid);
  if (v.authorized !== '1') throw fail(403, 'Device not authorized');
  if (v.device_type !== type || v.distribution !== dist) throw fail(403, 'Not this device\'s distribution');
}

export function downloadRoute(route: Router, services: Services, storage: FlashStorage): void {
  route('GET', '/api/flash/:type/:dist/:file', { access: 'device-header', params: fileParams }, async ({ req, reply, who, params }) => {
    await mayDownload(services, who, params.type, params.dist);
    const file = await storage.open(params.type, params.dist, params.file);
    if (file === undefined) throw fail(404, 'File not found');
    return sendFile(req, reply, file, (r) => auditFlash(req, 'FLASH_DOWNLOAD', who.label, { type: params.type, dist: params.dist, ...file }, r));
  });
}
