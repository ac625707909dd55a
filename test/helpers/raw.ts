/** Requests with a raw path (node:http sends it as given: no URL normalisation of `..` or `%2e`), the body as bytes. */
import { request as httpRequest } from 'node:http';

export interface RawResult {
  status: number;
  body: Buffer;
  headers: Record<string, unknown>;
}

export function rawRequest(port: number, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
