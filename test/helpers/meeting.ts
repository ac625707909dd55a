/** Helpers for the Meeting facade tests: a bearer token, and REST calls with it or a device token. */
import { ADMIN_PASSWORD, http, type HttpResult, type TestDaemon } from './daemon.js';

export interface Rest {
  get(path: string, headers?: Record<string, string>): Promise<HttpResult>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  put(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  del(path: string, headers?: Record<string, string>): Promise<HttpResult>;
}

/** REST calls to a daemon with fixed headers (a bearer token, a device token, or none). */
export function rest(d: TestDaemon, fixed: Record<string, string> = {}): Rest {
  const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    http(`${d.url}${path}`, body, { method, headers: { ...fixed, ...headers } });
  return {
    get: (path, headers) => call('GET', path, undefined, headers),
    post: (path, body, headers) => call('POST', path, body, headers),
    put: (path, body, headers) => call('PUT', path, body, headers),
    del: (path, headers) => call('DELETE', path, undefined, headers),
  };
}

/** POST /api/auth/login; returns the bearer token. */
export async function login(d: TestDaemon, username = 'admin', password = ADMIN_PASSWORD): Promise<string> {
  const r = await http(`${d.url}/api/auth/login`, { username, password });
  if (r.status !== 200 || typeof r.body?.token !== 'string') throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body.token as string;
}

/** A REST client authenticated as the admin. */
export async function adminRest(d: TestDaemon): Promise<Rest> {
  return rest(d, { authorization: `Bearer ${await login(d)}` });
}

/** A REST client authenticated as a device. */
export const deviceRest = (d: TestDaemon, tokenCode: string) => rest(d, { 'x-device-token': tokenCode });
