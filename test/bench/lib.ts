/**
 * Shared pieces of `npm run bench`: the options (from BENCH_* variables), the
 * two kinds of servers under load (the bare fastify baseline and the real
 * daemon, each a child process running the built code), seeding a daemon's
 * store, the autocannon wrapper, and the context every section receives.
 *
 * Why child processes: the load generator (autocannon, in this process) must
 * not share an event loop with the server it measures, and the baseline must
 * be measured the same way as the daemon, or the ratio compares different
 * set-ups. On the 2-core machine this gives one core to the server under load
 * and one to the load generator, for the baseline and the daemon alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { z } from 'zod';
import { packageRoot } from '../../src/paths.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { sqliteBackend } from '../../src/store/sqlite/backend.js';
import { Store, type StoreTx } from '../../src/store/store.js';
import { Writer } from '../../src/store/writer.js';
import { loadSchema } from '../../src/schema/loader.js';

// ---- options ---------------------------------------------------------------

const count = (dflt: number, min = 1) => z.coerce.number().int().min(min).default(dflt);

const envSchema = z.object({
  /** Seconds of measured load per case. */
  BENCH_DURATION: count(10),
  /** Seconds of unmeasured load before each case (JIT, caches, SQLite pages). */
  BENCH_WARMUP: count(2, 0),
  BENCH_CONNECTIONS: count(10),
  BENCH_PIPELINING: count(1),
  /** Objects seeded for FIND (and SET targets). */
  BENCH_OBJECTS: count(100_000, 100),
  /** Comma-separated section names to run (all when empty). */
  BENCH_ONLY: z.string().default(''),
  /** Extra node flags for daemon children, space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  BENCH_DAEMON_FLAGS: z.string().default(''),
  /** Keep the daemons' state dirs (with their log files) after the run. */
  BENCH_KEEP: z.enum(['0', '1']).default('0'),
});

export interface BenchOptions {
  duration: number;
  warmup: number;
  connections: number;
  pipelining: number;
  objects: number;
  only: string[];
  daemonFlags: string[];
  keep: boolean;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv): BenchOptions {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`bench: ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const words = (s: string, sep: RegExp) => s.split(sep).map((w) => w.trim()).filter((w) => w !== '');
  return {
    duration: e.BENCH_DURATION,
    warmup: e.BENCH_WARMUP,
    connections: e.BENCH_CONNECTIONS,
    pipelining: e.BENCH_PIPELINING,
    objects: e.BENCH_OBJECTS,
    only: words(e.BENCH_ONLY, /,/),
    daemonFlags: words(e.BENCH_DAEMON_FLAGS, /\s+/),
    keep: e.BENCH_KEEP === '1',
  };
}

// ---- servers under load ------------------------------------------------------

/** Something autocannon can be pointed at: a base URL and the pid whose CPU time is reported. */
export interface Target {
  readonly url: string;
  readonly pid: number;
  close(): Promise<void>;
}

/** Stops a child: SIGTERM (the daemon closes cleanly, a --cpu-prof profile gets written), SIGKILL after 15 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The built file next to this one (dist/test/bench/...). */
const sibling = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), name);

/** The bare fastify baseline (bare-server.ts) in its own process. */
export async function startBare(): Promise<Target> {
  const child = spawn(process.execPath, [sibling('bare-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code} before listening`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, close: () => stopChild(child) };
}

/** A CCE envelope as sent to POST /v2/cce. */
export type CceBody = Record<string, unknown> & { cmd: string };

/** What a reply looks like, loosely: the sections check status and data themselves. */
export interface CceReply {
  status: number;
  message: string;
  data?: Record<string, any>;
}

export async function cce(target: Pick<Target, 'url'>, body: CceBody, headers: Record<string, string> = {}): Promise<CceReply> {
  const res = await fetch(`${target.url}/v2/cce`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as CceReply;
}

/** Throws unless the daemon answers `body` with `status`: a benchmark of error replies measures nothing. */
export async function expectStatus(target: Pick<Target, 'url'>, body: CceBody, status: number, headers: Record<string, string> = {}): Promise<CceReply> {
  const reply = await cce(target, body, headers);
  if (reply.status !== status) {
    throw new Error(`${body.cmd.split(' ')[0]}: expected status ${status}, got ${JSON.stringify(reply).slice(0, 300)}`);
  }
  return reply;
}

export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';

/** A sysadmin bearer token from the Meeting login (what /api/metrics asks for). */
export async function adminBearer(url: string): Promise<string> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: BENCH_ADMIN_PASSWORD }) });
  return ((await r.json()) as { token: string }).token;
}

/** The daemon's own figures, /api/metrics?action=get (the parts the bench reads). */
export interface DaemonMetrics {
  process: { heap_used_bytes: number; heap_total_bytes: number };
  db_metrics: { wal_bytes: number; checkpoints: { runs: number; wal_restarts: number; held_ms: number; longest_held_ms: number } };
}

export async function daemonMetrics(url: string, token: string): Promise<DaemonMetrics> {
  const r = await fetch(`${url}/api/metrics?action=get`, { headers: { authorization: `Bearer ${token}` } });
  return ((await r.json()) as { metrics: DaemonMetrics }).metrics;
}

export interface Session {
  user: string;
  sessionid: string;
  /** The user's own oid (WHOAMI). */
  oid: number;
}

export interface BenchDaemon extends Target {
  readonly stateDir: string;
  readonly dbPath: string;
  /** Schema folders, in the daemon's order: the shipped one, then the extra ones. */
  readonly schemaDirs: string[];
  /** The daemon's stdout and stderr (one JSON line per request). */
  readonly logFile: string;
  /** AUTH as admin, then WHOAMI. */
  adminSession(): Promise<Session>;
}

export interface DaemonOptions {
  /** Config keys, passed as CCED_<KEY> variables; the daemon's defaults otherwise (db_synchronous=FULL). */
  config?: ConfigInput;
  /** Schema folders loaded after the shipped schema/. */
  extraSchemaDirs?: string[];
  /** An existing state dir to reuse (it is then not removed on close). */
  stateDir?: string;
  /** Node flags for the child (BENCH_DAEMON_FLAGS is the usual source). */
  nodeFlags?: string[];
  /** Variables for the child beside the CCED_* ones (the allocator's, as deployed). */
  env?: Record<string, string>;
  /** Remove a temp state dir on close (BENCH_KEEP=1 keeps it). */
  keep?: boolean;
}

export function tempStateDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'cced-bench-'));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The real daemon, `node dist/src/main.js`, configured only through CCED_* variables like any deployment. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<BenchDaemon> {
  const ownDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? tempStateDir();
  const root = packageRoot();
  const schemaDirs = [path.join(root, 'schema'), ...(opts.extraSchemaDirs ?? [])];
  const port = await freePort();
  // The caller's own CCED_* variables must not leak into the measured daemon.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CCED_')));
  Object.assign(env, {
    CCED_STATE_DIR: stateDir,
    CCED_LISTEN_ADDRESS: `127.0.0.1:${port}`,
    CCED_SCHEMA_DIR: schemaDirs.join(','),
    CCED_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
  });
  Object.assign(env, opts.env);
  for (const [k, v] of Object.entries(opts.config ?? {})) env[`CCED_${k.toUpperCase()}`] = v;
  const logFile = path.join(stateDir, `daemon-${port}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), path.join(root, 'dist/src/main.js')], {
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const d: BenchDaemon = {
    url,
    pid: child.pid!,
    stateDir,
    dbPath: path.join(stateDir, 'cced.db'),
    schemaDirs,
    logFile,
    async close() {
      await stopChild(child);
      if (ownDir && !opts.keep) rmSync(stateDir, { recursive: true, force: true });
    },
    async adminSession() {
      const auth = await expectStatus(d, { cmd: 'AUTH', user: 'admin', password: BENCH_ADMIN_PASSWORD }, 201);
      const session = { user: 'admin', sessionid: String(auth.data!.sessionid) };
      const who = await expectStatus(d, { cmd: 'WHOAMI', ...session }, 201);
      return { ...session, oid: Number(who.data!.oid) };
    },
  };
  // Ready when PING answers; bootstrap (an argon2 hash) runs before the daemon listens.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${tail(logFile)}`);
    try {
      if ((await cce(d, { cmd: 'PING' })).status === 202) return d;
    } catch {
      /* not listening yet */
    }
    if (i >= 300) {
      await d.close();
      throw new Error(`daemon did not answer PING within 30 s:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
}

/**
 * Writes into a running daemon's store from this process: its SQLite file
 * opened a second time (WAL allows it), the same schema, and the Store API in
 * ONE writer transaction, so seeding 100,000 objects costs one commit. The
 * daemon sees another connection's commit (SQLite's data_version) and drops
 * whatever it remembered, so it then reads them like any others.
 */
export async function seedStore<R>(d: BenchDaemon, fill: (store: StoreTx) => R | Promise<R>): Promise<R> {
  const db = openDb(d.dbPath);
  try {
    const store = new Store(sqliteBackend(db), loadSchema(d.schemaDirs));
    return await new Writer(sqliteBackend(db)).submit((w) => fill(store.at(w)));
  } finally {
    db.close();
  }
}

// ---- load --------------------------------------------------------------------

export interface Measured {
  /** Mean requests per second over the measured seconds. */
  rps: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Replies with an HTTP status outside 2xx. */
  non2xx: number;
  /** CPU used by the target process during the measured run, % of one core (Linux /proc; NaN elsewhere). */
  serverCpu: number;
  /** CPU used by this process (the load generator), % of one core. */
  clientCpu: number;
  /** Server CPU time per request, microseconds: steadier than req/s on a busy machine. */
  cpuPerRequest: number;
  /**
   * req/s of the bare handler measured right around this case (half before, half after), when
   * measured paired: the ratio then compares runs made under the same machine load.
   */
  pairedBaseline?: number;
}

export interface LoadOptions {
  duration: number;
  warmup: number;
  connections: number;
  pipelining: number;
  /** Extra request headers (X-Client-Secret), sent to the bare handler too so both get the same bytes. */
  headers?: Record<string, string>;
}

/** utime + stime of a process in seconds, from /proc/<pid>/stat (clock ticks of 1/100 s on Linux). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function fire(url: string, requests: CceBody[], o: Omit<LoadOptions, 'warmup'>) {
  return autocannon({
    url: `${url}/v2/cce`,
    connections: o.connections,
    pipelining: o.pipelining,
    duration: o.duration,
    // Each connection cycles through the bodies in order.
    requests: requests.map((b) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...o.headers }, body: JSON.stringify(b) })),
  });
}

/** A warm-up, then a measured autocannon run; the same for the baseline and every daemon case. */
export async function load(target: Target, body: CceBody | CceBody[], o: LoadOptions): Promise<Measured> {
  const requests = Array.isArray(body) ? body : [body];
  if (o.warmup > 0) await fire(target.url, requests, { ...o, duration: o.warmup });
  const cpu0 = cpuSeconds(target.pid);
  const own0 = process.cpuUsage();
  const r = await fire(target.url, requests, o);
  return measuredOf(r, cpuSeconds(target.pid) - cpu0, process.cpuUsage(own0));
}

/** An autocannon result as a row's figures, with the server's CPU seconds and the generator's CPU usage over its run. */
export function measuredOf(r: autocannon.Result, serverSeconds: number, own: NodeJS.CpuUsage): Measured {
  const seconds = r.duration;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    serverCpu: (serverSeconds / seconds) * 100,
    clientCpu: ((own.user + own.system) / 1e6 / seconds) * 100,
    cpuPerRequest: (serverSeconds / r.requests.total) * 1e6,
  };
}

/** What the bare handler is sent: the same bytes as the daemon's PING case. */
export const BARE_BODY: CceBody = { cmd: 'PING' };

/**
 * The case measured between two half-length runs of the bare handler (bare,
 * case, bare): the machine is shared, and a load change that slows both alike
 * leaves the ratio alone. The bare server stays warm, so it gets no warm-up.
 */
export async function loadPaired(bare: Target, target: Target, body: CceBody | CceBody[], o: LoadOptions): Promise<Measured> {
  const half = { ...o, warmup: 0, duration: Math.max(1, Math.round(o.duration / 2)) };
  const before = await load(bare, BARE_BODY, half);
  const result = await load(target, body, o);
  const after = await load(bare, BARE_BODY, half);
  return { ...result, pairedBaseline: (before.rps + after.rps) / 2 };
}

// ---- sections and the report -----------------------------------------------------

export interface Row {
  section: string;
  name: string;
  result: Measured;
  /** Minimum ratio to the baseline's req/s, when the issue sets one. */
  target?: number;
  note?: string;
}

/** What every section (core.ts, gate.ts, tx.ts, devices.ts) receives from run.ts. */
export interface BenchContext {
  readonly options: BenchOptions;
  /** The bare fastify handler, measured first with the same connections and duration. */
  readonly baseline: Measured;
  /** loadPaired() against the run's bare server, with the run's options (overridable per case). */
  measure(target: Target, body: CceBody | CceBody[], overrides?: Partial<LoadOptions>): Promise<Measured>;
  /** Adds a row: req/s, p99, ratio to the baseline, and the target with met / NOT met. Never fails the run. */
  report(name: string, result: Measured, target?: number, note?: string): void;
  /** A line printed under the table (set-up facts: seeding time, durability setting...). */
  note(text: string): void;
  /** Daemon start-up with the run's node flags and keep setting applied. */
  startDaemon(opts?: DaemonOptions): Promise<BenchDaemon>;
}

export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The rows as an aligned text table, each ratio against the baseline. */
export function formatTable(rows: Row[], baseline: Measured): string {
  const head = ['section', 'case', 'req/s', 'bare req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', 'met', 'srv CPU', 'µs/req', 'gen CPU', 'notes'];
  const body = rows.map(({ section, name, result: r, target, note }) => {
    const bare = r.pairedBaseline ?? baseline.rps;
    const ratio = r.rps / bare;
    const problems = [r.errors ? `${r.errors} errors` : '', r.non2xx ? `${r.non2xx} non-2xx` : ''].filter(Boolean);
    return [
      section,
      name,
      fmt(r.rps),
      fmt(bare),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      fmt(ratio, 2),
      target === undefined ? '' : `>= ${target.toFixed(2)}`,
      target === undefined ? '' : ratio >= target ? 'yes' : 'NO',
      `${fmt(r.serverCpu)}%`,
      fmt(r.cpuPerRequest),
      `${fmt(r.clientCpu)}%`,
      [...problems, note ?? ''].filter(Boolean).join('; '),
    ];
  });
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6, 9, 10, 11]);
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
