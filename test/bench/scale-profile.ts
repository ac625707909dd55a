/**
 * Where a heartbeat's time goes: the real daemon under --cpu-prof on a kept
 * seeded fleet (test/bench/scale.ts, BENCH_SCALE_SEEDS), beaten by 200
 * clients: one pass over PROFILE_WARM devices (each beats once: its credential
 * read, its first Connected event), then PROFILE_SECONDS of beats over the
 * same devices; the profile's summary counts only the samples of that second,
 * warm part. Prints the self time per function and per file, heaviest first.
 *
 * The daemon runs with the node flags of `npm start` (as the scale bench's do),
 * then PROFILE_NODE_FLAGS (space-separated; e.g. `--trace-gc`, whose lines go
 * to the daemon's log, kept in PROFILE_KEEP_LOG when set). PROFILE_HEAP=1 also
 * samples what the warm part allocates (heap-sampler.ts) and prints the bytes a
 * beat, in all and by file.
 *
 *   node dist/test/bench/scale-profile.js SEEDS_DIR DEVICES [PROFILE_WARM=100000] [PROFILE_SECONDS=20]
 */
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminBearer, cpuSeconds, startDaemon, tempStateDir } from './lib.js';
import { beatFleet } from './scale-beats.js';
import { deployedLaunch } from './scale-node-flags.js';
import { checkpointFigures, checkpointsBetween } from './checkpoint-figures.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) per function and per file, over the samples from the `from`th on. */
function summarise(p: Profile, from: number): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (let i = from; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const where = n.callFrame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^file:\/\/.*\/dist\//, '') || '(native)';
    const name = `${n.callFrame.functionName || '(anon)'} ${where}:${n.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + dt);
    const f = where.startsWith('node_modules/') ? where.split('/').slice(0, 2).join('/') : where;
    file.set(f, (file.get(f) ?? 0) + dt);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`).join('\n');
  console.log(`profiled ${(total / 1000).toFixed(1)} s of the warm part\n\n-- by file --\n${top(file, 30)}\n\n-- by function --\n${top(fn, 45)}`);
}

/** Stops the daemon's heap sampling and prints the bytes a beat allocated, in all and by file. */
async function heapSummary(pid: number, file: string, beats: number): Promise<void> {
  process.kill(pid, 'SIGWINCH');
  for (let i = 0; i < 100; i++) {
    try {
      const { total, byFile, byFunction } = JSON.parse(readFileSync(file, 'utf8')) as { total: number; byFile: [string, number][]; byFunction: [string, number][] };
      const top = (rows: [string, number][]) => rows.map(([f, b]) => `${((100 * b) / total).toFixed(1).padStart(5)}%  ${f}`).join('\n');
      console.log(`allocated: ${(total / beats / 1024).toFixed(1)} KB a beat\n\n-- allocation by file --\n${top(byFile)}\n\n-- allocation by function --\n${top(byFunction)}\n`);
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  console.log('allocated: the sampler wrote nothing');
}

async function main(): Promise<void> {
  const [seeds, devicesArg] = process.argv.slice(2);
  const devices = Number(devicesArg);
  const warm = Math.min(devices, Number(process.env.PROFILE_WARM ?? 100_000));
  const seconds = Number(process.env.PROFILE_SECONDS ?? 20);
  const extraFlags = (process.env.PROFILE_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const stateDir = tempStateDir();
  const profDir = path.join(stateDir, 'prof');
  copyFileSync(path.join(seeds!, `devices-${devices}.db`), path.join(stateDir, 'cced.db'));
  const heapOut = process.env.PROFILE_HEAP ? path.join(stateDir, 'heap.json') : undefined;
  const sampler = heapOut === undefined ? [] : [`--import=${fileURLToPath(new URL('./heap-sampler.js', import.meta.url))}`];
  if (heapOut !== undefined) process.env.HEAP_SAMPLE_OUT = heapOut;
  const deployed = deployedLaunch();
  const d = await startDaemon({ stateDir, config: { device_heartbeat_timeout: '3600' }, env: deployed.env, nodeFlags: [...deployed.flags, ...extraFlags, ...sampler, '--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  let mark = 0;
  try {
    const first = await beatFleet(d.url, warm, { amount: warm });
    console.log(`first pass: ${first.requests.average.toFixed(0)} beats/s, p99 ${first.latency.p99} ms, non2xx ${first.non2xx}`);
    // The samples before this point are the first pass's (and start-up's): counted by the profile's own clock.
    mark = performance.now();
    const token = await adminBearer(d.url);
    const before = await checkpointFigures(d.url, token);
    const cpu0 = cpuSeconds(d.pid);
    if (heapOut !== undefined) process.kill(d.pid, 'SIGWINCH');
    const second = await beatFleet(d.url, warm, { duration: seconds });
    const perBeat = ((cpuSeconds(d.pid) - cpu0) / second.requests.total) * 1e6;
    console.log(`warm: ${second.requests.average.toFixed(0)} beats/s, p99 ${second.latency.p99} ms, ${perBeat.toFixed(0)} µs CPU a beat, non2xx ${second.non2xx}`);
    const l = second.latency;
    console.log(`latency: p50 ${l.p50}, p90 ${l.p90}, p97.5 ${l.p97_5}, p99 ${l.p99}, max ${l.max} ms`);
    console.log(`checkpoints meanwhile: ${checkpointsBetween(before, await checkpointFigures(d.url, token), seconds)}`);
    if (heapOut !== undefined) await heapSummary(d.pid, heapOut, second.requests.total);
    mark = performance.now() - mark;
  } finally {
    await d.close();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))!;
  const p = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as Profile;
  // Keep the samples of the last `mark` ms (the warm part).
  let acc = 0;
  let from = p.samples.length;
  while (from > 0 && acc < mark * 1000) acc += p.timeDeltas[--from] ?? 0;
  summarise(p, from);
  if (process.env.PROFILE_KEEP_LOG) copyFileSync(d.logFile, process.env.PROFILE_KEEP_LOG);
  rmSync(stateDir, { recursive: true, force: true });
}

await main();
