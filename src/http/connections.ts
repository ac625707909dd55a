/**
 * Open connections per peer address: one address may hold at most
 * `perIp` sockets; the next is destroyed as soon as it is accepted, before a
 * byte of it is read, so slow or stalled clients cannot pile up request
 * buffers. The total is node's own `server.maxConnections` (set by the
 * caller). Counted by the socket's address: behind a trusted proxy every
 * client shares the proxy's, so proxies are exempt and only the total holds them.
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';

export interface ConnectionCap {
  perIp: number;
  /** Addresses not counted (trusted proxies). */
  exempt: (ip: string) => boolean;
  log: FastifyBaseLogger;
}

export function capConnectionsPerIp(server: Server, { perIp, exempt, log }: ConnectionCap): void {
  const open = new Map<string, number>();
  /** Addresses already logged as at their cap: one line per episode, not one per refused socket. */
  const told = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress;
    if (ip === undefined || exempt(ip)) return;
    const n = open.get(ip) ?? 0;
    if (n >= perIp) {
      if (!told.has(ip)) {
        told.add(ip);
        log.warn({ ip, open: n }, 'too many connections from one address; closing the new ones');
      }
      socket.destroy();
      return;
    }
    open.set(ip, n + 1);
    socket.once('close', () => {
      const left = open.get(ip)! - 1;
      if (left === 0) open.delete(ip);
      else open.set(ip, left);
      if (left < perIp) told.delete(ip);
    });
  });
}
