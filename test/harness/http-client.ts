/**
 * The harness's HTTP client: keep-alive sockets, any method, a raw path and
 * body, and a deadline per request. It never throws for a reply: a reset, a
 * refused connection or a missed deadline comes back as `error`, which the
 * oracles judge (the daemon must answer every request).
 */
import { Agent, request } from 'node:http';

export interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: any;
  ms: number;
  /** Set when no reply came: 'timeout', or the socket error's code. */
  error?: string;
}

export class HarnessClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  constructor(
    readonly baseUrl: string,
    readonly timeoutMs = 10_000,
    sockets = 4,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  /**
   * One request. A keep-alive socket the daemon closed just before it was
   * reused fails before the request reached it (ECONNRESET, EPIPE): that one
   * is sent again once, on a socket of its own.
   */
  async send(s: Sent): Promise<Answer> {
    const a = await this.once(s, this.agent);
    if (a.error === 'ECONNRESET' || a.error === 'EPIPE') return this.once(s, false);
    return a;
  }

  private once(s: Sent, agent: Agent | false): Promise<Answer> {
    const started = performance.now();
    return new Promise<Answer>((resolve) => {
      const failed = (error: string) => resolve({ status: 0, contentType: '', text: '', json: undefined, ms: performance.now() - started, error });
      let req;
      try {
        const body = s.body;
        req = request({
          host: this.host,
          port: this.port,
          method: s.method,
          path: s.path,
          agent,
          headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...s.headers },
        });
      } catch (err) {
        // node refuses to send some paths or headers at all (control characters): nothing reached the daemon.
        resolve({ status: -1, contentType: '', text: String((err as Error).message), json: undefined, ms: 0 });
        return;
      }
      const timer = setTimeout(() => {
        req.destroy();
        failed('timeout');
      }, this.timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); failed(err.code ?? err.message); });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json, ms: performance.now() - started });
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); failed(err.code ?? err.message); });
      req.end(s.body);
    });
  }

  /** POST /v2/cce with a JSON envelope. */
  cce(envelope: unknown): Promise<Answer> {
    return this.send({ method: 'POST', path: '/v2/cce', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
  }

  close(): void {
    this.agent.destroy();
  }
}
