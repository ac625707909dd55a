/**
 * A reply sent before its request's body was read whole (a 429 for bodies in
 * flight, a 413, the gate's 403 or ban, a 401 for missing header credentials)
 * closes the connection once written. Otherwise node keeps the connection for
 * its next request and first reads the rest of this body to throw it away:
 * every refused 1 MiB body would still cost its whole read, and a flood of
 * them keeps the event loop busy (node accepts one new connection per loop
 * turn, so a busy loop leaves new clients waiting in the listen queue).
 * The close lingers (lingering-close.ts), bounded, so the client still gets
 * the whole reply.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { lingerOnClose } from './lingering-close.js';

/** Does the request announce a body? (A request without one may be answered before node marks it complete.) */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length']) > 0;
}

export function closeAfterUnreadBody(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && hasBody(request.headers)) {
      reply.header('connection', 'close');
      lingerOnClose(request.raw);
    }
    done(null, payload);
  });
}
