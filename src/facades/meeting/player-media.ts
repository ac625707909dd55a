/**
 * What a player's agent calls (seeds/000, "Workflow complet", steps 3 and 4):
 * its playlist, each media of it, and clear-cache before a resync. Each path
 * names the device in its URL: the device itself (X-Device-Token) or an
 * admin's bearer token may call it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { SEGMENT } from '../../flash/names.js';
import type { OpenFile } from '../../flash/storage.js';
import { noneMatch, parseRange, rangeStillValid, type ByteRange } from '../../flash/ranges.js';
import type { PlayerMedia } from '../../player/media.js';
import type { Router } from './route.js';
import type { Principal } from './auth.js';
import { fail } from './replies.js';
import { keyParams } from './schemas.js';
import { requireDevice } from './model.js';

const segment = z.string().regex(SEGMENT, 'invalid name');
const mediaParams = z.object({ key: segment, dir: segment, file: segment });

/** One audit line per player operation: who, which device, what (file, size, sha256 or counts). */
export function auditPlayer(req: FastifyRequest, op: string, who: string, deviceKey: string, what: object): void {
  req.log.info({ audit: op, by: who, device_key: deviceKey, ...what }, 'player');
}

/** The stored key of the device the path names: the authenticated device itself, or (for an admin) 404 if unknown. */
function deviceKeyOf(services: Services, who: Principal, key: string): string {
  return services.store.rawValues(who.deviceOid ?? requireDevice(services.store, key)).device_key!;
}

/**
 * Streams an open file with Content-Length, ETag (the quoted sha256),
 * If-None-Match (304), one byte range (206, 416) and If-Range; `sent` is told
 * the range actually sent. Closes the file's handle in every case.
 */
async function sendFile(req: FastifyRequest, reply: FastifyReply, file: OpenFile, sent: (r: ByteRange) => void) {
  const etag = `"${file.sha256}"`;
  reply.header('etag', etag).header('accept-ranges', 'bytes');
  const ifRange = req.headers['if-range'] as string | undefined;
  const range = rangeStillValid(ifRange, etag) ? parseRange(req.headers.range, file.size) : undefined;
  if (noneMatch(req.headers['if-none-match'], etag)) {
    await file.handle.close();
    return reply.code(304).send();
  }
  if (range === 'unsatisfiable') {
    await file.handle.close();
    reply.header('content-range', `bytes */${file.size}`);
    throw fail(416, 'Range not satisfiable');
  }
  const whole = { start: 0, end: file.size - 1 };
  const { start, end } = range ?? whole;
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
  sent({ start, end });
  reply.type('application/octet-stream').header('content-length', end - start + 1);
  if (file.size === 0) {
    await file.handle.close();
    return reply.send(Buffer.alloc(0));
  }
  // The handle is the one whose size and sha256 were read: a replacement meanwhile does not mix two files.
  return reply.send(file.handle.createReadStream({ start, end, autoClose: true, highWaterMark: 256 * 1024 }));
}

export function playerMediaRoutes(route: Router, services: Services, media: PlayerMedia): void {
  route('GET', '/api/player/playlist/:key', { access: 'device', params: keyParams }, async ({ who, params }) => {
    return media.playlist(deviceKeyOf(services, who, params.key));
  });

  route('GET', '/api/player/media/:key/:dir/:file', { access: 'device', params: mediaParams }, async ({ req, reply, who, params }) => {
    const key = deviceKeyOf(services, who, params.key);
    const file = await media.storage.open(key, params.dir, params.file);
    if (file === undefined) throw fail(404, 'Media not found');
    return sendFile(req, reply, file, (r) =>
      auditPlayer(req, 'PLAYER_DOWNLOAD', who.label, key, { dir: params.dir, file: file.name, size: file.size, sha256: file.sha256, ...r }),
    );
  });

  route('POST', '/api/player/clear-cache/:key', { access: 'device', params: keyParams }, async ({ req, who, params }) => {
    if (services.state.suspended !== undefined) throw fail(503, 'Writes are suspended');
    const key = deviceKeyOf(services, who, params.key);
    const removed = await media.clear(key);
    auditPlayer(req, 'PLAYER_CLEAR', who.label, key, removed);
    return { ok: true };
  });
}
