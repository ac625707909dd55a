/**
 * Fleet scale: the same cases at 10k, 100k (and, with BENCH_SCALE_MAX=1000000,
 * 1M) devices, each against the real daemon (a child process, default
 * durable settings), with the growth from the smallest fleet to the largest.
 * Seeded through the Store API on the daemon's own file (lib.ts seedStore),
 * 50,000 devices per transaction. Every figure is printed as a note line and
 * as one table: what a case costs must not grow with the fleet.
 *
 * BENCH_SCALE_SEEDS=DIR keeps each seeded file there (1M devices take minutes
 * to seed) and starts later runs from a copy of it; a file of an older layout
 * is migrated by the daemon's own migrations, timed as a case, and kept
 * migrated. BENCH_SCALE_CASES=heartbeats runs only the heartbeat and RSS cases,
 * BENCH_SCALE_CASES=commit only the COMMIT with a reader, BENCH_SCALE_CASES=transfer
 * only the export and the import. BENCH_SCALE_MIN
 * leaves out the fleets below it; BENCH_SCALE_IMPORT_MAX (100,000) the imports
 * of the fleets above it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { SYSTEM } from '../../src/store/store.js';
import { runConsole } from './console-run.js';
import { adminBearer, cce, cpuSeconds, daemonMetrics, expectStatus, seedStore, tempStateDir, type BenchContext, type BenchDaemon, type BenchSection, type Session } from './lib.js';
import { checkpointFigures, checkpointsBetween } from './checkpoint-figures.js';
import { deviceKeyOf, tokenOf } from './devices-ids.js';
import { beatFleet } from './scale-beats.js';
import { deployedLaunch } from './scale-node-flags.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';

const SEED_BATCH = 50_000;
/**
 * The measured daemons' device_heartbeat_timeout (s): longer than the pass in
 * which every device beats once takes at any rate this machine reaches (1M
 * devices at 4,000 beats/s: 250 s), so a warm beat finds its device connected,
 * as in a fleet beating every 100 s under the default 180 s; with the default,
 * a daemon slower than 5,555 beats/s at 1M would measure a reconnection (a
 * Connected event) per warm beat. A first beat's event is in the cold figures.
 */
const HEARTBEAT_TIMEOUT = '3600';

type Figures = Map<string, string>;

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** Wall time of `fn`, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function get(d: BenchDaemon, pathAndQuery: string, token: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(`${d.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.arrayBuffer();
  return { ms: performance.now() - t0, bytes: body.byteLength, status: res.status };
}

/** One line of /proc/<pid>/status in MiB (VmRSS, RssAnon, RssFile). */
function statusMiB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const rssMiB = (pid: number) => statusMiB(pid, 'VmRSS');

/** What the RSS is made of: anonymous memory (of which the V8 heap, from the daemon's own metrics) and mapped files. */
async function memoryParts(d: BenchDaemon, token: string): Promise<string> {
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const { heap_used_bytes: used, heap_total_bytes: total } = (await daemonMetrics(d.url, token)).process;
  return `${statusMiB(d.pid, 'RssAnon').toFixed(0)} (V8 heap ${mib(used)} used of ${mib(total)}); ${statusMiB(d.pid, 'RssFile').toFixed(0)}`;
}

/** A DeviceType `bench` and `devices` devices of it, SEED_BATCH per transaction (their oids follow each other). */
export async function seedDevices(d: BenchDaemon, devices: number): Promise<void> {
  await seedStore(d, (store) => store.create(SYSTEM, 'DeviceType', { name: 'bench', serial_prefix: 'BENCH' }));
  for (let from = 0; from < devices; from += SEED_BATCH) {
    await seedStore(d, async (store) => {
      for (let i = from; i < Math.min(devices, from + SEED_BATCH); i++) {
        await store.create(SYSTEM, 'Device', { device_key: deviceKeyOf(i), token_code: tokenOf(i), device_type: 'bench', authorized: '1' });
      }
    });
  }
}

const SEEDS = process.env.BENCH_SCALE_SEEDS;
/** Rows whose first figure is no cost to compare across fleets (how it was seeded, how many checkpoints ran). */
const NO_GROWTH = /^(seed|  checkpoints)/;

/**
 * BENCH_SCALE_CASES: `heartbeats` (the heartbeat and RSS cases), `commit` (the COMMIT case alone), `transfer`
 * (the export and the import alone), else every case.
 */
const ONLY_HEARTBEATS = process.env.BENCH_SCALE_CASES === 'heartbeats';
const ONLY_COMMIT = process.env.BENCH_SCALE_CASES === 'commit';
const ONLY_TRANSFER = process.env.BENCH_SCALE_CASES === 'transfer';

/**
 * The daemon's store with `devices` seeded: from BENCH_SCALE_SEEDS when a seeded
 * file is kept there (migrated to this layout first, timed), else seeded now (and kept).
 */
export async function seeded(ctx: BenchContext, stateDir: string, devices: number, f: Figures): Promise<void> {
  const kept = SEEDS === undefined ? undefined : path.join(SEEDS, `devices-${devices}.db`);
  if (kept !== undefined && existsSync(kept)) {
    copyFileSync(kept, path.join(stateDir, 'cced.db'));
    const before = new Database(kept, { readonly: true });
    const version = before.pragma('user_version', { simple: true }) as number;
    before.close();
    const t0 = performance.now();
    const db = openDb(path.join(stateDir, 'cced.db'));
    const migrated = performance.now() - t0;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    f.set('seed (Store API, 50k per transaction)', 'kept file');
    if (version < MIGRATIONS.length) {
      f.set('migrate the kept file to this layout', ms(migrated));
      copyFileSync(path.join(stateDir, 'cced.db'), `${kept}.new`);
      renameSync(`${kept}.new`, kept);
    }
    return;
  }
  const d = await ctx.startDaemon({ stateDir });
  try {
    f.set('seed (Store API, 50k per transaction)', ms(await timed(() => seedDevices(d, devices))));
  } finally {
    await d.close();
  }
  if (kept === undefined) return;
  mkdirSync(SEEDS!, { recursive: true });
  const db = openDb(path.join(stateDir, 'cced.db'));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  copyFileSync(path.join(stateDir, 'cced.db'), `${kept}.new`);
  renameSync(`${kept}.new`, kept);
}

/**
 * Heartbeats from CLIENTS connections over the whole fleet: beats/s, p99, the daemon's CPU per beat and the
 * load generator's (this process: on a 2-core machine the two share the cores, so both bound the rate).
 */
async function beat(d: BenchDaemon, devices: number, opts: { duration?: number; amount?: number }) {
  const cpu0 = cpuSeconds(d.pid);
  const own0 = process.cpuUsage();
  const r = await beatFleet(d.url, devices, opts);
  const cpu = cpuSeconds(d.pid) - cpu0;
  const own = process.cpuUsage(own0);
  const perBeat = (seconds: number) => (seconds / r.requests.total) * 1e6;
  return {
    perSec: r.requests.average,
    p99: r.latency.p99,
    usPerBeat: perBeat(cpu),
    generatorUsPerBeat: perBeat((own.user + own.system) / 1e6),
    failures: r.non2xx + r.errors + r.timeouts,
  };
}

async function measureFleet(ctx: BenchContext, devices: number): Promise<Figures> {
  const f: Figures = new Map();
  const stateDir = tempStateDir();
  const extension = path.join(stateDir, 'extension');
  await seeded(ctx, stateDir, devices, f);
  const started = performance.now();
  // With the node flags it is deployed with (npm start, the systemd unit): its memory is measured as it runs.
  const deployed = deployedLaunch();
  let d = await ctx.startDaemon({ stateDir, config: { device_heartbeat_timeout: HEARTBEAT_TIMEOUT }, env: deployed.env, nodeFlags: [...deployed.flags, ...ctx.options.daemonFlags] });
  try {
    f.set('start (until PING answers)', ms(performance.now() - started));

    const admin: Session = await d.adminSession();
    if (ONLY_COMMIT) {
      await measureCommit(d, admin, devices, f);
      return f;
    }
    if (ONLY_TRANSFER) {
      await measureTransfer(stateDir, devices, f);
      return f;
    }
    const token = await adminBearer(d.url);

    const cold = await beat(d, devices, { duration: Math.max(2, Math.round(ctx.options.duration / 2)) });
    f.set('heartbeats, cold (beats/s; p99)', `${cold.perSec.toFixed(0)}/s; ${cold.p99} ms`);
    f.set('heartbeat, cold: daemon CPU per beat', `${cold.usPerBeat.toFixed(0)} µs`);
    // Every device beats once (untimed), as a fleet does each minute, then the steady state is measured.
    await beat(d, devices, { amount: devices });
    f.set('RSS after every device beat once', `${rssMiB(d.pid).toFixed(0)} MiB`);
    f.set('  of it: anonymous MiB (V8 heap); files', await memoryParts(d, token));
    const seconds = Math.max(2, Math.round(ctx.options.duration / 2));
    const before = await checkpointFigures(d.url, token);
    const warm = await beat(d, devices, { duration: seconds });
    f.set('heartbeats, warm (beats/s; p99)', `${warm.perSec.toFixed(0)}/s; ${warm.p99} ms`);
    f.set('heartbeat, warm: daemon CPU per beat', `${warm.usPerBeat.toFixed(0)} µs`);
    f.set('  the load generator\'s, beside it', `${warm.generatorUsPerBeat.toFixed(0)} µs`);
    f.set('  checkpoints meanwhile', checkpointsBetween(before, await checkpointFigures(d.url, token), seconds));
    if (cold.failures + warm.failures > 0) ctx.note(`scale ${devices}: ${cold.failures + warm.failures} heartbeats failed`);
    if (ONLY_HEARTBEATS) return f;

    const deep = `/api/devices?limit=100&offset=${devices - 100}`;
    const firstDeep = await get(d, deep, token);
    const againDeep: number[] = [];
    for (let i = 0; i < 9; i++) againDeep.push((await get(d, deep, token)).ms);
    f.set('device list at the last offset: first; again (median)', `${ms(firstDeep.ms)}; ${ms(median(againDeep))}`);

    const afterCreate: number[] = [];
    for (let i = 0; i < 5; i++) {
      await expectStatus(d, { cmd: `CREATE Device device_key = "SCALE${i}${devices}" token_code = "scale-token-${i}-${devices}"`, ...admin }, 201);
      afterCreate.push((await get(d, '/api/devices?limit=100', token)).ms);
    }
    f.set('device list, first page after a CREATE (median)', ms(median(afterCreate)));

    const regex: number[] = [];
    let truncated = false;
    for (let i = 0; i < 5; i++) {
      regex.push(await timed(async () => {
        const r = await cce(d, { cmd: 'FINDX', class: 'Device', args: {}, regex_args: { device_name: `^zz${i}` }, ...admin });
        truncated = r.data?.truncated === true;
      }));
    }
    f.set('FINDX regex only, one page (median)', `${ms(median(regex))}${truncated ? ' (cut at max_scan_rows)' : ''}`);

    let bytes = 0;
    const getallMs = await timed(async () => {
      const res = await fetch(`${d.url}/v2/cce`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cmd: 'GETALL', class: 'Device', ...admin }) });
      bytes = (await res.arrayBuffer()).byteLength;
    });
    f.set('GETALL Device, one page: time; reply', `${ms(getallMs)}; ${(bytes / 1e6).toFixed(1)} MB`);

    const scrapes: number[] = [];
    for (let i = 0; i < 20; i++) scrapes.push((await get(d, '/api/metrics?action=prometheus', token)).ms);
    f.set('GET /api/metrics prometheus (median)', ms(median(scrapes)));

    await measureCommit(d, admin, devices, f);
    await measureTransfer(stateDir, devices, f);

    // A schema extension adds a property to Device: the start must not wait for the fleet's defaults.
    mkdirSync(extension, { recursive: true });
    writeFileSync(path.join(extension, 'extend.json'), JSON.stringify({ classes: [{ class: 'Device', extend: true, properties: { scale_mark: { type: 'alphanum_plus', default: 'none' } } }] }));
    await d.close();
    const extended = performance.now();
    d = await ctx.startDaemon({ stateDir, extraSchemaDirs: [extension] });
    f.set('start after a schema extension (until PING answers)', ms(performance.now() - extended));
    return f;
  } finally {
    await d.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** A COMMIT of 10,000 queued SETs while a client keeps reading: the COMMIT's time and the reads' p99 and max. */
async function measureCommit(d: BenchDaemon, admin: Session, devices: number, f: Figures): Promise<void> {
  const found = await expectStatus(d, { cmd: 'FINDX', class: 'Device', args: { device_type: 'bench' }, ...admin }, 201);
  const oids = (found.data!.oidlist as string[]).slice(0, 10_000);
  await expectStatus(d, { cmd: 'BEGIN', ...admin }, 201);
  for (let i = 0; i < oids.length; i += 100) {
    await Promise.all(oids.slice(i, i + 100).map((oid) => cce(d, { cmd: `SET ${oid} note = "commit ${devices}"`, ...admin })));
  }
  const reads: number[] = [];
  let committing = true;
  const reader = (async () => {
    while (committing) reads.push(await timed(() => cce(d, { cmd: `GET ${oids[0]}`, ...admin })));
  })();
  const commitMs = await timed(() => expectStatus(d, { cmd: 'COMMIT', ...admin }, 201));
  committing = false;
  await reader;
  reads.sort((a, b) => a - b);
  f.set(`COMMIT of ${oids.length} queued SETs`, ms(commitMs));
  f.set('GET during that COMMIT: p99; max', `${ms(reads[Math.floor(reads.length * 0.99)] ?? NaN)}; ${ms(reads.at(-1) ?? NaN)}`);
}

/** Imports past this many devices are left out (BENCH_SCALE_IMPORT_MAX): a million take minutes. */
const IMPORT_MAX = Number(process.env.BENCH_SCALE_IMPORT_MAX ?? 100_000);

/** `cced export --with-secrets` of the fleet beside its running daemon, then `cced import` of it into an empty store. */
async function measureTransfer(stateDir: string, devices: number, f: Figures): Promise<void> {
  const dir = tempStateDir();
  try {
    const file = path.join(dir, 'fleet.jsonl');
    const exp = await runConsole(stateDir, ['export', file, '--with-secrets']);
    f.set('cced export --with-secrets: time; peak RSS', `${ms(exp.ms)}; ${exp.peakMiB.toFixed(0)} MiB`);
    if (devices > IMPORT_MAX) {
      f.set('cced import into an empty store: time; peak RSS', `(over BENCH_SCALE_IMPORT_MAX=${IMPORT_MAX})`);
      return;
    }
    const imp = await runConsole(path.join(dir, 'imported'), ['import', file]);
    f.set('cced import into an empty store: time; peak RSS', `${ms(imp.ms)}; ${imp.peakMiB.toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first number of a figure ("123.4 ms; 5 ms" -> 123.4). */
const lead = (s: string | undefined) => (s === undefined ? NaN : Number.parseFloat(s));

export const scale: BenchSection = {
  name: 'scale',
  async run(ctx) {
    const max = Number(process.env.BENCH_SCALE_MAX ?? 100_000);
    // BENCH_SCALE_MIN=1000000: the 1M fleet alone (its cases measured again without the smaller ones).
    const min = Number(process.env.BENCH_SCALE_MIN ?? 0);
    const sizes = [10_000, 100_000, 1_000_000].filter((n) => n >= min && n <= max);
    const results: [number, Figures][] = [];
    for (const n of sizes) {
      process.stderr.write(`bench: scale: ${n} devices\n`);
      results.push([n, await measureFleet(ctx, n)]);
    }
    const cases = [...results[0]![1].keys()];
    const head = ['case', ...sizes.map((n) => `${n / 1000}k devices`), `growth ${sizes[0]! / 1000}k -> ${sizes.at(-1)! / 1000}k`];
    const rows = cases.map((c) => {
      const cells = results.map(([, f]) => f.get(c) ?? '-');
      const growth = lead(cells.at(-1)) / lead(cells[0]);
      return [c, ...cells, Number.isFinite(growth) && !NO_GROWTH.test(c) ? `${growth.toFixed(2)}x` : ''];
    });
    const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
    for (const row of [head, widths.map((w) => '-'.repeat(w)), ...rows]) ctx.note(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  },
};
