/**
 * Firmware files of the Meeting API (seeds/000, "Flash"): upload, list,
 * delete, download. Its own encapsulated plugin, so @fastify/multipart (with
 * explicit limits) parses multipart for these paths only; errors go through
 * the Meeting facade's handler ({"error": "..."}) it inherits.
 *
 * Credentials: upload and delete need a systemAdministrator's bearer token;
 * distribution-files the device itself (X-Device-Token) or an admin; a
 * download an admin, or an authorized device of that type and distribution
 * (X-Device-Key + X-Device-Token, flash-download.ts).
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import type { Services } from '../../services.js';
import { FlashStorage, type StagedFile } from '../../flash/storage.js';
import { extensionOf, isSegment } from '../../flash/names.js';
import { filesOfDevice, findDistribution, syncFiles } from '../../flash/catalog.js';
import { router } from './route.js';
import { fail } from './replies.js';
import { keyParams } from './schemas.js';
import { findDeviceType, requireDevice } from '../../devices/lookups.js';
import { downloadRoute } from './flash-download.js';
import { asUploadError, auditFlash, fileParams } from './flash-common.js';

/** Room for the multipart framing around the file (boundaries, part headers, the two small fields). */
const MULTIPART_SLACK = 64 * 1024;

/** A refusal that leaves the request body unread: close the connection rather than read (or wait for) the rest. */
function closing(reply: FastifyReply, status: number, error: string) {
  reply.header('connection', 'close');
  return fail(status, error);
}

export default async function flashFiles(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { config, store } = services;
  // The folders follow the catalog through hooks the app installs (src/flash/catalog.ts watchCatalog).
  const storage = new FlashStorage(config.flash_storage_root);
  const allowed = new Set(config.flash_allowed_extensions.map((e) => e.replace(/^\./, '').toLowerCase()));

  await app.register(multipart, {
    // Our own checks see the client's name as sent: busboy would otherwise keep only its basename.
    preservePath: true,
    limits: { fileSize: config.flash_max_file_bytes, files: 1, fields: 4, parts: 6, fieldNameSize: 32, fieldSize: 256, headerPairs: 16 },
  });
  const route = router(app, services);

  const refuseWhileSuspended = () => {
    services.state.refuseWhileSuspended();
  };

  /** Checks a file part against the fields read before it, then streams it to a temp file. */
  async function stageFile(part: MultipartFile, fields: Map<string, string>, reply: FastifyReply): Promise<{ type: string; dist: string; staged: StagedFile }> {
    const type = fields.get('devicetype');
    const dist = fields.get('distribution');
    if (type === undefined || dist === undefined) throw closing(reply, 400, 'devicetype and distribution must come before file');
    if (part.fieldname !== 'file') throw closing(reply, 400, `Unexpected file field ${JSON.stringify(part.fieldname.slice(0, 32))}`);
    if (!isSegment(type)) throw closing(reply, 400, 'Invalid devicetype');
    if (!isSegment(dist)) throw closing(reply, 400, 'Invalid distribution');
    const name = part.filename;
    if (!isSegment(name)) throw closing(reply, 400, 'Invalid file name');
    if (!allowed.has(extensionOf(name))) throw closing(reply, 400, `File extension not allowed (allowed: ${[...allowed].join(', ')})`);
    if (await findDeviceType(store, type) === undefined) throw closing(reply, 404, 'Unknown device type');
    if ((await findDistribution(store, type, dist)) === undefined) throw closing(reply, 404, 'Unknown distribution');
    const staged = await storage.stage(type, dist, name, part.file);
    if (part.file.truncated) {
      await staged.discard();
      throw closing(reply, 413, 'File too large');
    }
    return { type, dist, staged };
  }

  route('POST', '/api/flash/upload', { access: 'admin' }, async ({ req, reply, who }) => {
    refuseWhileSuspended();
    if (!req.isMultipart()) throw closing(reply, 400, 'multipart/form-data expected');
    const declared = Number(req.headers['content-length']);
    if (declared > config.flash_max_file_bytes + MULTIPART_SLACK) throw closing(reply, 413, 'File too large');
    const fields = new Map<string, string>();
    let upload: Awaited<ReturnType<typeof stageFile>> | undefined;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'file') upload = await stageFile(part, fields, reply);
        // A value cut at fieldSize is no valid name: keep it invalid rather than shortened.
        else fields.set(part.fieldname, part.valueTruncated ? '' : String(part.value));
      }
    } catch (err) {
      await upload?.staged.discard();
      // A file over the limit was refused by stageFile; what is left (cut body, parts limits) keeps multipart's status.
      if (!req.raw.complete) reply.header('connection', 'close');
      throw asUploadError(err);
    }
    if (upload === undefined) throw fail(400, fields.has('devicetype') && fields.has('distribution') ? 'Missing file' : 'Missing devicetype, distribution or file');
    const { type, dist, staged } = upload;
    await staged.commit();
    auditFlash(req, 'FLASH_UPLOAD', who.label, { type, dist, ...staged });
    await syncFiles(services, storage, type, dist);
    return { success: true, file: staged.name, sha256: staged.sha256, size: staged.size };
  });

  route('GET', '/api/flash/:key/distribution-files', { access: 'device', params: keyParams }, async ({ who, params }) => {
    return await filesOfDevice(services, storage, who.deviceOid ?? await requireDevice(store, params.key));
  });

  route('DELETE', '/api/flash/:type/:dist/:file', { access: 'admin', params: fileParams }, async ({ req, who, params }) => {
    refuseWhileSuspended();
    const gone = await storage.remove(params.type, params.dist, params.file);
    if (gone === undefined) throw fail(404, 'File not found');
    auditFlash(req, 'FLASH_DELETE', who.label, { type: params.type, dist: params.dist, ...gone });
    await syncFiles(services, storage, params.type, params.dist);
    return { success: true };
  });

  downloadRoute(route, services, storage);
}
