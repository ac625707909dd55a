/** Raw TCP clients for the server's time and connection limits: what they got back, and when the server closed them. */
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  socket: Socket;
  /** Everything the server sent. */
  received(): Buffer;
  /** Resolves when the server closed the connection (or it failed), rejecting after `waitMs`. */
  closed(waitMs?: number): Promise<void>;
  isClosed(): boolean;
}

/** Connects to 127.0.0.1:port (from `localAddress` when given); resolves once connected. */
export function openSocket(port: number, localAddress?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    let done = false;
    const ended = new Promise<void>((res) => socket.once('close', () => { done = true; res(); }));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset by the server is one way of closing: not a test failure.
    socket.on('error', () => {});
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        isClosed: () => done,
        closed: (waitMs = 15_000) =>
          new Promise<void>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`still open after ${waitMs} ms`)), waitMs);
            void ended.then(() => { clearTimeout(timer); res(); });
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** Opens `n` connections one after the other (so the server accepts them in this order). */
export async function openSockets(port: number, n: number, localAddress?: string): Promise<RawSocket[]> {
  const out: RawSocket[] = [];
  for (let i = 0; i < n; i++) out.push(await openSocket(port, localAddress));
  return out;
}

/** A request line and headers; `body` is the part of the body actually sent. */
export function partialPost(path: string, declaredLength: number, body: string, extra: Record<string, string> = {}): string {
  const headers = { host: 'localhost', 'content-type': 'application/json', 'content-length': String(declaredLength), ...extra };
  return `POST ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** The status code of the first response in `raw`, or undefined when nothing came back. */
export function statusOf(raw: Buffer): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/** What follows the first response's header block. */
export function afterHeaders(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? '' : text.slice(end + 4);
}
