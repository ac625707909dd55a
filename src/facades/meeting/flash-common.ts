/** What the firmware-file paths share: their path parameters and their audit line. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SEGMENT } from '../../flash/names.js';
import type { FileInfo } from '../../flash/storage.js';
import { fail } from './replies.js';

const segment = z.string().regex(SEGMENT, 'invalid name');

/** /api/flash/{device_type}/{distribution}/{filename}: every segment checked before any path is built. */
export const fileParams = z.object({ type: segment, dist: segment, file: segment });

/** One audit line per firmware operation: who, what, size, sha256. */
export function auditFlash(req: FastifyRequest, op: string, who: string, f: { type: string; dist: string } & FileInfo, extra: object = {}): void {
  req.log.info({ audit: op, by: who, device_type: f.type, distribution: f.dist, file: f.name, size: f.size, sha256: f.sha256, ...extra }, 'flash');
}

/** What the multipart parser (busboy) throws, as plain Errors, for a body that is not the multipart it claims to be. */
const MALFORMED_MULTIPART = /^(Multipart: Boundary not found|Boundary required|Unexpected end of multipart data|Missing Content-Type-header\.|Unsupported Content-Type\.)$/;

/**
 * An upload's parse error as the client's mistake it is (400), where the
 * parser threw a plain Error that would otherwise answer 500; anything else
 * (a full disk while staging, a limit the plugin refused with its own status) as it was.
 */
export function asUploadError(err: unknown): unknown {
  const plain = err instanceof Error && (err as { statusCode?: unknown }).statusCode === undefined && (err as { code?: unknown }).code === undefined;
  return plain && MALFORMED_MULTIPART.test(err.message) ? fail(400, 'Malformed multipart body') : err;
}
