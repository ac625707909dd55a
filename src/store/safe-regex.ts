/**
 * FIND `~` and FINDX regex_args run client patterns on the event loop, and a
 * JavaScript RegExp has no time limit. Patterns that can backtrack
 * exponentially are refused up front: a quantified group that itself contains
 * a quantifier (`(a+)+`, `(\w*)*`, `(x{2,})+`) or a backreference. This is the
 * classic star-height test; it refuses some harmless patterns, which callers
 * can rewrite, rather than let one request stall the daemon.
 */

/** Why a pattern is refused, or null when it is accepted. */
export function unsafeRegexReason(pattern: string): string | null {
  // For each open group: does it contain a quantifier so far?
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && /[1-9k]/.test(next)) return 'backreferences are not allowed';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === ')') {
      const hadQuantifier = stack.pop() ?? false;
      if (hadQuantifier && isQuantifier(pattern, i + 1)) return 'nested quantifiers can backtrack without end';
      if (hadQuantifier && stack.length > 0) stack[stack.length - 1] = true;
      if (isQuantifier(pattern, i + 1) && stack.length > 0) stack[stack.length - 1] = true;
    } else if (isQuantifier(pattern, i) && c !== '?' && stack.length > 0) {
      stack[stack.length - 1] = true;
    }
  }
  return null;
}

/** Is there a repeating quantifier (*, +, {n,} or {n,m} with m > 1) at `i`? */
function isQuantifier(p: string, i: number): boolean {
  const c = p[i];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
  if (!m) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}
