/**
 * The standing fuzz, a bounded share of it (test/harness/fuzz.ts runs more,
 * and measures PING meanwhile): generated envelopes, CSCP lines, regular
 * expressions and Meeting REST requests, as a sysadmin, an ordinary user, a
 * device and nobody, against a daemon in its own process. No 5xx for any of
 * them, every one answered, the daemon alive, and the store untouched by
 * every refused request. A finding prints its reproducer.
 */
import t from 'tap';
import { startWorld } from './harness/world.js';
import { listRoutes } from './harness/routes.js';
import { watchStore } from './harness/store-digest.js';
import { describeFinding, runFuzz } from './harness/fuzz-run.js';

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
// Bounded in time too (the whole suite has a budget; a loaded machine runs fewer cases).
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 75_000);

// A fixed seed by default, so a suite run is reproducible and a red CI means a regression; `npm run fuzz`
// draws a new seed each run to explore, and FUZZ_SEED=<n> replays any of them here.
const SEED = Number(process.env.FUZZ_SEED ?? 179_249_608);

t.test(`${CASES} generated requests: no 5xx, no crash, no change from a refusal`, async (t) => {
  const routes = await listRoutes();
  t.ok(routes.length > 50, `${routes.length} Meeting routes to fuzz`);
  const world = await startWorld();
  t.teardown(() => world.close());
  // The oracle itself: a write it is told was refused shows up as a difference, row by row.
  const watch = await watchStore(world.d.stateDir);
  await watch.ready();
  t.equal((await world.client.cce({ cmd: 'CREATE User name="oracle-probe"', ...world.admin })).status, 200);
  const diff = await watch.check(true);
  t.equal(diff?.tables.objects?.added.length, 1, 'the store oracle sees a committed write (one object added)');
  t.equal(await watch.check(true), undefined, 'and nothing when nothing changed');
  await watch.close();
  const stats = await runFuzz({ world, routes, cases: CASES, seed: SEED, budgetMs: BUDGET_MS });
  t.comment(`seed=${SEED} cases=${stats.cases} refused=${stats.refused} kinds=${JSON.stringify(stats.byKind)} statuses=${JSON.stringify(stats.statuses)} store-reads=${stats.storeReads} ${stats.ms} ms`);
  for (const f of stats.findings) t.fail(`${describeFinding(f)}\n  (reproduce: npm run fuzz -- --seed ${SEED} --cases ${stats.cases})`);
  t.equal(stats.findings.length, 0, 'no finding');
  t.ok(stats.cases >= Math.min(CASES, 1000), `${stats.cases} cases ran`);
  // Every kind of request was tried, and the daemon refused some and accepted some.
  for (const kind of ['envelope', 'cscp', 'write', 'rest', 'regex', 'odd']) t.ok((stats.byKind[kind] ?? 0) > 0, `${kind} cases ran`);
  t.ok(stats.refused > 0 && stats.refused < stats.cases, 'some requests were refused, some accepted');
});
