/**
 * `BENCH_ONLY=port`: the store port's own costs (src/store/async-port.ts) on
 * SQLite (its asynchronous adapter) and PostgreSQL side by side: a read of
 * one object, a write transaction, an indexed find, each with one operation in
 * flight (latency) and with ten (what a pool buys), and the PostgreSQL/SQLite
 * ratio. No HTTP: this is what the store will pay per call once it is
 * asynchronous. Also: an await of an already-resolved Promise against a plain
 * call, the price the SQLite hot paths would pay for the asynchronous port.
 *
 * PostgreSQL: TEST_POSTGRES_URL, or a throwaway cluster on this machine
 * (test/helpers/postgres.ts: fsync=off), else its rows are skipped with the
 * reason. SQLite runs with synchronous=NORMAL (a commit is not fsynced
 * either), so the ratio compares the engines and the port, not the disks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchContext, BenchSection, Measured } from './lib.js';
import type { AsyncStoreBackend } from '../../src/store/async-port.js';
import { openSqlite } from '../../src/store/sqlite/backend.js';
import { SqliteAsyncBackend } from '../../src/store/sqlite/async-adapter.js';
import { openPostgres } from '../../src/store/postgres/backend.js';
import { testDatabase } from '../helpers/postgres.js';
import { ClientPatterns } from '../../src/store/safe-regex.js';

/** Objects seeded per backend: enough for the indexes to matter, few enough to seed PostgreSQL in seconds. */
const OBJECTS = 10_000;
/** Objects per value of `group`: each find answers this many. */
const HITS = 10;

interface Case {
  name: string;
  op: (b: AsyncStoreBackend, i: number) => Promise<unknown>;
}

const CASES: readonly Case[] = [
  { name: 'read one object (classAndValues)', op: (b, i) => b.objects.classAndValues(1 + (i % OBJECTS), '') },
  {
    name: 'write transaction (1 putValue)',
    op: (b, i) => b.transaction((tx) => tx.objects.putValue(1 + ((i * 7919) % OBJECTS), '', 'n', 'Thing', String(i))),
  },
  {
    name: `find = (${HITS} hits of ${OBJECTS})`,
    op: (b, i) => b.objects.find({ className: 'Thing', driver: 0, terms: [{ ns: '', name: 'group', op: '=', value: `g${i % (OBJECTS / HITS)}`, array: false, orMissing: false }] }).all(),
  },
  {
    // The change log's rows: on PostgreSQL the transaction takes the log's advisory lock first (commit order).
    name: 'write transaction (1 putValue, 1 change row)',
    op: (b, i) =>
      b.transaction(async (tx) => {
        const oid = 1 + ((i * 7919) % OBJECTS);
        await tx.objects.putValue(oid, '', 'n', 'Thing', String(i));
        await tx.changes.insert(i, 'Thing', oid, '', '["n"]', false, false);
      }),
  },
  { name: 'external version read', op: (b) => b.externalVersion() },
  // name = thing-<k>: `^thing-99d` matches thing-99d and thing-99d0..9 (11 of 10,000); without the `^` the same 11.
  { name: `find ~ ^literal prefix (11 hits of ${OBJECTS})`, op: (b, i) => findMatching(b, `^thing-99${i % 10}`) },
  { name: `find ~ no prefix (11 hits of ${OBJECTS})`, op: (b, i) => findMatching(b, `thing-99${i % 10}`) },
];

function findMatching(b: AsyncStoreBackend, pattern: string): Promise<number[]> {
  return b.objects.find({ className: 'Thing', driver: -1, terms: [{ ns: '', name: 'name', op: '~', value: pattern, array: false, orMissing: false }] }).all();
}

async function seed(b: AsyncStoreBackend): Promise<void> {
  for (let from = 0; from < OBJECTS; from += 1000) {
    await b.transaction(async (tx) => {
      for (let k = from; k < from + 1000; k++) {
        const oid = await tx.objects.insertObject('Thing', k);
        await tx.objects.putValue(oid, '', 'name', 'Thing', `thing-${k}`);
        await tx.objects.putValue(oid, '', 'group', 'Thing', `g${k % (OBJECTS / HITS)}`);
        await tx.objects.putValue(oid, '', 'n', 'Thing', '0');
      }
    });
  }
}

/** Runs `op` for `seconds` with `inFlight` calls outstanding; operations per second and the 99th percentile (ms). */
async function drive(b: AsyncStoreBackend, op: Case['op'], seconds: number, inFlight: number): Promise<{ perSec: number; p99: number }> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await op(b, i++);
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((x, y) => x - y);
  return { perSec: latencies.length / elapsed, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
}

/** No server process and no bare baseline here: only the rate and the 99th percentile are known. */
const row = (perSec: number, p99: number): Measured => ({ rps: perSec, p50: NaN, p99, errors: 0, non2xx: 0, serverCpu: NaN, clientCpu: NaN, cpuPerRequest: NaN, pairedBaseline: NaN });

/** ns per call of a plain function and of an await on an already-resolved Promise, in one loop each. */
export async function awaitCost(calls = 2_000_000): Promise<{ plainNs: number; awaitNs: number }> {
  let sink = 0;
  const plain = (x: number) => x + 1;
  const resolved = (x: number) => Promise.resolve(x + 1);
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) sink += plain(i);
  const plainNs = ((performance.now() - t0) * 1e6) / calls;
  t0 = performance.now();
  for (let i = 0; i < calls; i++) sink += await resolved(i);
  const awaitNs = ((performance.now() - t0) * 1e6) / calls;
  if (sink === -1) console.log(sink);
  return { plainNs, awaitNs };
}

export const port: BenchSection = {
  name: 'port',
  async run(ctx: BenchContext) {
    const seconds = Math.max(2, Math.round(ctx.options.duration / 4));
    const cost = await awaitCost();
    ctx.note(`await of a resolved Promise ${cost.awaitNs.toFixed(0)} ns vs a plain call ${cost.plainNs.toFixed(1)} ns (2,000,000 calls each)`);
    const dir = mkdtempSync(path.join(tmpdir(), 'cced-bench-port-'));
    const teardowns: (() => Promise<void>)[] = [];
    try {
      const backends: [string, AsyncStoreBackend][] = [['SQLite', new SqliteAsyncBackend(openSqlite(path.join(dir, 'store.db'), { synchronous: 'NORMAL' }))]];
      const pgDb = await testDatabase({ teardown: (fn) => teardowns.push(fn) });
      if (pgDb.url !== undefined) backends.push(['PostgreSQL', await openPostgres(pgDb.url, { max: 10 })]);
      else ctx.note(`PostgreSQL skipped: ${pgDb.skip}`);
      for (const [, b] of backends) {
        const patterns = new ClientPatterns();
        b.useMatcher((p, v) => patterns.test(p, v));
        await seed(b);
      }
      for (const c of CASES) {
        for (const inFlight of [1, 10]) {
          const measured: Record<string, { perSec: number; p99: number }> = {};
          for (const [name, b] of backends) {
            measured[name] = await drive(b, c.op, seconds, inFlight);
            const times = measured.SQLite!.perSec / measured[name].perSec;
            const ratio = name === 'PostgreSQL' ? `; PostgreSQL/SQLite ${times.toFixed(times < 1 ? 2 : 1)}x` : '';
            ctx.report(`${name}: ${c.name}, ${inFlight} in flight`, row(measured[name].perSec, measured[name].p99), undefined, `ops/s, ${(1e6 / measured[name].perSec).toFixed(0)} µs/op${ratio}`);
          }
        }
      }
      for (const [, b] of backends) await b.close();
    } finally {
      for (const fn of teardowns.reverse()) await fn().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
