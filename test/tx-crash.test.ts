/**
 * Crash safety of COMMIT: a real daemon in a child process, a 5,000-command
 * queue per round, SIGKILL at a random moment (before, during or after the
 * COMMIT reply), restart on the same state dir. Every round must be wholly
 * present or wholly absent, and every COMMIT answered 201 must be present.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepAliveClient } from './helpers/keepalive.js';
import { ADMIN_PASSWORD } from './helpers/daemon.js';
import { spawnDaemon } from './helpers/child-daemon.js';

const PER_COMMIT = 5000;
const MAX_ROUNDS = 20;
// Bounded in time too (a test file has 300 s, and the machine is shared): a round costs 5-10 s, more on a loaded machine.
const BUDGET_MS = 50_000;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const env = {
  CCED_DB_SYNCHRONOUS: 'FULL',
  CCED_SCHEMA_DIR: `${path.join(repoRoot, 'schema')},${path.join(repoRoot, 'test', 'fixtures', 'schema')}`,
};

type Moment = 'before' | 'during' | 'after';

t.test('COMMIT survives kill -9 whole or not at all', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-crash-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  let child = await spawnDaemon(env, { stateDir });
  t.teardown(() => child.kill());

  const answered201 = new Set<number>();
  const sentCommit = new Set<number>();
  const moments: Record<Moment, number> = { before: 0, during: 0, after: 0 };
  let commitMs = 200;
  const started = Date.now();
  let rounds = 0;
  const timing = { queue: 0, restart: 0 };
  let unansweredPresent = 0;
  // Round 1 always ends with its COMMIT answered; the random kills start with round 2, so two rounds always run.
  for (let round = 1; round <= MAX_ROUNDS && (round <= 2 || Date.now() - started < BUDGET_MS); round++) {
    rounds = round;
    const c = keepAliveClient(child.url, 16);
    const auth = await c.post({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
    const cred = { user: 'admin', sessionid: auth.body.data.sessionid };
    t.same((await c.post({ cmd: 'BEGIN', ...cred })).body, { status: 201, message: 'BEGIN OK' });
    const bodies = Array.from({ length: PER_COMMIT }, (_, i) => ({ cmd: `CREATE TxItem round="${round}" seq="${i}"`, ...cred }));
    let t0 = Date.now();
    const queued = await c.postAll(bodies);
    timing.queue += Date.now() - t0;
    if (!queued.every((r) => r.body.status === 100)) t.fail(`round ${round}: a write was not queued: ${JSON.stringify(queued.find((r) => r.body.status !== 100))}`);
    // Round 1 measures a COMMIT; then the kill moment is random.
    const moment: Moment = round === 1 ? 'after' : (['before', 'during', 'after'] as const)[Math.floor(Math.random() * 3)]!;
    moments[moment]++;
    if (moment !== 'before') {
      sentCommit.add(round);
      t0 = Date.now();
      const commit = c.post({ cmd: 'COMMIT', ...cred }).then(
        (r) => {
          if (r.status === 200 && r.body.status === 201 && r.body.data.results.length === PER_COMMIT) answered201.add(round);
          else t.fail(`round ${round}: COMMIT answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          if (round === 1) commitMs = Date.now() - t0;
        },
        () => { /* killed before the answer */ },
      );
      if (moment === 'after') await commit;
      else await sleep(Math.random() * commitMs * 1.5);
    }
    await child.kill();
    c.close();
    t0 = Date.now();
    child = await spawnDaemon(env, { stateDir });
    timing.restart += Date.now() - t0;

    const check = keepAliveClient(child.url, 4);
    const a = await check.post({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
    const cred2 = { user: 'admin', sessionid: a.body.data.sessionid };
    for (let r = 1; r <= round; r++) {
      const found = await check.post({ cmd: `FIND TxItem round="${r}"`, ...cred2 });
      const n = found.body.data?.oidlist?.length ?? 0;
      if (n !== 0 && n !== PER_COMMIT) t.fail(`round ${r}: ${n} of ${PER_COMMIT} objects present after a crash`);
      if (answered201.has(r) && n !== PER_COMMIT) t.fail(`round ${r}: COMMIT answered 201 but ${n} objects are present`);
      if (!sentCommit.has(r) && n !== 0) t.fail(`round ${r}: never committed, yet ${n} objects are present`);
      if (r === round && n === PER_COMMIT && !answered201.has(r)) unansweredPresent++;
    }
    check.close();
  }
  t.ok(rounds >= 2, `${rounds} rounds ran`);
  t.ok(answered201.has(1), 'the measured COMMIT was answered 201');
  t.comment(`rounds=${rounds} moments=${JSON.stringify(moments)} answered201=${answered201.size} unanswered-but-present=${unansweredPresent} commit(5000)=${commitMs}ms queue(5000)/round=${Math.round(timing.queue / rounds)}ms restart=${Math.round(timing.restart / rounds)}ms elapsed=${Date.now() - started}ms`);
  await child.kill();
});
