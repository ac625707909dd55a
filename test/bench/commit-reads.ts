/**
 * Reads during a big COMMIT: a BEGIN queue of 10,000 SETs is committed while
 * READERS clients keep sending GETs of random objects and one keeps sending
 * PINGs; prints the COMMIT's own time and p50/p99/max of the GETs and PINGs
 * answered meanwhile. At 100k devices (and 1M with BENCH_SCALE_MAX=1000000),
 * each against the real daemon on a file database with the default durable
 * settings (db_synchronous=FULL). With BENCH_SCALE_SEEDS it starts from the
 * scale section's kept seeded files (seeding them first when missing).
 */
import { rmSync } from 'node:fs';
import { cce, expectStatus, tempStateDir, type BenchDaemon, type BenchSection, type Session } from './lib.js';
import { seeded } from './scale.js';

const SETS = 10_000;
const READERS = 4;

export interface CommitReads {
  sets: number;
  commitMs: number;
  gets: number[];
  pings: number[];
}

const ms = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(1)} ms`);

/** p50, p99 and max of a list of durations. */
export function spread(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))];
  return `p50 ${ms(at(0.5))}, p99 ${ms(at(0.99))}, max ${ms(s.at(-1))} (${s.length})`;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** COMMIT of SETs of the `written` objects while others read any of `readable`; every read and the COMMIT timed. */
export async function commitWhileReading(d: BenchDaemon, admin: Session, written: readonly string[], readable: readonly string[], label: string): Promise<CommitReads> {
  await expectStatus(d, { cmd: 'BEGIN', ...admin }, 201);
  for (let i = 0; i < written.length; i += 100) {
    await Promise.all(written.slice(i, i + 100).map((oid) => cce(d, { cmd: `SET ${oid} note = "${label}"`, ...admin })));
  }
  const gets: number[] = [];
  const pings: number[] = [];
  let committing = true;
  const readers = Array.from({ length: READERS }, async (_, k) => {
    for (let i = k; committing; i += 7919) {
      const oid = readable[i % readable.length]!;
      gets.push(await timed(async () => expectStatus(d, { cmd: `GET ${oid}`, ...admin }, 201)));
    }
  });
  const pinger = (async () => {
    while (committing) pings.push(await timed(() => expectStatus(d, { cmd: 'PING' }, 202)));
  })();
  // The readers are under way before the COMMIT is sent.
  await new Promise((r) => setTimeout(r, 50));
  gets.length = 0;
  pings.length = 0;
  const commitMs = await timed(() => expectStatus(d, { cmd: 'COMMIT', ...admin }, 201));
  committing = false;
  await Promise.all([...readers, pinger]);
  return { sets: written.length, commitMs, gets, pings };
}

export const commitReads: BenchSection = {
  name: 'commit-reads',
  async run(ctx) {
    const max = Number(process.env.BENCH_SCALE_MAX ?? 100_000);
    for (const devices of [100_000, 1_000_000].filter((n) => n <= max)) {
      process.stderr.write(`bench: commit-reads: ${devices} devices\n`);
      const stateDir = tempStateDir();
      await seeded(ctx, stateDir, devices, new Map());
      const d = await ctx.startDaemon({ stateDir });
      try {
        const admin = await d.adminSession();
        const found = await expectStatus(d, { cmd: 'FINDX', class: 'Device', args: { device_type: 'bench' }, ...admin }, 201);
        const written = (found.data!.oidlist as string[]).slice(0, SETS);
        // Seeded in one run: the devices' oids follow each other.
        const readable = Array.from({ length: devices }, (_, i) => String(Number(written[0]) + i));
        for (let run = 0; run < 3; run++) {
          const r = await commitWhileReading(d, admin, written, readable, `run ${run}`);
          ctx.note(`${devices / 1000}k devices, run ${run}: COMMIT of ${r.sets} SETs ${ms(r.commitMs)}; GETs meanwhile (${READERS} clients) ${spread(r.gets)}; PINGs ${spread(r.pings)}`);
        }
      } finally {
        await d.close();
        rmSync(stateDir, { recursive: true, force: true });
      }
    }
  },
};
