import t from 'tap';
import fc from 'fast-check';
import {
  ClientPatterns,
  threadCpuClock,
  MAX_PROGRAM_SIZE,
  MAX_SEARCHED_LENGTH,
  compileClientPattern,
  toRe2Syntax,
  unsupportedReason,
} from '../src/store/safe-regex.js';
import { startDaemon, adminClient } from './helpers/daemon.js';
import { failure } from './helpers/replies.js';

t.test('what RE2 cannot run is named: backreferences, lookaround', async (t) => {
  for (const p of ['(a)\\1', '(?<n>a)\\k<n>', 'x(a)(b)\\2']) t.equal(unsupportedReason(p), 'backreferences are not supported', p);
  for (const p of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) t.equal(unsupportedReason(p), 'lookahead and lookbehind are not supported', p);
  // Escapes and classes are not mistaken for them; nested quantifiers are fine now.
  for (const p of ['(a+)+$', '\\(?=', '[(?=]', '[\\1]', '\\\\1', '(?<name>a)', '(?:a)', '\\0', '[\\]a+]+', '(?i)a']) t.equal(unsupportedReason(p), null, p);
});

t.test('JavaScript \\u escapes become RE2 \\x{...}', async (t) => {
  const cases: [js: string, re2: string][] = [
    ['\\u0041', '\\x{0041}'],
    ['[\\u0061-\\u007a]', '[\\x{0061}-\\x{007a}]'],
    ['\\u{1F600}', '\\x{1F600}'],
    // A surrogate pair is one code point.
    ['\\uD83D\\uDE00', '\\x{1f600}'],
    // An escaped backslash then a plain u.
    ['\\\\u0041', '\\\\u0041'],
    ['\\\\uD83D\\uDE00', '\\\\uD83D\\x{DE00}'],
    ['\\\\\\u0041', '\\\\\\x{0041}'],
    ['^abc$', '^abc$'],
  ];
  for (const [js, re2] of cases) t.equal(toRe2Syntax(js), re2, js);
  t.ok(compileClientPattern('^\\u0041\\uD83D\\uDE00$').test('A😀'));
});

t.test('compiling: limits and errors are 403 with the reason', async (t) => {
  const refused = (p: string, message: string) => t.throws(() => compileClientPattern(p), { code: 403, message }, p);
  refused('a'.repeat(1025), 'BAD PARAMETERS regex longer than 1024 characters');
  refused('(a)\\1', 'BAD PARAMETERS regex refused: backreferences are not supported');
  refused('a(?=b)', 'BAD PARAMETERS regex refused: lookahead and lookbehind are not supported');
  refused('a{1000}b{1000}', `BAD PARAMETERS regex refused: too large once compiled (2002 instructions, at most ${MAX_PROGRAM_SIZE})`);
  refused('(', 'BAD PARAMETERS bad regex: error parsing regexp: missing closing ): `(`');
  refused('x{1001}', 'BAD PARAMETERS bad regex: error parsing regexp: invalid repeat count: `{1001}`');
  refused('a++', 'BAD PARAMETERS bad regex: error parsing regexp: invalid nested repetition operator: `++`');
  t.ok(compileClientPattern('a'.repeat(1024)).test('a'.repeat(1024)), '1024 characters are accepted');
  // RE2's own syntax: inline flags, Unicode classes, \A and \z.
  t.ok(compileClientPattern('(?i)^CAROL$').test('carol'));
  t.ok(compileClientPattern('\\A\\p{Greek}+\\z').test('αβγ'));
});

t.test('a search stops once past its deadline; the clock is read only after enough work', async (t) => {
  // A clock that moves 30 ms at every reading, and a 100 ms limit.
  let clock = 0;
  let readings = 0;
  const patterns = new ClientPatterns(100, () => (readings++, (clock += 30)));
  patterns.startSearch();
  t.equal(readings, 0, 'its time starts at its first test');
  for (let i = 0; i < 1000; i++) patterns.test('^(alice|bob)$', i % 2 ? 'alice' : 'carol');
  t.equal(readings, 1, 'a thousand short tests do not read the clock');
  // ~1M worst-case steps per test (1002 instructions x 1101 characters): the clock is read after each.
  const big = 'a{1000}';
  const long = 'a'.repeat(1100);
  for (let i = 0; i < 3; i++) t.equal(patterns.test(big, long), true, `${(i + 2) * 30} ms on the clock`);
  t.throws(() => patterns.test(big, long), {
    code: 403,
    message: 'BAD PARAMETERS regex search stopped after 100 ms: narrow it with an exact criterion or a simpler pattern',
  });
  patterns.startSearch();
  t.equal(patterns.test(big, long), true, 'a new search has a new deadline');
});

t.test("a search's deadline counts its own CPU time; the wall clock only bounds the worst case", async (t) => {
  const big = 'a{1000}';
  const long = 'a'.repeat(1100);
  // The machine busy elsewhere: 500 ms pass on the wall at every reading while the search runs 30 ms.
  let cpu = 0;
  let wall = 0;
  const busy = new ClientPatterns(100, () => (cpu += 30), 10_000, () => (wall += 500));
  busy.startSearch();
  for (let i = 0; i < 3; i++) t.equal(busy.test(big, long), true, `${(i + 2) * 30} ms of its own, ${(i + 2) * 500} ms on the wall`);
  t.throws(() => busy.test(big, long), { message: 'BAD PARAMETERS regex search stopped after 100 ms: narrow it with an exact criterion or a simpler pattern' });

  // A search the machine gives almost no CPU: stopped at the wall-clock ceiling.
  let starved = 0;
  let starvedWall = 0;
  const slow = new ClientPatterns(100, () => (starved += 1), 300, () => (starvedWall += 200));
  slow.startSearch();
  t.equal(slow.test(big, long), true, '200 ms on the wall');
  t.throws(() => slow.test(big, long), { message: 'BAD PARAMETERS regex search stopped after 300 ms: narrow it with an exact criterion or a simpler pattern' });
});

t.test('searches sharing a thread each count their own spans, rows tested after their statement returned too', async (t) => {
  const big = 'a{1000}';
  const long = 'a'.repeat(1100);
  // One clock for CPU and wall; each test of `big` spends `ms` on it (read when the test ends).
  let clock = 0;
  const patterns = new ClientPatterns(100, () => clock, 300, () => clock);
  const spend = (ms: number, test: (p: string, v: string) => boolean = (p, v) => patterns.test(p, v)) => {
    clock += ms;
    return test(big, long);
  };
  const later = () => new Promise((resolve) => setImmediate(resolve));
  const stoppedAfter = (ms: number) => ({ message: `BAD PARAMETERS regex search stopped after ${ms} ms: narrow it with an exact criterion or a simpler pattern` });
  const a = patterns.startSearch();
  const b = patterns.startSearch();
  // A's statement takes its matcher when it starts; its rows come back (as on PostgreSQL) after B was started.
  const testA = patterns.during(a, () => patterns.bound());
  const rowsOfA = (async () => {
    await later();
    return [spend(0, testA), spend(40, testA), spend(40, testA)];
  })();
  patterns.during(b, () => [spend(0), spend(90)]);
  t.strictSame(await rowsOfA, [true, true, true], "A's rows tested in A's time: 80 ms of its own");
  await later();
  t.equal(patterns.during(b, () => [spend(0), spend(9)])[1], true, 'B: 99 ms of its own, whatever A spent between');
  await later();
  const againA = patterns.during(a, () => patterns.bound());
  await later();
  spend(0, againA);
  t.throws(() => spend(30, againA), stoppedAfter(100), 'A stopped once its own spans add up past 100 ms');
});

t.test('the CPU clock reads /proc/thread-self/schedstat, and falls back to the wall clock', async (t) => {
  t.equal(threadCpuClock(() => '1234567890 5000 12\n')(), 1234.56789, 'nanoseconds on a CPU, in ms');
  const fallback = threadCpuClock(() => {
    throw new Error('ENOENT');
  });
  const before = performance.now();
  const read = fallback();
  t.ok(read >= before && read <= performance.now(), 'performance.now() where schedstat cannot be read');
  t.ok(Number.isFinite(threadCpuClock()()), 'this machine gives a reading');
});

t.test('values longer than the limit never match; shorter ones are searched whole', async (t) => {
  const patterns = new ClientPatterns();
  patterns.startSearch();
  t.equal(patterns.test('!$', 'a'.repeat(MAX_SEARCHED_LENGTH - 1) + '!'), true);
  t.equal(patterns.test('^a', 'a'.repeat(MAX_SEARCHED_LENGTH + 1)), false);
  // The cache is bounded and refills.
  for (let i = 0; i < 100; i++) t.equal(patterns.test(`^x${i}$`, `x${i}`), true);
});

/** Patterns within what both engines mean the same way: ASCII literals, classes, anchors, groups, quantifiers. */
const simplePattern = fc.letrec((tie) => ({
  atom: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c', '1', ' ', '.', '[ab]', '[^a]', '[a-c1]', '\\d', '\\w', '\\W', '\\s', '\\.') },
    { weight: 2, arbitrary: tie('alt').map((a) => `(${a as string})`) },
    { weight: 1, arbitrary: tie('alt').map((a) => `(?:${a as string})`) },
  ),
  // Assertions stand unquantified (V8 refuses `^*` with the u flag).
  piece: fc.oneof(
    { weight: 6, arbitrary: fc.tuple(tie('atom'), fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?')).map(([a, q]) => `${a as string}${q}`) },
    { weight: 1, arbitrary: fc.constantFrom('^', '$', '\\b', '\\B') },
  ),
  seq: fc.array(tie('piece'), { minLength: 0, maxLength: 4 }).map((ps) => ps.join('')),
  alt: fc.array(tie('seq'), { minLength: 1, maxLength: 3 }).map((ss) => ss.join('|')),
}));
const shortValue = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '1', ' ', '.', 'x'), maxLength: 12 });

t.test('RE2 answers as V8 does wherever both accept a simple pattern', async (t) => {
  let compared = 0;
  fc.assert(
    fc.property(simplePattern.alt, fc.array(shortValue, { minLength: 1, maxLength: 8 }), (pattern, values) => {
      let v8: RegExp;
      let re2: ReturnType<typeof compileClientPattern>;
      try {
        v8 = new RegExp(pattern, 'u');
        re2 = compileClientPattern(pattern);
      } catch {
        return true;
      }
      compared++;
      for (const v of values) if (v8.test(v) !== re2.test(v)) return false;
      return true;
    }),
    { numRuns: 2000, seed: 16 },
  );
  t.ok(compared > 1900, `${compared} of 2000 patterns compared`);
});

t.test('over HTTP: refused patterns answer 403 at once; nested quantifiers answer', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const c = await adminClient(d);
  const back = await c.cmd('FIND User name ~ "(a)\\\\1"');
  t.equal(back.status, 400);
  t.strictSame(back.body, failure([403, 'BAD PARAMETERS regex refused: backreferences are not supported']));
  const look = await c.cmd({ cmd: 'FINDX', class: 'User', regex_args: { name: '^(?!admin)' } });
  t.strictSame(look.body, failure([403, 'BAD PARAMETERS regex refused: lookahead and lookbehind are not supported']));
  const big = await c.cmd({ cmd: 'GETALL', class: 'User', regex_args: { name: 'a{800}b{800}' } });
  t.strictSame(big.body, failure([403, `BAD PARAMETERS regex refused: too large once compiled (1602 instructions, at most ${MAX_PROGRAM_SIZE})`]));
  const once = await c.cmd({ cmd: 'GETOBJECT', class: 'User', regex_args: { name: '(' } });
  t.strictSame(once.body, failure([403, 'BAD PARAMETERS bad regex: error parsing regexp: missing closing ): `(`']));
  t.strictSame((await c.cmd('FIND User name ~ "^([adm]+[in]+)+$"')).body.data.oidlist, ['2'], 'admin');
  t.strictSame((await c.cmd({ cmd: 'FINDX', class: 'User', regex_args: { name: '(?i)^(ADMIN|API-ADMIN)$' } })).body.data.oidlist, ['2', '3']);
});
