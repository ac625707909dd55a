/**
 * Password hashing: argon2id with the OWASP parameters (19 MiB memory, 2
 * iterations, 1 lane). Verifying an unknown user still costs one hash, so a
 * reply's timing does not tell which user names exist.
 *
 * Every argon2 job (hash or verify, whoever asks: SET, CREATE, COMMIT, AUTH,
 * the facades, the console) goes through one bounded pool. argon2 runs on
 * libuv's thread pool, which the WAL fsync of every write (src/store/writer.ts)
 * also uses; a COMMIT of 1,000 password SETs once took all four threads for
 * seconds and a plain SET waited 12 s for its fsync. With at most
 * `password_hash_jobs` jobs at once, and that number kept below the thread
 * pool's size (src/config/schema.ts), the fsync always finds a free thread.
 */
import argon2 from 'argon2';

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Runs at most `limit` jobs at once; the others wait their turn, first come first served. */
export class JobPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most jobs that ever ran at once (the tests read it). */
  peak = 0;

  constructor(public limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    // A job that ends hands its place to the first waiter (running stays as it is), so a job
    // arriving in between cannot take the place too.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }
}

/** The one pool of this process (libuv's thread pool is per process too); src/app.ts sets its limit. */
export const passwordJobs = new JobPool(2);

export function hashPassword(password: string): Promise<string> {
  return passwordJobs.run(() => argon2.hash(password, ARGON2_OPTIONS));
}

let dummy: Promise<string> | undefined;

/** True when `password` matches `hash`; with no hash, burns the same time and answers false. */
export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (hash === undefined) {
    dummy ??= hashPassword('cced-dummy-password');
    const known = await dummy;
    await passwordJobs.run(() => argon2.verify(known, password)).catch(() => false);
    return false;
  }
  try {
    return await passwordJobs.run(() => argon2.verify(hash, password));
  } catch {
    return false;
  }
}
