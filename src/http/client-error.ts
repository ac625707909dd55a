/**
 * Requests node:http refuses before any route runs: 408 (headers or the
 * whole request too slow), 431 (headers too large), 400 (not HTTP). Written
 * on the socket, as fastify's default handler does, with its JSON bodies,
 * except that a HEAD request (or one whose method cannot be read from the
 * bytes at hand) gets no body: a body after a HEAD reply would be read as the
 * start of the next response.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

type ClientError = Error & { code?: string; rawPacket?: Buffer };

const REFUSALS: Record<string, { status: number; message: string; label: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'Client Timeout', label: 'timeout' },
  HPE_HEADER_OVERFLOW: { status: 431, message: 'Exceeded maximum allowed HTTP header size', label: 'header_overflow' },
};
const OTHER = { status: 400, message: 'Client Error', label: 'error' };

/** The request's method when the bytes at hand start with a request line; undefined when they do not. */
export function methodOf(raw: Buffer | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const m = /^([A-Z]{1,20}) /.exec(raw.subarray(0, 24).toString('latin1'));
  return m?.[1];
}

export function clientErrorHandler(this: FastifyInstance, err: ClientError, socket: Socket): void {
  // A reset or already destroyed socket: nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message, label } = REFUSALS[err.code ?? ''] ?? OTHER;
  this.log.trace({ err }, `client ${label}`);
  if (socket.writable) {
    const method = methodOf(err.rawPacket);
    const body = method === undefined || method === 'HEAD' ? '' : JSON.stringify({ error: STATUS_CODES[status], message, statusCode: status });
    const type = body === '' ? '' : 'Content-Type: application/json\r\n';
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${type}\r\n${body}`);
  }
  socket.destroy(err);
}
