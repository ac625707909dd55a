/**
 * The daemon side of the devices bench, run in a worker thread so the load
 * generator does not share its event loop: builds the app on a temp state dir,
 * seeds N devices through the store in one transaction, listens on loopback,
 * and also serves a "bare" fastify handler as the baseline. Messages:
 * in `{flushMs}` (switch heartbeat_flush_ms) / `{stats}` / `{close}`, out `{ready}` / `{stats}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import Fastify from 'fastify';
import { resolveConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/app.js';
import { SYSTEM } from '../../src/store/store.js';
import { deviceKeyOf, tokenOf } from './devices-ids.js';
import { BENCH_ADMIN_PASSWORD } from './lib.js';

const { devices, flushMs } = workerData as { devices: number; flushMs: number };
const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-bench-'));
// Realistic costs: FULL durability and every log line written (to /dev/null).
const config = resolveConfig({ state_dir: stateDir, listen_address: '127.0.0.1:0', db_synchronous: 'FULL', heartbeat_flush_ms: String(flushMs) });
const log = createLogger({ logging: true, debuglog: false }, pino.destination({ dest: '/dev/null', sync: false }));
const app = await createApp(config, { log, env: { CCED_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD }, tell: () => {} });
const { store, writer } = app.services;

const seedStart = performance.now();
await writer.submit(async (w) => {
  await store.at(w).create(SYSTEM, 'DeviceType', { name: 'bench', serial_prefix: 'BENCH' });
  for (let i = 0; i < devices; i++) {
    await store.at(w).create(SYSTEM, 'Device', { device_key: deviceKeyOf(i), token_code: tokenOf(i), device_type: 'bench', authorized: '1' });
  }
});
const seedMs = performance.now() - seedStart;
await app.server.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.server.address() as { port: number }).port;

const bare = Fastify({ loggerInstance: log });
bare.post('/bare', async () => ({ ok: true, ip_address: '127.0.0.1', last_seen: '2025-06-01 14:22:10' }));
await bare.listen({ host: '127.0.0.1', port: 0 });
const barePort = (bare.server.address() as { port: number }).port;

parentPort!.postMessage({ ready: { port, barePort, seedMs } });
parentPort!.on('message', async (m: { flushMs?: number; stats?: true; close?: true }) => {
  if (m.flushMs !== undefined) (config as { heartbeat_flush_ms: number }).heartbeat_flush_ms = m.flushMs;
  if (m.stats) parentPort!.postMessage({ stats: { commits: writer.commits } });
  if (m.close) {
    await bare.close();
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
    parentPort!.close();
  }
});
