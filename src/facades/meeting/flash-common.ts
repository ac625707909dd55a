/** What the firmware-file paths share: their path parameters and their audit line. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SEGMENT } from '../../flash/names.js';
import type { FileInfo } from '../../flash/storage.js';

const segment = z.string().regex(SEGMENT, 'invalid name');

/** /api/flash/{device_type}/{distribution}/{filename}: every segment checked before any path is built. */
export const fileParams = z.object({ type: segment, dist: segment, file: segment });

/** One audit line per firmware operation: who, what, size, sha256. */
export function auditFlash(req: FastifyRequest, op: string, who: string, f: { type: string; dist: string } & FileInfo, extra: object = {}): void {
  req.log.info({ audit: op, by: who, device_type: f.type, distribution: f.dist, file: f.name, size: f.size, sha256: f.sha256, ...extra }, 'flash');
}
