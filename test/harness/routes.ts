/**
 * Every REST route the daemon serves, as the server itself registers them: an
 * app is assembled in this process on a throw-away state dir (it never
 * listens) and its routes are recorded as fastify adds them: the Meeting
 * paths and the Pantahub registry's. The fuzz then covers a new path the day it lands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { resolveConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/app.js';

export interface RouteDef {
  method: string;
  url: string;
}

export async function listRoutes(): Promise<RouteDef[]> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-routes-'));
  const log = createLogger({ logging: false, debuglog: false }, new Writable({ write: (_c, _e, done) => done() }));
  const app = await createApp(resolveConfig({ state_dir: stateDir, db_synchronous: 'NORMAL' }), { log, env: { CCED_ADMIN_PASSWORD: 'routes-only-password' }, tell: () => {} });
  const routes: RouteDef[] = [];
  app.server.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD' && r.url !== '*') routes.push({ method, url: r.url });
  });
  try {
    await app.server.ready();
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return routes.filter((r) => r.url.startsWith('/api/') || r.url === '/auth/login' || r.url.startsWith('/devices'));
}
