/**
 * Search threads: the statements of a find with client patterns run on
 * worker threads (search-worker.ts), each with its own read-only connection
 * to the store's file, so that no pattern and no class size can hold the
 * event loop: PING and every other request are answered meanwhile. The store
 * keeps everything else (ACLs, derived and default values, soft delete,
 * sorting, paging) on the event loop, as it keeps for any find.
 *
 * A search may spend its time limit (SEARCH_TIME_LIMIT_MS of the thread's CPU
 * time, SEARCH_WALL_LIMIT_MS on the wall) across all its statements: each
 * answer says what it spent, and the next statement runs within what is left.
 * A thread stops a statement itself at the limit (the same 403 as ever); one
 * that has not answered OVERRUN_GRACE_MS past the wall limit (a single test
 * cannot read the clock) is terminated and replaced, and its search answers
 * that 403. Statements of several searches wait their turn in one queue: a
 * search's time counts only while one of its statements runs.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { AsyncFindRun, FindRun, FindSpec, SearchThreads } from '../port.js';
import { SEARCH_TIME_LIMIT_MS, SEARCH_WALL_LIMIT_MS, SearchStopped, type SearchSpent } from '../safe-regex.js';

/** Threads that run searches: every core but the one the event loop keeps, at least one, at most four. */
export const SEARCH_THREADS = Math.min(4, Math.max(1, availableParallelism() - 1));
/**
 * How long past its search's wall-clock limit a statement may run before its
 * thread is replaced: more than one test's worst case (~1 s: program size x
 * value length steps), during which a thread cannot read its clock.
 */
const OVERRUN_GRACE_MS = 2000;

/** One statement of a search, as a thread receives it. */
export interface SearchCall {
  spec: FindSpec;
  method: keyof FindRun;
  args: unknown[];
  /** What the search has spent on its earlier statements. */
  spent: SearchSpent;
}

/** What a statement came to: its result, the 403 of the time limit, or a failure. */
export type SearchResult = { value: unknown } | { stoppedAfterMs: number } | { failed: string };
/** A thread's answer: the result, and what the statement spent. */
export type SearchAnswer = SearchResult & { cpuMs: number; wallMs: number };

export interface SearchThreadOptions {
  threads?: number;
  limits?: SearchSpent;
  graceMs?: number;
}

interface Waiting {
  call: SearchCall;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** The worker's module beside this one: .ts when the sources run as they are (tests), .js once built. */
const WORKER = new URL(`./search-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export class SqliteSearchThreads implements SearchThreads {
  private readonly idle: SearchThread[] = [];
  private readonly busy = new Set<SearchThread>();
  private readonly queue: Waiting[] = [];
  private readonly threads: number;
  private readonly limits: SearchSpent;
  private readonly graceMs: number;
  private closed = false;

  constructor(
    private readonly file: string,
    { threads = SEARCH_THREADS, limits = { cpuMs: SEARCH_TIME_LIMIT_MS, wallMs: SEARCH_WALL_LIMIT_MS }, graceMs = OVERRUN_GRACE_MS }: SearchThreadOptions = {},
  ) {
    this.threads = threads;
    this.limits = limits;
    this.graceMs = graceMs;
  }

  find(spec: FindSpec, spent: SearchSpent): AsyncFindRun {
    const call = <K extends keyof FindRun>(method: K, args: Parameters<FindRun[K]>) => this.submit({ spec, method, args, spent }) as Promise<ReturnType<FindRun[K]>>;
    return {
      all: () => call('all', []),
      withSortValues: () => call('withSortValues', []),
      candidatesBeyond: (n) => call('candidatesBeyond', [n]),
      windowEnd: (from, offset) => call('windowEnd', [from, offset]),
      range: (from, to, limit) => call('range', [from, to, limit]),
    };
  }

  /** Ends every thread (an idle one closes its connection first); statements waiting for one fail. */
  async close(): Promise<void> {
    this.closed = true;
    const ended = [...this.idle.map((t) => t.close()), ...[...this.busy].map((t) => t.terminate())];
    this.idle.length = 0;
    this.busy.clear();
    for (const w of this.queue.splice(0)) w.reject(new Error('the store is closed'));
    await Promise.all(ended);
  }

  private submit(call: SearchCall): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    const { spent } = call;
    if (spent.cpuMs >= this.limits.cpuMs) return Promise.reject(new SearchStopped(this.limits.cpuMs));
    if (spent.wallMs >= this.limits.wallMs) return Promise.reject(new SearchStopped(this.limits.wallMs));
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      this.pump();
    });
  }

  /** Hands waiting statements to idle threads, starting threads up to the bound. */
  private pump(): void {
    while (this.queue.length > 0) {
      const thread = this.idle.pop() ?? (this.busy.size < this.threads ? new SearchThread(this.file, this.limits) : undefined);
      if (thread === undefined) return;
      const waiting = this.queue.shift()!;
      this.busy.add(thread);
      void this.run(thread, waiting);
    }
  }

  private async run(thread: SearchThread, { call, resolve, reject }: Waiting): Promise<void> {
    const { spent } = call;
    try {
      const overrun = this.limits.wallMs - spent.wallMs + this.graceMs;
      const a = await thread.run(call, overrun);
      spent.cpuMs += a.cpuMs;
      spent.wallMs += a.wallMs;
      if ('value' in a) resolve(a.value);
      else if ('stoppedAfterMs' in a) reject(new SearchStopped(a.stoppedAfterMs));
      else reject(new Error(`search thread: ${a.failed}`));
    } catch (err) {
      if (err instanceof Overran) {
        spent.wallMs = this.limits.wallMs;
        reject(new SearchStopped(this.limits.wallMs));
      } else reject(err);
    } finally {
      this.busy.delete(thread);
      if (thread.alive && !this.closed) this.idle.push(thread);
      this.pump();
    }
  }
}

/** A statement that ran past its search's wall-clock limit and grace: its thread was terminated. */
class Overran extends Error {}

/** One worker thread and the one statement it runs at a time. */
class SearchThread {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private answer: { resolve(a: SearchAnswer): void; reject(err: unknown): void } | undefined;
  alive = true;
  /** Why it stopped, when it did on its own. */
  private failure: unknown;

  constructor(file: string, limits: SearchSpent) {
    this.worker = new Worker(WORKER, { workerData: { file, limits } });
    // Only a running statement keeps the process alive (see run()).
    this.worker.unref();
    let started: () => void;
    this.ready = new Promise<void>((resolve) => (started = resolve));
    this.worker.on('message', (m: 'ready' | SearchAnswer) => {
      if (m === 'ready') return started();
      const answer = this.answer;
      this.answer = undefined;
      answer?.resolve(m);
    });
    const died = (err: unknown) => {
      this.alive = false;
      this.failure ??= err;
      started();
      this.answer?.reject(err);
      this.answer = undefined;
    };
    this.worker.on('error', died);
    this.worker.on('exit', (code) => died(new Error(`search thread exited with code ${code}`)));
  }

  /**
   * Runs one statement. Its clock starts once the thread is ready (a new
   * thread first loads its modules and opens its connection).
   */
  async run(call: SearchCall, overrunMs: number): Promise<SearchAnswer> {
    this.worker.ref();
    try {
      await this.ready;
      if (!this.alive) throw new Error(`search thread failed to start: ${(this.failure as Error | undefined)?.message}`);
      return await new Promise<SearchAnswer>((resolve, reject) => {
        const timer = setTimeout(() => {
          void this.terminate();
          reject(new Overran());
        }, overrunMs);
        this.answer = {
          resolve: (a) => (clearTimeout(timer), resolve(a)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        };
        this.worker.postMessage(call);
      });
    } finally {
      // A thread that is ending stays referenced until it has (close(), terminate()).
      if (this.alive) this.worker.unref();
    }
  }

  /** Asks an idle thread to close its connection and end; resolves when it has. */
  close(): Promise<void> {
    this.alive = false;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // Held until it has ended: an idle thread is unreferenced, and the process would not wait for its exit.
    this.worker.ref();
    this.worker.postMessage('close');
    return exited;
  }

  /** Resolves when the thread is gone (better-sqlite3 closes its connection as the thread ends). */
  async terminate(): Promise<void> {
    this.alive = false;
    this.answer = undefined;
    this.worker.ref();
    await this.worker.terminate();
  }
}
