/**
 * A connection closed while its client may still be sending (a reply sent
 * before the request's body was read whole) ends in two steps, as RFC 9112
 * §9.6 describes: the reply and a FIN first, then whatever the client still
 * sends is read and thrown away until it closes its side, for at most
 * LINGER_MS and about LINGER_BYTES. node's own end (destroySoon) closes the
 * socket as soon as the reply is handed to the kernel; bytes of the body that
 * arrive after that make the kernel answer with a reset, and a reset takes
 * with it every byte of the reply the client has not read yet.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a closing connection may keep reading. */
export const LINGER_MS = 2_000;
/** How much it may read (checked every LINGER_CHECK_MS, so it may read what arrives in one such span more). */
export const LINGER_BYTES = 1024 * 1024;
const LINGER_CHECK_MS = 10;

/** The connections lingering now, each with its bounds: one timer checks them all. */
const lingering = new Map<Socket, { until: number; maxRead: number }>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = Date.now();
  for (const [socket, bound] of lingering) if (now >= bound.until || socket.bytesRead >= bound.maxRead) socket.destroy();
}

function watch(socket: Socket): void {
  lingering.set(socket, { until: Date.now() + LINGER_MS, maxRead: socket.bytesRead + LINGER_BYTES });
  sweeper ??= setInterval(sweep, LINGER_CHECK_MS).unref();
  socket.once('close', () => {
    lingering.delete(socket);
    if (lingering.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  });
}

/** Makes node's close of `request`'s socket after its reply (destroySoon) a lingering one. */
export function lingerOnClose(request: IncomingMessage): void {
  const socket = request.socket;
  const nodeDestroySoon = Object.getPrototypeOf(socket).destroySoon as Socket['destroySoon'];
  if (socket.destroySoon !== nodeDestroySoon) return;
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (!this.writable) {
      nodeDestroySoon.call(this);
      return;
    }
    this.end();
    // A body stream that stopped half-way (its reader refused it) holds the socket's reading: let it flow to nobody.
    request.unpipe();
    request.removeAllListeners('data');
    request.resume();
    // The client's FIN: it has read the reply, or given up.
    this.once('end', () => this.destroy());
    watch(this);
  };
}
