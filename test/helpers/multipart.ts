/**
 * multipart/form-data bodies built by hand and streamed over a real socket:
 * file contents come from generators (a 2 GiB body is never allocated), the
 * Content-Length can be declared (or left out: chunked), and the socket can be
 * destroyed after N bytes to simulate a cut upload.
 */
import { request as httpRequest } from 'node:http';
import { createHash } from 'node:crypto';
import type { HttpResult } from './daemon.js';

export type Content = Buffer | (() => AsyncIterable<Buffer>);

export type Part = { name: string; value: string } | { name: string; filename: string; content: Content; size: number };

const BOUNDARY = 'cced-test-boundary-7f3a9c';
const CRLF = '\r\n';

/** `size` bytes of a repeating pattern, in chunks of one reused buffer. */
export function pattern(size: number, seed = 7, chunk = 1 << 20): () => AsyncIterable<Buffer> {
  const block = Buffer.alloc(Math.min(chunk, Math.max(size, 1)), 0);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + seed) & 0xff;
  return async function* () {
    for (let left = size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  };
}

export async function sha256Of(content: Content): Promise<string> {
  const h = createHash('sha256');
  if (Buffer.isBuffer(content)) h.update(content);
  else for await (const c of content()) h.update(c);
  return h.digest('hex');
}

function head(p: Part): Buffer {
  const disp = 'filename' in p ? `form-data; name="${p.name}"; filename="${p.filename}"` : `form-data; name="${p.name}"`;
  const type = 'filename' in p ? `${CRLF}Content-Type: application/octet-stream` : '';
  return Buffer.from(`--${BOUNDARY}${CRLF}Content-Disposition: ${disp}${type}${CRLF}${CRLF}`);
}

const TAIL = Buffer.from(`--${BOUNDARY}--${CRLF}`);

/** The body's exact length. */
export function bodyLength(parts: Part[]): number {
  return parts.reduce((n, p) => n + head(p).length + ('filename' in p ? p.size : Buffer.byteLength(p.value)) + 2, TAIL.length);
}

async function* body(parts: Part[]): AsyncIterable<Buffer> {
  for (const p of parts) {
    yield head(p);
    if (!('filename' in p)) yield Buffer.from(p.value);
    else if (Buffer.isBuffer(p.content)) yield p.content;
    else yield* p.content();
    yield Buffer.from(CRLF);
  }
  yield TAIL;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Declared Content-Length (default: the exact one); 'chunked' declares none. */
  length?: number | 'chunked';
  /** Destroy the socket once this many body bytes were written; the promise then resolves 'cut'. */
  cutAfter?: number;
  /** Called while the body streams, once per chunk written (the memory test samples RSS here). */
  onChunk?: (sent: number) => void | Promise<void>;
}

/** POSTs a multipart body; resolves with the reply (even one sent before the body was finished), or 'cut'. */
export function sendMultipart(url: string, parts: Part[], opts: SendOptions = {}): Promise<HttpResult | 'cut'> {
  return new Promise((resolve, reject) => {
    const length = opts.length ?? bodyLength(parts);
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        ...(length === 'chunked' ? {} : { 'content-length': String(length) }),
        ...opts.headers,
      },
    });
    let answered = false;
    let cut = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
      });
    });
    // A server that answers early closes the connection: writes fail then, and the reply is what counts.
    req.on('error', (err) => {
      if (cut) resolve('cut');
      else if (!answered) reject(err);
    });
    void (async () => {
      let sent = 0;
      for await (const chunk of body(parts)) {
        if (answered || req.destroyed) return;
        if (opts.cutAfter !== undefined && sent + chunk.length > opts.cutAfter) {
          cut = true;
          req.destroy();
          resolve('cut');
          return;
        }
        sent += chunk.length;
        if (!req.write(chunk)) {
          await new Promise<void>((r) => {
            const go = () => { req.off('drain', go); req.off('close', go); r(); };
            req.on('drain', go);
            req.on('close', go);
          });
        }
        await opts.onChunk?.(sent);
      }
      req.end();
    })().catch(reject);
  });
}
