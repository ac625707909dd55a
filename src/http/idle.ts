/**
 * connection_timeout closes connections that are idle on the wire: a client
 * that connected and sent nothing, or stopped half-way through its request.
 * node's default on a socket timeout destroys the socket whatever it is doing,
 * which would also cut a request the daemon itself is still working on (a
 * COMMIT hashing many passwords sends nothing for a while). So the timeout is
 * handled here: a socket whose request has been read whole and not yet
 * answered is left alone (the timer starts again with its next traffic).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export function closeIdleConnections(app: FastifyInstance): void {
  /** Sockets with a request read whole and not yet answered. */
  const working = new WeakSet<Socket>();
  // preHandler: the body (if any) has been parsed; onResponse: the reply is written.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.raw.complete) working.add(request.raw.socket);
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    working.delete(request.raw.socket);
    done();
  });
  // A 'timeout' listener replaces node's destroy-on-timeout.
  app.server.on('timeout', (socket: Socket) => {
    if (!working.has(socket)) socket.destroy();
  });
}
