/**
 * Client patterns (FIND `~`, FINDX/GETOBJECT/GETALL `regex_args`) run inside
 * SQLite's scan, on RE2 (re2js, a pure JavaScript port): its time is linear
 * in the value's length whatever the pattern, where V8's backtracking RegExp
 * can take hours on `.*.*.*!` or `(a|a)*$`. RE2 has no backreferences and no
 * lookaround; those are refused with the reason, as are patterns too large to
 * run in bounded time.
 *
 * Linear is not yet small: the worst case of one test is about
 * program size x value length steps (~40-170 ns each), so both are capped,
 * and a search that has spent SEARCH_TIME_LIMIT_MS of its own time stops with
 * an error. Where it runs: a search small enough for the event loop runs
 * there, within a budget of steps (Store.findPage); any other on a search
 * thread (sqlite/search-threads.ts), each with its own ClientPatterns.
 */
import { readFileSync } from 'node:fs';
import { RE2JS } from 're2js';
import { CceError, badParameters } from '../errors.js';
import { BoundedMap } from './bounded-map.js';

/** Longest pattern accepted, in UTF-16 units. */
export const MAX_PATTERN_LENGTH = 1024;
/**
 * Largest RE2 program accepted (its instruction count: ~1 per literal
 * character or class, and `x{n}` repeats x n times): any pattern of 1024
 * plain characters fits; `(a?){25}a{25}` is 127; `a{1000}b{1000}` is refused.
 */
export const MAX_PROGRAM_SIZE = 1500;
/** Values (and array elements) longer than this, in UTF-16 units, never match `~`. */
export const MAX_SEARCHED_LENGTH = 4096;
/**
 * CPU time a search with `~` may spend (on the thread that runs it, summed
 * over its statements) before it answers 403. Its own time, not the clock on
 * the wall: on a loaded machine, while the kernel runs other processes, or
 * while the search waits for a search thread, it is not cut short for time
 * it was not running.
 */
export const SEARCH_TIME_LIMIT_MS = 2000;
/**
 * Wall-clock time (while its statements run) after which a search stops
 * whatever its CPU time: the most a search can hold a search thread when the
 * machine gives it little CPU.
 */
export const SEARCH_WALL_LIMIT_MS = 3 * SEARCH_TIME_LIMIT_MS;
/** Worst-case steps (program size x value length, ~40-170 ns each) between two readings of the clock. */
const CLOCK_EVERY_STEPS = 1 << 20;
/**
 * Compiled patterns kept. Each holds a lazily built DFA of up to ~8 MB, so
 * this bounds that memory to ~256 MB in the worst case (typically kilobytes).
 */
const MAX_CACHED_PATTERNS = 32;

/**
 * The calling thread's CPU time in ms: on Linux the first field of
 * /proc/thread-self/schedstat (nanoseconds on a CPU), ~15 µs a reading; where
 * that cannot be read, the wall clock (the search then counts what the loop
 * and the machine did meanwhile, as before). process.cpuUsage() will not do:
 * it adds every thread of the process, argon2's and SQLite's I/O included.
 */
export function threadCpuClock(read: () => string = () => readFileSync('/proc/thread-self/schedstat', 'latin1')): () => number {
  const cpuMs = () => Number(read().split(' ', 1)[0]) / 1e6;
  try {
    if (Number.isFinite(cpuMs())) return cpuMs;
  } catch {
    // Not Linux, or /proc not mounted: the wall clock below.
  }
  return () => performance.now();
}

/** Why RE2 cannot run a JavaScript pattern (a backreference, a lookaround), or null. */
export function unsupportedReason(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (!inClass && /[1-9k]/.test(pattern[i + 1] ?? '')) return 'backreferences are not supported';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && /^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) {
      return 'lookahead and lookbehind are not supported';
    }
  }
  return null;
}

/**
 * The one JavaScript escape RE2 spells otherwise: `\uXXXX` and `\u{X...}` become
 * `\x{...}` (a surrogate pair written as two escapes is one code point, as with
 * the `u` flag). Everything else passes through for RE2 to accept or refuse.
 */
export function toRe2Syntax(pattern: string): string {
  if (!pattern.includes('\\u')) return pattern;
  return pattern
    .replace(/(\\+)u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})/g, (all, slashes: string, hi: string, lo: string) =>
      slashes.length % 2 === 1 ? `${slashes}x{${(((parseInt(hi, 16) - 0xd800) << 10) + (parseInt(lo, 16) - 0xdc00) + 0x10000).toString(16)}}` : all,
    )
    .replace(/(\\+)u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]+)\})/g, (all, slashes: string, four?: string, braced?: string) =>
      slashes.length % 2 === 1 ? `${slashes}x{${four ?? braced}}` : all,
    );
}

/** A client pattern compiled for RE2, or the 403 that says why not. */
export function compileClientPattern(pattern: string): RE2JS {
  if (pattern.length > MAX_PATTERN_LENGTH) throw badParameters(`regex longer than ${MAX_PATTERN_LENGTH} characters`);
  const unsupported = unsupportedReason(pattern);
  if (unsupported !== null) throw badParameters(`regex refused: ${unsupported}`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2Syntax(pattern));
  } catch (err) {
    throw badParameters(`bad regex: ${(err as Error).message}`);
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) throw badParameters(`regex refused: too large once compiled (${size} instructions, at most ${MAX_PROGRAM_SIZE})`);
  return re;
}

interface Compiled {
  re: RE2JS;
  /** Its program size: a test's worst case is about size x value length steps. */
  size: number;
}

/**
 * The time of one search where its tests run: what is left of its limits, the
 * span it is running now (this thread's clocks when its tests began), its
 * worst-case steps.
 */
export interface SearchTime {
  cpuLeft: number;
  wallLeft: number;
  /** The clocks when its current span began: undefined between spans. */
  span: { cpu: number; wall: number } | undefined;
  /** Worst-case steps since the clock was last read. */
  steps: number;
  /** Worst-case steps it may still spend here; past them a test throws NotHere instead of running. */
  stepsLeft: number;
}

/** What a search has spent so far on other statements (its earlier calls on a search thread). */
export interface SearchSpent {
  cpuMs: number;
  wallMs: number;
}

/** The 403 of a search past its time limit (`afterMs`: the limit it ran into). */
export class SearchStopped extends CceError {
  constructor(readonly afterMs: number) {
    super(403, `regex search stopped after ${afterMs} ms: narrow it with an exact criterion or a simpler pattern`);
  }
}

/**
 * Thrown by a test that would take the search past its steps here (see
 * SearchTime.stepsLeft): the search is too large for the event loop and
 * goes to a search thread instead (search-threads.ts).
 */
export class NotHere extends Error {
  constructor() {
    super('search too large for the event loop');
  }
}

/**
 * The patterns of one thread: compiled once (cached), then tested against the
 * values a search meets, until the search has spent its time. Reading the
 * clock costs as much as testing a short value, so it is read once per
 * CLOCK_EVERY_STEPS of worst-case work (program size x value length), not at
 * every test.
 *
 * Several searches share a thread (the event loop: inline searches on SQLite,
 * every search on PostgreSQL, whose rows come back in callbacks), so each
 * counts only its own spans: a span begins at its first test after another
 * search's and ends at the next test of another search. A search is stopped by
 * what its spans add up to, never by other searches' tests; what the loop does
 * between two of its statements (a round trip, other requests) counts as its
 * own until another search tests a value, as when its time was one deadline.
 * Which search a test
 * belongs to: the one made current by during() or started last; a statement
 * whose rows are tested when they come back (PostgreSQL) takes bound() when it
 * starts. (Not AsyncLocalStorage: its hooks would slow every promise of the
 * daemon.)
 */
export class ClientPatterns {
  private readonly cache = new BoundedMap<string, Compiled>(MAX_CACHED_PATTERNS);
  /** The last pattern tested, and its compiled form: a scan tests one pattern many times in a row. */
  private last: [string, Compiled] | undefined;
  private time: SearchTime = { cpuLeft: Infinity, wallLeft: Infinity, span: undefined, steps: 0, stepsLeft: Infinity };
  /** The search whose span is open on this thread. */
  private spanning: SearchTime | undefined;

  constructor(
    private readonly limitMs = SEARCH_TIME_LIMIT_MS,
    /** The search's own time (CPU time of this thread). */
    private readonly now: () => number = threadCpuClock(),
    private readonly wallLimitMs = SEARCH_WALL_LIMIT_MS,
    private readonly wallNow: () => number = () => performance.now(),
  ) {}

  /** Compiles (or finds) a pattern; throws the 403 of a refused one. */
  compile(pattern: string): RE2JS {
    return this.compiled(pattern).re;
  }

  /**
   * A search begins (and becomes current): it may spend limitMs of CPU time,
   * within wallLimitMs of wall time, less what it has `spent` elsewhere, and
   * at most `stepsLeft` worst-case steps here. Called before any of its
   * patterns is tested (a test outside a search would count against the
   * previous search).
   */
  startSearch(stepsLeft = Infinity, spent: SearchSpent = { cpuMs: 0, wallMs: 0 }): SearchTime {
    this.time = { cpuLeft: this.limitMs - spent.cpuMs, wallLeft: this.wallLimitMs - spent.wallMs, span: undefined, steps: 0, stepsLeft };
    return this.time;
  }

  /** Runs `fn` (synchronous statements of one search) with that search's time current. */
  during<R>(time: SearchTime, fn: () => R): R {
    const outer = this.time;
    this.time = time;
    try {
      return fn();
    } finally {
      this.time = outer;
    }
  }

  /** test() within the search current now, whenever it is called (rows that come back later). */
  bound(): (pattern: string, value: string) => boolean {
    const time = this.time;
    return (pattern, value) => this.during(time, () => this.test(pattern, value));
  }

  /** Does any part of `value` match? Throws the search's 403 once it has spent its time, NotHere past its steps. */
  test(pattern: string, value: string): boolean {
    const { re, size } = this.last !== undefined && this.last[0] === pattern ? this.last[1] : this.compiled(pattern);
    if (value.length > MAX_SEARCHED_LENGTH) return false;
    const t = this.time;
    const cost = size * (value.length + 1);
    if (cost > t.stepsLeft) throw new NotHere();
    t.stepsLeft -= cost;
    if (this.spanning !== t) this.beginSpan(t);
    const hit = re.test(value);
    t.steps += cost;
    if (t.steps >= CLOCK_EVERY_STEPS) {
      t.steps = 0;
      const span = t.span!;
      if (this.now() - span.cpu > t.cpuLeft) throw new SearchStopped(this.limitMs);
      if (this.wallNow() - span.wall > t.wallLeft) throw new SearchStopped(this.wallLimitMs);
    }
    return hit;
  }

  /**
   * `t`'s span begins, and the open one (another search's) ends, charged to that search: one reading of the
   * clocks for both, so a search alone on its thread reads them once, as when its time was one deadline.
   */
  private beginSpan(t: SearchTime): void {
    const cpu = this.now();
    const wall = this.wallNow();
    const open = this.spanning;
    if (open !== undefined) {
      open.cpuLeft -= cpu - open.span!.cpu;
      open.wallLeft -= wall - open.span!.wall;
      open.span = undefined;
    }
    t.span = { cpu, wall };
    this.spanning = t;
  }

  /** The search's limits: a search that has spent this much stops. */
  get limits(): SearchSpent {
    return { cpuMs: this.limitMs, wallMs: this.wallLimitMs };
  }

  private compiled(pattern: string): Compiled {
    let c = this.cache.get(pattern);
    if (c === undefined) {
      const re = compileClientPattern(pattern);
      c = { re, size: re.programSize() };
      this.cache.set(pattern, c);
    }
    this.last = [pattern, c];
    return c;
  }
}
