/**
 * What a daemon's memory is after every device of a kept seeded fleet
 * (test/bench/scale.ts, BENCH_SCALE_SEEDS) beat once with 200 clients, under
 * given node flags: to compare V8 settings and allocation changes one at a
 * time. Prints the RSS, its anonymous part, the V8 heap used and committed, at
 * start, at the end of the pass and 10 s later (the daemon idle). The
 * daemon inherits this process's environment (MALLOC_ARENA_MAX, say).
 *
 *   node dist/test/bench/scale-memory.js SEEDS_DIR DEVICES [node flags...]
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { adminBearer, cpuSeconds, daemonMetrics, startDaemon, tempStateDir, type BenchDaemon } from './lib.js';
import { beatFleet } from './scale-beats.js';

const mib = (kb: number) => (kb / 1024).toFixed(0);

function status(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

async function memory(d: BenchDaemon, token: string): Promise<string> {
  const metrics = await daemonMetrics(d.url, token);
  const heap = (n: number) => (n / 2 ** 20).toFixed(0);
  return `RSS ${mib(status(d.pid, 'VmRSS'))} MiB, anonymous ${mib(status(d.pid, 'RssAnon'))}, V8 heap ${heap(metrics.process.heap_used_bytes)} used of ${heap(metrics.process.heap_total_bytes)}, peak RSS ${mib(status(d.pid, 'VmHWM'))}`;
}

async function main(): Promise<void> {
  const [seeds, devicesArg, ...flags] = process.argv.slice(2);
  const devices = Number(devicesArg);
  const stateDir = tempStateDir();
  copyFileSync(path.join(seeds!, `devices-${devices}.db`), path.join(stateDir, 'cced.db'));
  const d = await startDaemon({ stateDir, config: { device_heartbeat_timeout: '3600' }, nodeFlags: flags });
  try {
    const token = await adminBearer(d.url);
    const atStart = await memory(d, token);
    const cpu0 = cpuSeconds(d.pid);
    const r = await beatFleet(d.url, devices, { amount: devices });
    const cpu = cpuSeconds(d.pid) - cpu0;
    console.log(`flags: ${flags.join(' ') || '(none)'}`);
    console.log(`pass: ${r.requests.average.toFixed(0)} beats/s, p99 ${r.latency.p99} ms, ${((cpu / r.requests.total) * 1e6).toFixed(0)} µs CPU a beat, non2xx ${r.non2xx}`);
    console.log(`at start:       ${atStart}`);
    console.log(`after the pass: ${await memory(d, token)}`);
    await new Promise((res) => setTimeout(res, 10_000));
    console.log(`10 s later:     ${await memory(d, token)}`);
  } finally {
    await d.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
