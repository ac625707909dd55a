/**
 * The literal text every value a `~` pattern matches must start with, when that is certain: then a find
 * reads the range of the (class, ns, name, value) index that starts with it instead of every candidate of
 * the class (each backend's find.ts), and the store's matcher still decides each one. The range only has to hold every
 * match; the pattern's meaning stays the store's (safe-regex.ts: RE2 syntax, no flags, `^` the start of
 * the text), so anything this reader is not sure of gives no prefix:
 * - the pattern must begin with `^` and have no `|` outside a group or class (`^ab|x` matches "x");
 * - then plain characters and escaped ASCII punctuation (`\.`), up to the first anything else (a class, a
 *   group, `.`, an escaped letter such as `\d` or `\u0041`, a flag group such as `(?i)`);
 * - a character followed by `?`, `*` or `{` may be absent: it is not part of the prefix;
 * - NUL and lone surrogates end it (PostgreSQL text holds neither).
 */
import type { FindSpec, FindTerm } from './port.js';

const META = new Set([...'^$.|?*+()[]{}\\']);

/** The literal prefix every match of `pattern` starts with, or '' when there is none for certain. */
export function anchoredPrefix(pattern: string): string {
  if (!pattern.startsWith('^') || hasTopLevelBar(pattern)) return '';
  let prefix = '';
  for (let i = 1; i < pattern.length; ) {
    const c = pattern[i]!;
    let literal: string;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!/^[!-/:-@[-`{-~]$/.test(next)) break;
      literal = next;
    } else {
      if (META.has(c)) break;
      const cp = pattern.codePointAt(i)!;
      if (cp === 0 || (cp >= 0xd800 && cp <= 0xdfff)) break;
      literal = String.fromCodePoint(cp);
    }
    i += c === '\\' ? 2 : literal.length;
    const after = pattern[i];
    if (after === '?' || after === '*' || after === '{') break;
    prefix += literal;
    if (after === '+') break;
  }
  return prefix;
}

/** Is there a `|` outside every group and class (an alternative of the whole pattern)? */
function hasTopLevelBar(pattern: string): boolean {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(pattern, i);
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Where the class opened at `open` ends (a `]` first, or after `^`, is a member); the end of the text if never. */
function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close >= 0) i = close + 1;
    } else if (pattern[i] === ']') return i;
  }
  return pattern.length;
}

/** The `~` term with the longest certain literal prefix, when one may drive a find: a single value, its row required. */
export function prefixRange(spec: FindSpec): { term: FindTerm; from: string; to: string } | undefined {
  let best: { term: FindTerm; from: string; to: string } | undefined;
  for (const term of spec.terms) {
    if (term.op !== '~' || term.array || term.orMissing) continue;
    const from = anchoredPrefix(term.value);
    const to = from === '' ? undefined : byteOrderEnd(from);
    if (to !== undefined && from.length > (best?.from.length ?? 0)) best = { term, from, to };
  }
  return best;
}

/**
 * The smallest text above every text that starts with `prefix`, in byte order (UTF-8 bytes: PostgreSQL's
 * COLLATE "C", SQLite's BINARY):
 * its last code point plus one (past the surrogates, which UTF-8 has no bytes for), or undefined when the
 * prefix is made of U+10FFFF alone.
 */
export function byteOrderEnd(prefix: string): string | undefined {
  const cps = [...prefix].map((ch) => ch.codePointAt(0)!);
  while (cps.length > 0) {
    const last = cps.pop()!;
    if (last < 0x10ffff) return String.fromCodePoint(...cps, last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return undefined;
}
