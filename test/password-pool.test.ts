/** The bounded argon2 pool: never more than N jobs at once, whoever asks; its limit is kept below libuv's pool. */
import t from 'tap';
import { JobPool, hashPassword, passwordJobs, verifyPassword } from '../src/auth/passwords.js';
import { resolveConfig, ConfigError } from '../src/config/load.js';

t.test('a JobPool runs at most `limit` jobs at once, in arrival order, and survives failing jobs', async (t) => {
  const pool = new JobPool(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const job = (i: number) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 1 + (i % 4)));
    running--;
    if (i % 5 === 0) throw new Error(`job ${i} failed`);
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => pool.run(job(i))));
  t.equal(most, 3, 'three at once, never more');
  t.equal(pool.peak, 3);
  t.equal(pool.active, 0, 'every place given back, failures included');
  t.same(started, Array.from({ length: 40 }, (_, i) => i), 'first come, first served');
  t.same(results.filter((r) => r.status === 'rejected').length, 8);
  t.same(results.map((r) => (r.status === 'fulfilled' ? r.value : -1)).filter((v) => v >= 0).length, 32);
});

t.test('a job arriving as another ends, at whatever microtask, does not take the place handed to a waiting one', async (t) => {
  for (let hops = 0; hops < 8; hops++) {
    const pool = new JobPool(1);
    let running = 0;
    let most = 0;
    const job = (gate?: Promise<void>) => async () => {
      running++;
      most = Math.max(most, running);
      await gate;
      running--;
    };
    let open!: () => void;
    const first = pool.run(job(new Promise<void>((r) => (open = r))));
    const second = pool.run(job());
    open();
    // A third job sent `hops` microtasks after the first one's end was set off.
    let hop: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < hops; i++) hop = hop.then(() => undefined);
    const third = hop.then(() => pool.run(job()));
    await Promise.all([first, second, third]);
    t.equal(most, 1, `third job ${hops} microtasks later`);
  }
});

t.test('hashing and verifying share the one pool: 8 of each at once run 2 at a time', async (t) => {
  const limit = passwordJobs.limit;
  passwordJobs.limit = 2;
  passwordJobs.peak = 0;
  t.teardown(() => {
    passwordJobs.limit = limit;
  });
  const hash = await hashPassword('pool-test');
  const jobs = [
    ...Array.from({ length: 8 }, () => hashPassword('pool-test')),
    ...Array.from({ length: 8 }, (_, i) => verifyPassword(hash, i % 2 ? 'pool-test' : 'wrong')),
    verifyPassword(undefined, 'no such user'),
  ];
  const settled = await Promise.all(jobs);
  t.equal(passwordJobs.peak, 2, 'two argon2 jobs at once, never more');
  t.equal(passwordJobs.active, 0);
  t.same(settled.slice(8), [false, true, false, true, false, true, false, true, false]);
  t.ok(settled.slice(0, 8).every((h) => typeof h === 'string' && h.startsWith('$argon2id$')));
});

t.test('password_hash_jobs: default 2, and never so many that the WAL fsync could wait for a thread', async (t) => {
  const env = process.env.UV_THREADPOOL_SIZE;
  const pool = env === undefined ? 4 : Math.min(1024, Math.max(1, Number.parseInt(env, 10) || 0));
  t.equal(resolveConfig({}).password_hash_jobs, 2);
  t.equal(resolveConfig({ password_hash_jobs: String(pool - 2) }).password_hash_jobs, pool - 2);
  const err = t.throws(() => resolveConfig({ password_hash_jobs: String(pool - 1) })) as ConfigError;
  t.equal(
    err.message,
    `config: password_hash_jobs: at most ${pool - 2}: libuv's thread pool has ${pool} threads (UV_THREADPOOL_SIZE) and 2 stay free for the WAL fsync and file I/O (got "${pool - 1}")`,
  );
  t.match((t.throws(() => resolveConfig({ password_hash_jobs: '0' })) as ConfigError).message, /^config: password_hash_jobs: /);
});
