/**
 * The soak harness's memory-ceiling attacks at a small scale, in CI (`npm run
 * soak` runs them at full scale): stalled 1 MiB bodies, non-admin BEGIN queues
 * of ~1 MB SETs that cannot succeed, and a LOGIN flood, all at once against a
 * real daemon in its own process. Counts only: every PING answers, the daemon
 * lives, and its RSS stays under a ceiling that the unbounded daemon passed
 * within seconds (its queues alone reached the heap limit in 19 s).
 */
import t from 'tap';
import { spawnDaemon } from './helpers/child-daemon.js';
import { runCeiling } from './harness/ceiling.js';
import { alive } from './harness/fuzz-run.js';

const MiB = 2 ** 20;
/**
 * RSS the attacks may add to the idle daemon's (which under tap's TypeScript
 * loader and coverage is itself several hundred MiB): each attack is bounded
 * (bodies in flight per address, queue bytes, tokens per client) and together,
 * with the daemon's deployed node flags, they add 80-110 MiB, flat after the
 * first seconds; unbounded, the queued SETs alone held ~2 MB each. Without
 * those flags the collector let the heap grow on (150-270 MiB).
 */
const RSS_GROWTH_MIB = Number(process.env.SOAK_SMOKE_GROWTH_MIB ?? 256);
const SECONDS = Number(process.env.SOAK_SMOKE_SECONDS ?? 10);

t.test('slow bodies, big BEGIN queues and a LOGIN flood at once: PING always answers, RSS stays bounded', async (t) => {
  const t0 = Date.now();
  const d = await spawnDaemon({ CCED_API_ACCESS: '127.0.0.2', CCED_API_AUTH_FAILS: '100000000' }, { deployed: true });
  t.teardown(() => d.kill());
  const idle = d.rss();
  t.comment(`daemon started in ${Date.now() - t0} ms`);
  const f = await runCeiling(d, { seconds: SECONDS, slowConnections: 200, queueSessions: 2, loginParallel: 4 });
  t.comment(`slow bodies ${JSON.stringify(f.slow)}; queues ${JSON.stringify(f.queues)}; logins ${JSON.stringify(f.logins)}`);
  t.comment(`RSS MiB by second: ${f.samples.map((x) => `${x.s}:${Math.round(x.rss / MiB)}`).join(' ')}`);
  t.comment(`PING ${f.ping.count} sent: p50 ${f.ping.p50} ms, max ${f.ping.max} ms; RSS idle ${Math.round(idle / MiB)} MiB, max ${Math.round(f.maxRss / MiB)} MiB`);

  t.ok(alive(d.pid), 'the daemon lives');
  t.ok(f.ping.count > 0, 'PINGs were sent throughout');
  t.equal(f.ping.failed, 0, 'every PING answered');
  t.equal(f.slow.opened, 200, 'every stalled body was opened');
  t.ok(f.queues.refused > 0, 'queued SETs that cannot succeed were sent');
  t.equal(f.queues.queued, 0, 'and each was refused at once, none queued');
  t.equal(f.queues.failed, 0, 'each got an answer');
  t.ok(f.logins.issued > 0, 'LOGINs were issued');
  t.equal(f.logins.failed, 0, 'every LOGIN got an answer');
  t.ok(f.maxRss - idle < RSS_GROWTH_MIB * MiB, `RSS peak ${Math.round(f.maxRss / MiB)} MiB, idle ${Math.round(idle / MiB)} MiB + at most ${RSS_GROWTH_MIB} MiB`);
});
