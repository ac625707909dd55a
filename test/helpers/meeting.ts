/** Helpers for the Meeting facade tests: a bearer token, and REST calls with it or a device token. */
import type { Test } from 'tap';
import { ADMIN_PASSWORD, adminClient, http, startDaemon, type HttpResult, type TestDaemon } from './daemon.js';

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

/** The catalog the device tests use: type rpi4 (serial prefix RPI4) with distributions prod and nightly, type esp32. */
export async function seedCatalog(d: TestDaemon): Promise<void> {
  const c = await adminClient(d);
  for (const cmd of [
    'CREATE DeviceType name="rpi4" serial_prefix="RPI4"',
    'CREATE DeviceType name="esp32"',
    'CREATE DeviceType name="gone" deleted="1"',
    'CREATE Distribution name="prod" device_type="rpi4"',
    'CREATE Distribution name="nightly" device_type="rpi4"',
  ]) {
    const r = await c.cmd(cmd);
    if (r.body?.status !== 201) throw new Error(`${cmd}: ${r.text}`);
  }
}

/** A daemon closed when the test ends, with the catalog seeded (seedCatalog) and an admin's REST client. */
export async function catalogWorld(t: Test): Promise<{ d: TestDaemon; a: Rest }> {
  const d = await startDaemon();
  t.teardown(() => d.close());
  await seedCatalog(d);
  return { d, a: await adminRest(d) };
}

/** A registered device (manual-create), returning its key and token code. */
export async function newDevice(a: Rest, body: Record<string, unknown> = {}): Promise<{ key: string; token: string; created: any }> {
  const k = await a.get('/api/devices/generate-key');
  const r = await a.post('/api/devices/manual-create', { devicekey: k.body.devicekey, token_code: k.body.token_code, device_type: 'rpi4', ...body });
  if (r.status !== 200) throw new Error(`manual-create: ${r.status} ${r.text}`);
  return { key: k.body.devicekey, token: k.body.token_code, created: r.body };
}
