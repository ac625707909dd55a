/**
 * Transaction benchmarks (npm run bench calls benchTx):
 * - COMMIT of 1,000 queued SETs: server-side time (the daemon's own request
 *   log line, `ms`), median of several runs;
 * - BEGIN + 10 SETs + COMMIT batches from 20 concurrent sessions: batches/s.
 * A real daemon on loopback with synchronous=FULL, as in production.
 */
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { ADMIN_PASSWORD, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { keepAliveClient, type KeepAliveClient } from '../helpers/keepalive.js';

export interface BenchTxOptions {
  /** Where the figures go (default console.log). */
  print?: (line: string) => void;
  /** Runs of the 1,000-SET COMMIT (default 7). */
  runs?: number;
  /** Batches per session in the throughput part (default 20). */
  batchesPerSession?: number;
}

export interface BenchTxResult {
  commit1000: { medianMs: number; runsMs: number[] };
  batches: { sessions: number; batches: number; seconds: number; batchesPerSecond: number; commandsPerSecond: number };
}

const SETS_PER_COMMIT = 1000;
const SESSIONS = 20;
const SETS_PER_BATCH = 10;

type Session = { c: KeepAliveClient; cred: { user: string; sessionid: string } };

async function session(d: TestDaemon, sockets = 8): Promise<Session> {
  const c = keepAliveClient(d.url, sockets);
  const r = await c.post({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  return { c, cred: { user: 'admin', sessionid: r.body.data.sessionid } };
}

async function expect201(s: Session, cmd: string | Record<string, unknown>): Promise<any> {
  const r = await s.c.post({ ...(typeof cmd === 'string' ? { cmd } : cmd), ...s.cred });
  if (r.body.status !== 201) throw new Error(`${JSON.stringify(cmd).slice(0, 80)} answered ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

/** BEGIN, queue the commands, COMMIT; returns the COMMIT reply. */
async function transaction(s: Session, cmds: string[], parallel = 1): Promise<any> {
  await expect201(s, 'BEGIN');
  const queued = await s.c.postAll(cmds.map((cmd) => ({ cmd, ...s.cred })), parallel);
  if (queued.some((r) => r.body.status !== 100)) throw new Error('a write was not queued');
  return expect201(s, 'COMMIT');
}

/** The daemon's own duration of the last COMMIT request, from its request log line. */
function lastCommitMs(d: TestDaemon): number {
  for (let i = d.logs.length - 1; i >= 0; i--) {
    const line = JSON.parse(d.logs[i]!) as { msg?: string; verb?: string; ms?: number };
    if (line.msg === 'request' && line.verb === 'COMMIT') return line.ms!;
  }
  throw new Error('no COMMIT request line in the log');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchTx(opts: BenchTxOptions = {}): Promise<BenchTxResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const runs = opts.runs ?? 7;
  const perSession = opts.batchesPerSession ?? 20;
  const root = packageRoot();
  const d = await startDaemon({
    config: { db_synchronous: 'FULL', schema_dir: `${path.join(root, 'schema')},${path.join(root, 'test', 'fixtures', 'schema')}` },
  });
  try {
    const admin = await session(d, 16);
    const made = await transaction(admin, Array.from({ length: SETS_PER_COMMIT }, (_, i) => `CREATE TxItem seq="${i}"`), 16);
    const oids: string[] = made.data.results.map((r: { oid: string }) => r.oid);

    const runsMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      await transaction(admin, oids.map((oid) => `SET ${oid} label="run ${run}"`), 16);
      runsMs.push(lastCommitMs(d));
    }
    const commit1000 = { medianMs: median(runsMs), runsMs };
    print(`tx: COMMIT of ${SETS_PER_COMMIT} queued SETs, server-side: median ${commit1000.medianMs} ms (runs: ${runsMs.join(', ')} ms)`);

    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => session(d, 1)));
    const t0 = process.hrtime.bigint();
    await Promise.all(
      sessions.map(async (s, k) => {
        for (let b = 0; b < perSession; b++) {
          const mine = Array.from({ length: SETS_PER_BATCH }, (_, i) => oids[(k * SETS_PER_BATCH + i) % oids.length]!);
          await transaction(s, mine.map((oid) => `SET ${oid} label="s${k} b${b}"`));
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const batches = SESSIONS * perSession;
    const result = {
      sessions: SESSIONS,
      batches,
      seconds: Math.round(seconds * 100) / 100,
      batchesPerSecond: Math.round(batches / seconds),
      commandsPerSecond: Math.round((batches * SETS_PER_BATCH) / seconds),
    };
    print(
      `tx: BEGIN + ${SETS_PER_BATCH} SETs + COMMIT from ${SESSIONS} concurrent sessions: ${result.batchesPerSecond} batches/s ` +
        `(${result.commandsPerSecond} SETs/s, ${batches} batches in ${result.seconds} s)`,
    );
    for (const s of [admin, ...sessions]) s.c.close();
    return { commit1000, batches: result };
  } finally {
    await d.close();
  }
}
