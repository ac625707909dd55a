/** Sending a stored file: one place for Content-Length, ETag, 304, ranges (206/416) and If-Range. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OpenFile } from '../../flash/storage.js';
import { noneMatch, parseRange, rangeStillValid, type ByteRange } from '../../flash/ranges.js';
import { fail } from './replies.js';

/**
 * Streams an open file with Content-Length, ETag (the quoted sha256),
 * If-None-Match (304), one byte range (206, 416) and If-Range; `sent` is told
 * the range actually sent. Closes the file's handle in every case.
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, file: OpenFile, sent: (r: ByteRange) => void) {
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
