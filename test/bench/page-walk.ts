/**
 * How long a deep offset of the device list holds the event loop: the Store in this process on a kept
 * seeded fleet (test/bench/scale.ts, BENCH_SCALE_SEEDS; opened read-mostly: pages only read), the last
 * page asked first (no start remembered), again, and 30,000 entries before it. Prints each page's time
 * and the longest event-loop delay during it, with the walk in steps (Store.pageWalkStep) and, for the
 * baseline, in one statement.
 *
 *   node dist/test/bench/page-walk.js SEEDS_DIR/devices-1000000.db
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openSqlite } from '../../src/store/sqlite/backend.js';
import { Store, SYSTEM } from '../../src/store/store.js';
import { loadSchema } from '../../src/schema/loader.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pages(file: string, step: number | undefined): Promise<void> {
  const backend = openSqlite(file, { synchronous: 'NORMAL' });
  try {
    const store = new Store(backend, loadSchema(['schema']));
    if (step !== undefined) store.pageWalkStep = step;
    const devices = await store.count();
    for (const [label, back] of [['last page, first visit', 100], ['last page, again', 100], ['30,000 entries before it', 30_100]] as const) {
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      // The histogram counts from its first tick on: a block before it would not be seen.
      await tick(20);
      const started = performance.now();
      await store.page(SYSTEM, 'Device', 'device_key', { limit: 100, offset: devices - back });
      const ms = performance.now() - started;
      await tick(20);
      delay.disable();
      console.log(`${step === undefined ? 'in steps' : 'one statement'}: ${label}: ${ms.toFixed(1)} ms, event loop held at most ${(delay.max / 1e6).toFixed(1)} ms`);
    }
  } finally {
    await backend.close();
  }
}

const file = process.argv[2];
if (!file) throw new Error('usage: node dist/test/bench/page-walk.js SEEDS_DIR/devices-1000000.db');
await pages(file, undefined);
await pages(file, Number.MAX_SAFE_INTEGER);
