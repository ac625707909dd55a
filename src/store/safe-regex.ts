/**
 * Client patterns (FIND `~`, FINDX/GETOBJECT/GETALL `regex_args`) run on the
 * event loop, inside SQLite's scan, so they run on RE2 (re2js, a pure
 * JavaScript port): its time is linear in the value's length whatever the
 * pattern, where V8's backtracking RegExp can take hours on `.*.*.*!` or
 * `(a|a)*$`. RE2 has no backreferences and no lookaround; those are refused
 * with the reason, as are patterns too large to run in bounded time.
 *
 * Linear is not yet small: the worst case of one test is about
 * program size x value length steps (~40-170 ns each), so both are capped,
 * and a search whose matching keeps running past MATCH_TIME_LIMIT_MS stops
 * with an error rather than hold every other request.
 */
import { RE2JS } from 're2js';
import { badParameters } from '../errors.js';

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
/** Matching time one request may spend in its values before it answers 403. */
export const MATCH_TIME_LIMIT_MS = 1000;
/**
 * Compiled patterns kept. Each holds a lazily built DFA of up to ~8 MB, so
 * this bounds that memory to ~256 MB in the worst case (typically kilobytes).
 */
const MAX_CACHED_PATTERNS = 32;

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

/**
 * The patterns of one Store: compiled once (cached), then tested against the
 * values a search meets, within the search's time budget. Searches are
 * synchronous, so one budget at a time is all there is.
 */
export class ClientPatterns {
  private readonly cache = new Map<string, RE2JS>();
  private spentMs = 0;

  constructor(
    private readonly limitMs = MATCH_TIME_LIMIT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Compiles (or finds) a pattern; throws the 403 of a refused one. */
  compile(pattern: string): RE2JS {
    let re = this.cache.get(pattern);
    if (re !== undefined) return re;
    re = compileClientPattern(pattern);
    if (this.cache.size >= MAX_CACHED_PATTERNS) this.cache.clear();
    this.cache.set(pattern, re);
    return re;
  }

  /** A new search begins: its matching time starts at zero. */
  startSearch(): void {
    this.spentMs = 0;
  }

  /** Does any part of `value` match? Counts the time against the current search. */
  test(pattern: string, value: string): boolean {
    const re = this.compile(pattern);
    if (value.length > MAX_SEARCHED_LENGTH) return false;
    const started = this.now();
    const hit = re.test(value);
    this.spentMs += this.now() - started;
    if (this.spentMs > this.limitMs) {
      throw badParameters(`regex search stopped after ${this.limitMs} ms of matching: narrow it with an exact criterion or a simpler pattern`);
    }
    return hit;
  }
}
