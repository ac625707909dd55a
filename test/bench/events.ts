/**
 * The change log's cost and its readers' speed (BENCH_ONLY=events):
 *
 * - what the change log adds to a write, in store CPU: the same writes through
 *   a Store and Writer with and without the ChangeLog listening (best of 3 ×
 *   20,000, in batches of 100 per transaction, process.cpuUsage): a plain SET,
 *   a coalesced heartbeat (most record nothing), a heartbeat recorded every time;
 * - SET throughput against the daemon with 0, 10 and 100 open /v2/events
 *   streams (every stream gets every change), each as a ratio to 0 streams in
 *   the same run (target ≥ 0.9 with 100);
 * - end-to-end latency, SET sent -> its change received on a stream, p50/p99,
 *   with 1 and with 100 streams open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDb } from '../../src/store/sqlite/db.js';
import { sqliteBackend } from '../../src/store/sqlite/backend.js';
import { Store, SYSTEM, type StoreTx } from '../../src/store/store.js';
import { Writer } from '../../src/store/writer.js';
import { ChangeLog } from '../../src/store/changes.js';
import { loadSchema } from '../../src/schema/loader.js';
import { packageRoot } from '../../src/paths.js';
import { cce, expectStatus, type BenchContext, type BenchDaemon, type BenchSection, type CceBody, type Measured, type Session } from './lib.js';

const WRITES = 20_000;
const BATCH = 100;
const TARGETS = 100;
const LATENCY_SAMPLES = 300;

/** Store CPU per write (µs), best of 3, with or without the change log. */
async function cpuPerWrite(withLog: boolean, heartbeatMs: number, write: (store: StoreTx, oid: number, i: number) => Promise<void>): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-bench-log-'));
  const db = openDb(path.join(dir, 'b.db'), { synchronous: 'NORMAL' });
  try {
    const store = new Store(sqliteBackend(db), loadSchema([path.join(packageRoot(), 'schema')]));
    const writer = new Writer(sqliteBackend(db));
    if (withLog) store.onWrite(new ChangeLog(sqliteBackend(db), writer, heartbeatMs).record);
    const oids = await writer.submit(async (w) => {
      const out: number[] = [];
      for (let i = 0; i < TARGETS; i++) out.push(await store.at(w).create(SYSTEM, 'Device', { device_key: `BENCH${String(i).padStart(4, '0')}`, token_code: '0123456789abcdef' }));
      return out;
    });
    let best = Infinity;
    for (let run = 0; run < 3; run++) {
      const t0 = process.cpuUsage();
      for (let done = 0; done < WRITES; done += BATCH) {
        await writer.submit(async (w) => {
          for (let i = done; i < done + BATCH; i++) await write(store.at(w), oids[i % TARGETS]!, i);
        });
      }
      const used = process.cpuUsage(t0);
      best = Math.min(best, (used.user + used.system) / WRITES);
    }
    return best;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function storeCost(ctx: BenchContext): Promise<void> {
  const cases: [string, number, (store: StoreTx, oid: number, i: number) => Promise<void>][] = [
    ['SET 1 property', 60_000, (s, oid, i) => s.set(SYSTEM, oid, '', { device_name: `n${i}` })],
    ['heartbeat, coalesced (60 s)', 60_000, (s, oid, i) => s.set(SYSTEM, oid, '', { last_seen: new Date(1_700_000_000_000 + i).toISOString(), ip_address: '10.0.0.1' }, { routine: true })],
    ['heartbeat, every beat logged', 0, (s, oid, i) => s.set(SYSTEM, oid, '', { last_seen: new Date(1_700_000_000_000 + i).toISOString(), ip_address: '10.0.0.1' }, { routine: true })],
  ];
  for (const [name, interval, write] of cases) {
    const without = await cpuPerWrite(false, interval, write);
    const withLog = await cpuPerWrite(true, interval, write);
    ctx.note(`store CPU per write, ${name}: ${without.toFixed(1)} µs without the change log, ${withLog.toFixed(1)} µs with it (+${(withLog - without).toFixed(1)} µs); best of 3 x ${WRITES}, ${BATCH} per transaction`);
  }
}

/** An open /v2/events stream; `onData` sees every chunk (a consumer that only counts bytes by default). */
function openStream(d: BenchDaemon, s: Session, onData: (chunk: string) => void = () => {}): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(`${d.url}/v2/events`, { headers: { 'x-cce-user': s.user, 'x-cce-session': s.sessionid } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', onData);
      resolve(req);
    });
    req.on('error', () => {});
    req.end();
  });
}

async function throughput(ctx: BenchContext, d: BenchDaemon, s: Session, bodies: CceBody[]): Promise<void> {
  const streams: ClientRequest[] = [];
  let zero: Measured | undefined;
  for (const n of [0, 10, 100]) {
    while (streams.length < n) streams.push(await openStream(d, s));
    const r = await ctx.measure(d, bodies);
    zero ??= r;
    const ratio = r.rps / zero.rps;
    ctx.report(`SET with ${n} streams`, r, undefined, n === 0 ? 'the reference for the ratios below' : `ratio to 0 streams ${ratio.toFixed(2)}${n === 100 ? ' (target >= 0.9)' : ''}; every stream gets every change`);
  }
  for (const r of streams) r.destroy();
}

/** SET sent -> its change on a stream, sequentially, with `others` more streams open. */
async function latency(ctx: BenchContext, d: BenchDaemon, s: Session, others: number): Promise<void> {
  const extra: ClientRequest[] = [];
  for (let i = 0; i < others; i++) extra.push(await openStream(d, s));
  let waiting: ((id: number) => void) | undefined;
  let buffer = '';
  const stream = await openStream(d, s, (chunk) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const m = /^id: (\d+)$/m.exec(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (m) waiting?.(Number(m[1]));
    }
  });
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const seen = new Promise<void>((resolve) => (waiting = () => resolve()));
    const t0 = performance.now();
    await cce(d, { cmd: `SET ${s.oid} description = "latency ${i}"`, user: s.user, sessionid: s.sessionid });
    await seen;
    samples.push(performance.now() - t0);
  }
  stream.destroy();
  for (const r of extra) r.destroy();
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  ctx.note(`SET sent -> change received, ${others + 1} stream(s) open: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms (${LATENCY_SAMPLES} sequential SETs, db_synchronous=FULL)`);
}

export const events: BenchSection = {
  name: 'events',
  async run(ctx) {
    await storeCost(ctx);
    const d = await ctx.startDaemon({ config: { event_streams_per_ip: '200', max_connections_per_ip: '400' } });
    try {
      const s = await d.adminSession();
      const auth = { user: s.user, sessionid: s.sessionid };
      const oids: string[] = [];
      for (let i = 0; i < 100; i++) oids.push(String((await expectStatus(d, { cmd: `CREATE User name = "bench${i}"`, ...auth }, 201)).data!.oid));
      const bodies = oids.map((oid, i): CceBody => ({ cmd: `SET ${oid} description = "bench ${i}"`, ...auth }));
      await throughput(ctx, d, s, bodies);
      await latency(ctx, d, s, 0);
      await latency(ctx, d, s, 99);
    } finally {
      await d.close();
    }
  },
};
