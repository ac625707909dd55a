/**
 * A POST /v2/cce client over keep-alive sockets, for tests and benchmarks that
 * send thousands of requests (the harness's http() opens a socket per request).
 */
import { Agent, request } from 'node:http';

export interface KeepAliveClient {
  post(body: unknown): Promise<{ status: number; body: any }>;
  /** Sends every body with at most `parallel` requests in flight; replies in order. */
  postAll(bodies: readonly unknown[], parallel?: number): Promise<{ status: number; body: any }[]>;
  close(): void;
}

export function keepAliveClient(baseUrl: string, maxSockets = 16): KeepAliveClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const url = `${baseUrl}/v2/cce`;
  const post = (body: unknown) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end(data);
    });
  return {
    post,
    async postAll(bodies, parallel = maxSockets) {
      const out: { status: number; body: any }[] = new Array(bodies.length);
      let next = 0;
      const worker = async () => {
        while (next < bodies.length) {
          const i = next++;
          out[i] = await post(bodies[i]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, bodies.length) }, worker));
      return out;
    },
    close: () => agent.destroy(),
  };
}
