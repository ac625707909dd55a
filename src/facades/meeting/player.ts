/**
 * The player paths of the Meeting API (seeds/000, "Player / Digital Signage"):
 * upload here, playlist / media / clear-cache in player-media.ts. Its own
 * encapsulated plugin, so @fastify/multipart (with explicit limits) parses
 * multipart for the upload only; errors go through the Meeting facade's
 * handler ({"error": "..."}) it inherits.
 *
 * The document converts uploads with ffmpeg; cced stores them as sent (no
 * transcoding in the daemon) and only accepts `player_allowed_extensions`.
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { isSegment } from '../../flash/names.js';
import { PlayerMedia, UPLOAD_DIR, type StagedMedia } from '../../player/media.js';
import { router } from './route.js';
import { fail, parseWith } from './replies.js';
import { asUploadError } from './flash-common.js';
import { findDevice } from '../../devices/lookups.js';
import { auditPlayer, playerMediaRoutes } from './player-media.js';

/** Room for the multipart framing around the video (boundaries, part headers, the four small fields). */
const MULTIPART_SLACK = 64 * 1024;

/** The document's upload fields besides the video; `order` arrives as text. */
const uploadFields = z.strictObject({
  device_key: z.string(),
  mode: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1 to 32 letters, digits, _ or -').optional(),
  order: z.string().regex(/^\d{1,6}$/, 'expected a whole number below 1000000').transform(Number).optional(),
  title: z.string().min(1).max(200).optional(),
});

/** A refusal that leaves the request body unread: close the connection rather than read (or wait for) the rest. */
function refuseUnread(reply: FastifyReply, status: number, error: string) {
  reply.header('connection', 'close');
  return fail(status, error);
}

export default async function playerFiles(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { config, store } = services;
  const allowed = new Set(config.player_allowed_extensions.map((e) => e.replace(/^\./, '').toLowerCase()));
  const media = new PlayerMedia(config.player_storage_root, allowed);

  await app.register(multipart, {
    // Our own checks see the client's name as sent: busboy would otherwise keep only its basename.
    preservePath: true,
    limits: { fileSize: config.player_max_file_bytes, files: 1, fields: 4, parts: 5, fieldNameSize: 32, fieldSize: 256, headerPairs: 16 },
  });
  const route = router(app, services);

  /** Checks the video part against the device_key read before it, then streams it to a temp file. */
  async function stageVideo(part: MultipartFile, fields: Map<string, string>, reply: FastifyReply): Promise<{ key: string; staged: StagedMedia }> {
    const given = fields.get('device_key');
    if (given === undefined) throw refuseUnread(reply, 400, 'device_key must come before video');
    if (part.fieldname !== 'video') throw refuseUnread(reply, 400, `Unexpected file field ${JSON.stringify(part.fieldname.slice(0, 32))}`);
    const name = part.filename;
    if (!isSegment(name)) throw refuseUnread(reply, 400, 'Invalid file name');
    if (!media.isAllowed(name)) throw refuseUnread(reply, 400, `File extension not allowed (allowed: ${[...allowed].join(', ')})`);
    const oid = await findDevice(store, given);
    if (oid === undefined) throw refuseUnread(reply, 404, 'Device not found');
    // The stored key names the folder (the schema keeps it a safe, upper-case name).
    const key = (await store.rawValues(oid)).device_key!;
    const staged = await media.stage(key, UPLOAD_DIR, name, part.file);
    if (part.file.truncated) {
      await staged.discard();
      throw refuseUnread(reply, 413, 'File too large');
    }
    return { key, staged };
  }

  route('POST', '/api/player/upload', { access: 'admin' }, async ({ req, reply, who }) => {
    services.state.refuseWhileSuspended();
    if (!req.isMultipart()) throw refuseUnread(reply, 400, 'multipart/form-data expected');
    if (Number(req.headers['content-length']) > config.player_max_file_bytes + MULTIPART_SLACK) throw refuseUnread(reply, 413, 'File too large');
    const fields = new Map<string, string>();
    let upload: Awaited<ReturnType<typeof stageVideo>> | undefined;
    let meta: z.output<typeof uploadFields>;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'file') upload = await stageVideo(part, fields, reply);
        // A value cut at fieldSize is no valid value: keep it invalid rather than shortened.
        else fields.set(part.fieldname, part.valueTruncated ? '' : String(part.value));
      }
      if (upload === undefined) throw fail(400, fields.has('device_key') ? 'Missing video' : 'Missing device_key or video');
      meta = parseWith(uploadFields, Object.fromEntries(fields), 'body');
    } catch (err) {
      await upload?.staged.discard();
      // What multipart refused itself (a cut body, a parts limit) keeps its status; an unread rest closes the connection.
      if (!req.raw.complete) reply.header('connection', 'close');
      throw asUploadError(err);
    }
    const { key, staged } = upload;
    const item = await media.add(key, staged, UPLOAD_DIR, meta);
    auditPlayer(req, 'PLAYER_UPLOAD', who.label, key, { dir: UPLOAD_DIR, file: item.file, size: item.size, sha256: item.sha256, hash: item.hash });
    return { ok: true, hash: item.hash, device_key: key, dir: item.dir, file: item.file, size: item.size, sha256: item.sha256 };
  });

  playerMediaRoutes(route, services, media);
}
