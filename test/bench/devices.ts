/**
 * Devices bench (issue 5): heartbeats/s against N registered devices with C
 * concurrent clients (coalesced with heartbeat_flush_ms as configured and with
 * 0, i.e. the writer's per-turn group commit alone), the ratio to a bare
 * fastify handler, and GET /api/devices?limit=100 latency (p99) at N devices.
 *
 *   benchDevices(ctx?: { devices?: number; connections?: number; durationSec?: number;
 *                        flushMs?: number; print?: (line: string) => void }): Promise<DevicesBenchResult>
 */
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { deviceKeyOf, tokenOf } from './devices-ids.js';
import { adminBearer } from './lib.js';

export interface DevicesBenchContext {
  devices?: number;
  connections?: number;
  durationSec?: number;
  /** heartbeat_flush_ms for the coalesced run (default 5; the config default is 0, measured as the second run). */
  flushMs?: number;
  print?: (line: string) => void;
}

export interface DevicesBenchResult {
  devices: number;
  seedMs: number;
  bareReqPerSec: number;
  heartbeatsPerSec: number;
  heartbeatsPerSecNoCoalescer: number;
  /** After every device has beaten once (a fleet's steady state: each device beats every minute). */
  heartbeatsPerSecWarm: number;
  heartbeatWarmP99Ms: number;
  ratioToBare: number;
  commitsPerSec: number;
  commitsPerSecNoCoalescer: number;
  heartbeatP99Ms: number;
  listP99Ms: number;
  listReqPerSec: number;
  errors: number;
}

type Stats = { commits: number };

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

export async function benchDevices(ctx: DevicesBenchContext = {}): Promise<DevicesBenchResult> {
  const devices = ctx.devices ?? 100_000;
  const connections = ctx.connections ?? 200;
  const duration = ctx.durationSec ?? 10;
  const flushMs = ctx.flushMs ?? 5;
  const print = ctx.print ?? ((l: string) => console.log(l));

  const worker = new Worker(new URL('./devices-server.js', import.meta.url), { workerData: { devices, flushMs } });
  const messages: ((m: any) => void)[] = [];
  worker.on('message', (m) => messages.shift()?.(m));
  const next = () => new Promise<any>((resolve) => messages.push(resolve));
  const { port, barePort, seedMs } = (await next()).ready as { port: number; barePort: number; seedMs: number };
  const stats = async (): Promise<Stats> => {
    const p = next();
    worker.postMessage({ stats: true });
    return (await p).stats as Stats;
  };
  print(`devices: seeded ${devices} devices in ${(seedMs / 1000).toFixed(1)} s (one transaction)`);

  try {
    const bare = await run({ url: `http://127.0.0.1:${barePort}/bare`, method: 'POST', connections, duration });

    let i = 0;
    const beat = (): autocannon.Request => ({
      method: 'POST',
      setupRequest: (req) => {
        const n = (i = (i + 7919) % devices);
        return { ...req, path: `/api/devices/${deviceKeyOf(n)}/online`, headers: { 'x-device-token': tokenOf(n), 'content-type': 'application/json' }, body: '{}' };
      },
    });
    const heartbeat = async (ms: number) => {
      worker.postMessage({ flushMs: ms });
      const before = await stats();
      const r = await run({ url: `http://127.0.0.1:${port}`, connections, duration, requests: [beat()] });
      const after = await stats();
      return { r, commitsPerSec: (after.commits - before.commits) / duration };
    };
    const coalesced = await heartbeat(flushMs);
    const direct = await heartbeat(0);
    // The runs above reach each device about once: cold first beats. A real fleet beats every minute, so
    // in steady state every device has been seen; warm it (one beat each, untimed), then measure again.
    const warmup = await run({ url: `http://127.0.0.1:${port}`, connections, amount: devices, requests: [beat()] });
    const warm = await heartbeat(0);

    const token = await adminBearer(`http://127.0.0.1:${port}`);
    let page = 0;
    const list = await run({
      url: `http://127.0.0.1:${port}`,
      connections: 10,
      duration,
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => ({ ...req, path: `/api/devices?limit=100&offset=${((page = (page + 37) % 1000) * 100) % devices}`, headers: { authorization: `Bearer ${token}` } }),
        },
      ],
    });

    const result: DevicesBenchResult = {
      devices,
      seedMs: Math.round(seedMs),
      bareReqPerSec: Math.round(bare.requests.average),
      heartbeatsPerSec: Math.round(coalesced.r.requests.average),
      heartbeatsPerSecNoCoalescer: Math.round(direct.r.requests.average),
      heartbeatsPerSecWarm: Math.round(warm.r.requests.average),
      heartbeatWarmP99Ms: warm.r.latency.p99,
      ratioToBare: Math.round((coalesced.r.requests.average / bare.requests.average) * 1000) / 1000,
      commitsPerSec: Math.round(coalesced.commitsPerSec),
      commitsPerSecNoCoalescer: Math.round(direct.commitsPerSec),
      heartbeatP99Ms: coalesced.r.latency.p99,
      listP99Ms: list.latency.p99,
      listReqPerSec: Math.round(list.requests.average),
      errors: [coalesced.r, direct.r, warmup, warm.r, list].reduce((n, r) => n + r.non2xx + r.errors, 0),
    };
    print(`devices: bare handler ${result.bareReqPerSec} req/s (${connections} connections)`);
    print(`devices: heartbeats ${result.heartbeatsPerSec}/s coalesced (heartbeat_flush_ms=${flushMs}, ${result.commitsPerSec} commits/s, p99 ${result.heartbeatP99Ms} ms), ratio to bare ${result.ratioToBare}`);
    print(`devices: heartbeats ${result.heartbeatsPerSecNoCoalescer}/s writer group commit only (heartbeat_flush_ms=0, ${result.commitsPerSecNoCoalescer} commits/s)`);
    print(`devices: heartbeats ${result.heartbeatsPerSecWarm}/s with a warm fleet (every device seen once first; heartbeat_flush_ms=0, p99 ${result.heartbeatWarmP99Ms} ms)`);
    print(`devices: GET /api/devices?limit=100 at ${devices} devices: p99 ${result.listP99Ms} ms, ${result.listReqPerSec} req/s (10 connections)`);
    if (result.errors > 0) print(`devices: ${result.errors} non-2xx replies or errors`);
    return result;
  } finally {
    const closed = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ close: true });
    await closed;
  }
}
