/**
 * `npm run fuzz [-- --cases 100000 --seed S --ping-ms 100]`: the whole fuzz
 * (test/harness/fuzz-run.ts) against a daemon in its own process, with PING
 * measured beside it from another process. Prints figures; exits 1 on any
 * finding or on a PING slower than --ping-ms.
 */
import { startWorld } from './world.js';
import { listRoutes } from './routes.js';
import { describeFinding, runFuzz, type FuzzStats } from './fuzz-run.js';
import { startPingProbe, type PingFigures } from './ping-probe.js';
import { numberArgs } from './args.js';

const args = numberArgs(process.argv.slice(2), { cases: 100_000, seed: Date.now() % 1_000_000_007, 'ping-ms': 100, 'max-findings': 20, heavy: 1 });
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const routes = await listRoutes();
const world = await startWorld({ heavy: args.heavy !== 0 });
const probe = startPingProbe(world.d.url, 20, args['ping-ms']);
const rss0 = world.d.rss();
const started = Date.now();
console.log(`fuzz: ${args.cases} cases, seed ${args.seed}, ${args.heavy ? 'with' : 'WITHOUT'} known-bad patterns, ${routes.length} REST routes, daemon pid ${world.d.pid}`);
let stats: FuzzStats;
let ping: PingFigures;
let rss1 = 0;
try {
  stats = await runFuzz({
    world,
    routes,
    cases: args.cases,
    seed: args.seed,
    maxFindings: args['max-findings'],
    slow: (ms, c) => console.log(`  slow: ${Math.round(ms)} ms for ${JSON.stringify(c).slice(0, 300)}`),
    progress: (n, s) => {
      if (n % 1000 === 0) console.log(`  ${n} cases, ${Math.round(n / ((Date.now() - started) / 1000))}/s, ${s.findings.length} findings, daemon RSS ${mib(world.d.rss())}`);
    },
  });
} finally {
  ping = await probe.stop();
  try { rss1 = world.d.rss(); } catch { /* the daemon is gone: a finding says why */ }
  await world.close();
}
for (const f of stats.findings) console.log(describeFinding(f));
console.log(`cases ${stats.cases} in ${(stats.ms / 1000).toFixed(1)} s (${Math.round(stats.cases / (stats.ms / 1000))}/s); by kind ${JSON.stringify(stats.byKind)}, ms waiting ${JSON.stringify(stats.msByKind)}`);
console.log(`statuses ${JSON.stringify(stats.statuses)}; refused ${stats.refused}; store read whole ${stats.storeReads} times`);
console.log(`PING every 20 ms: ${ping.count} answered, p50 ${ping.p50} ms, p99 ${ping.p99} ms, max ${ping.max} ms, ${ping.over} over ${ping.boundMs} ms (failed ${ping.failed})`);
console.log(`daemon RSS ${mib(rss0)} -> ${mib(rss1)}`);
console.log(`findings: ${stats.findings.length}${stats.findings.length ? ` (${stats.findings.map((f) => f.what).join(', ')})` : ''}`);
process.exit(stats.findings.length > 0 || ping.over > 0 ? 1 : 0);
