/**
 * A Server-Sent Events client for the tests: opens /v2/events over a real
 * socket, parses the frames as they come, and waits for a number of them.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface Frame {
  id?: string;
  event?: string;
  data?: any;
}

export interface SseOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Query string (without '?'). */
  query?: string;
  /** Do not read the body (a slow consumer): the socket's buffers fill. */
  paused?: boolean;
}

export class SseClient {
  status = 0;
  headers: IncomingMessage['headers'] = {};
  /** Every frame so far; comments (keep-alives) counted apart. */
  readonly frames: Frame[] = [];
  comments = 0;
  /** The whole body of a refusal (not a stream). */
  text = '';
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];
  private req!: ClientRequest;
  res?: IncomingMessage;

  static open(baseUrl: string, opts: SseOptions = {}): Promise<SseClient> {
    const c = new SseClient();
    return c.connect(baseUrl, opts).then(() => c);
  }

  private connect(baseUrl: string, opts: SseOptions): Promise<void> {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      this.req = request(
        `${baseUrl}/v2/events${opts.query ? `?${opts.query}` : ''}`,
        { method: opts.method ?? (data === undefined ? 'GET' : 'POST'), headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...opts.headers } },
        (res) => {
          this.res = res;
          this.status = res.statusCode ?? 0;
          this.headers = res.headers;
          res.setEncoding('utf8');
          if (opts.paused) res.pause();
          res.on('data', (chunk: string) => this.feed(chunk));
          res.on('end', () => this.finish());
          res.on('close', () => this.finish());
          res.on('error', () => this.finish());
          resolve();
        },
      );
      this.req.on('error', (err) => (this.res ? this.finish() : reject(err)));
      if (data !== undefined) this.req.write(data);
      this.req.end();
    });
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private feed(chunk: string): void {
    if (!String(this.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      this.text += chunk;
      return;
    }
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame: Frame = {};
      let data: string | undefined;
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) data = (data === undefined ? '' : data + '\n') + line.slice(6);
      }
      if (data !== undefined) frame.data = JSON.parse(data);
      if (comment && frame.id === undefined && frame.event === undefined && data === undefined) this.comments++;
      else this.frames.push(frame);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves once `n` frames arrived (or the stream ended, or `ms` passed: then whatever arrived). */
  async waitFor(n: number, ms = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + ms;
    while (this.frames.length < n && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.slice(0, n);
  }

  /** Resolves when the body ended (a refusal, or the server closed the stream). */
  async waitEnd(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req.destroy();
  }
}
