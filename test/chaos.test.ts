/**
 * A few rounds of the chaos harness (test/harness/chaos-run.ts; `npm run
 * chaos` runs more): SIGKILL while SET, CREATE, COMMIT, heartbeats,
 * firmware uploads and Pantahub registrations and claims are all in flight; after each restart the SQLite file is
 * intact and every acknowledged write is there, whole.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runChaos } from './harness/chaos-run.js';

const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 3);

t.test('kill -9 during every kind of write loses no acknowledged write', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-chaos-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const stats = await runChaos({ stateDir, rounds: ROUNDS, budgetMs: 60_000 });
  t.comment(`rounds=${stats.rounds} acked=${JSON.stringify(stats.acked)} killed-after=${stats.killedAfterMs.join(',')}ms restart=${stats.restartMs.join(',')}ms`);
  t.ok(stats.rounds >= 2, `${stats.rounds} rounds ran`);
  t.same(stats.integrity, [], 'integrity_check ok before and after every restart');
  t.same(stats.problems, [], 'every acknowledged write is there, no COMMIT partly there, no partial file');
  // The rounds wrote on every path (else the checks above proved nothing).
  for (const [path_, n] of Object.entries(stats.acked)) t.ok(n > 0, `${n} acknowledged ${path_} writes`);
});
