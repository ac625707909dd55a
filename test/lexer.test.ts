/**
 * The CSCP line lexer: separators, words, operators, quoted strings and their
 * escapes, and the parse errors (306 then 402). Ends with a property test that
 * quote() and lex() are inverse.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { lex, quote, type Token } from '../src/dispatch/lexer.js';
import { CceError } from '../src/errors.js';

const word = (value: string): Token => ({ type: 'word', value });
const str = (value: string): Token => ({ type: 'string', value });
const op = (value: '=' | '~' | '.'): Token => ({ type: 'op', value });

/** Asserts that `line` fails to lex with the parse error shape: 306 first, then 402 BAD COMMAND. */
function rejects(t: Test, line: string, detail: RegExp) {
  let caught: unknown;
  try {
    lex(line);
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof CceError, `${JSON.stringify(line)} throws a CceError`);
  const e = caught as CceError;
  t.equal(e.code, 306);
  t.match(e.message, detail);
  t.equal(e.items.length, 2);
  t.equal(e.items[0]!.code, 306);
  t.match(e.items[0]!.message, /^ERROR /);
  t.same(e.items[1], { code: 402, message: 'BAD COMMAND' });
}

t.test('empty and blank lines give no tokens', async (t) => {
  t.same(lex(''), []);
  t.same(lex('   \t , ,, '), []);
});

t.test('bare words, with whitespace and commas as separators', async (t) => {
  t.same(lex('GET 6'), [word('GET'), word('6')]);
  t.same(lex('  FIND\tVsite ,name  '), [word('FIND'), word('Vsite'), word('name')]);
  t.same(lex('a,b,,c'), [word('a'), word('b'), word('c')]);
  // The classic set plus `$` (BEGIN queue references) and `-` (negative numbers).
  t.same(lex('Az09+_ $0 -12'), [word('Az09+_'), word('$0'), word('-12')]);
});

t.test('operators = == ~ .', async (t) => {
  t.same(lex('name = "x"'), [word('name'), op('='), str('x')]);
  t.same(lex('name == "x"'), [word('name'), op('='), str('x')]);
  t.same(lex('name=="x"'), [word('name'), op('='), str('x')]);
  t.same(lex('k=v'), [word('k'), op('='), word('v')]);
  t.same(lex('name ~ "^a"'), [word('name'), op('~'), str('^a')]);
  t.same(lex('GET 6 . Email'), [word('GET'), word('6'), op('.'), word('Email')]);
  // `.` is not a word character, so the compact form splits the same way.
  t.same(lex('GET 5.Email'), [word('GET'), word('5'), op('.'), word('Email')]);
  t.same(lex('FIND User Email.enabled="1"'), [
    word('FIND'), word('User'), word('Email'), op('.'), word('enabled'), op('='), str('1'),
  ]);
});

t.test('a quoted string is one token, adjacent to others without spaces', async (t) => {
  t.same(lex('SET 1 . Snmp enabled="0"'), [word('SET'), word('1'), op('.'), word('Snmp'), word('enabled'), op('='), str('0')]);
  t.same(lex('"a""b"'), [str('a'), str('b')]);
  t.same(lex('""'), [str('')]);
  t.same(lex('" a , b "'), [str(' a , b ')], 'separators inside quotes are kept');
  t.same(lex('"=~.;|\'"'), [str("=~.;|'")], 'operator and illegal characters are plain inside quotes');
  t.same(lex('"a\tb"'), [str('a\tb')], 'a raw tab is not a control character here');
});

t.test('every simple escape', async (t) => {
  t.same(lex(String.raw`"\a\b\f\n\r\t\v\"\\"`), [str('\x07\b\f\n\r\t\v"\\')]);
  t.same(lex(String.raw`"say \"hi\""`), [str('say "hi"')]);
});

t.test('an unknown escape is the character itself', async (t) => {
  t.same(lex(String.raw`"\q\x\ \."`), [str('qx .')]);
  // Fewer than three octal digits is not an octal escape: `\0` is a literal 0.
  t.same(lex(String.raw`"\0x\12"`), [str('0x12')]);
});

t.test('octal escapes are bytes, decoded as UTF-8', async (t) => {
  t.same(lex(String.raw`"\101\102C"`), [str('ABC')]);
  t.same(lex(String.raw`"\000"`), [str('\0')]);
  t.same(lex(String.raw`"caf\303\251"`), [str('café')]);
  t.same(lex(String.raw`"\342\234\223 ok"`), [str('✓ ok')]);
  // Octal bytes and raw text mix: the raw text before an escape is flushed first.
  t.same(lex(String.raw`"h\303\251llo \101"`), [str('héllo A')]);
  // Only three digits are read; the fourth is plain text.
  t.same(lex(String.raw`"\1010"`), [str('A0')]);
  t.same(lex(String.raw`"\377"`), [str('\uFFFD')], 'an invalid UTF-8 byte decodes to U+FFFD');
});

t.test('raw UTF-8 inside quotes, including astral characters', async (t) => {
  t.same(lex('"héllo ✓"'), [str('héllo ✓')]);
  t.same(lex('"😀\\101😀"'), [str('😀A😀')]);
  t.same(lex('SET 5 name="日本語"'), [word('SET'), word('5'), word('name'), op('='), str('日本語')]);
});

t.test('unterminated string and trailing backslash', async (t) => {
  rejects(t, '"abc', /unterminated quoted string/);
  rejects(t, 'SET 1 x="abc\\', /unterminated quoted string/);
  rejects(t, '"abc\\"', /unterminated quoted string/);
  rejects(t, '"', /unterminated quoted string/);
});

t.test('octal escape above 255', async (t) => {
  rejects(t, String.raw`"\777"`, /octal escape out of range: \\777/);
  rejects(t, String.raw`"\400"`, /octal escape out of range/);
});

t.test('raw control characters anywhere are refused, so no second line can be smuggled', async (t) => {
  rejects(t, 'GET 1\nDESTROY 1', /control character/);
  rejects(t, 'GET 1\r', /control character/);
  rejects(t, 'GET\x001', /control character/);
  rejects(t, '"a\nb"', /control character/);
  rejects(t, '"a\rb"', /control character/);
  rejects(t, '"a\x00b"', /control character/);
  rejects(t, 'x\x7f', /control character/);
  rejects(t, '\x1b[31m', /control character/);
});

t.test('unexpected characters outside quotes', async (t) => {
  for (const c of [';', '|', "'", '&', '(', '!', '/', 'é']) {
    rejects(t, `GET 1 ${c}`, new RegExp(`unexpected character .* at 6`));
  }
  rejects(t, "GET 'x'", /unexpected character "'" at 4/);
});

t.test('quote() escapes quotes, backslashes and control characters', async (t) => {
  t.equal(quote('plain'), '"plain"');
  t.equal(quote(''), '""');
  t.equal(quote('a"b\\c'), String.raw`"a\"b\\c"`);
  t.equal(quote('a\nb\x00\x7f'), String.raw`"a\012b\000\177"`);
  t.equal(quote('héllo ✓'), '"héllo ✓"', 'non-ASCII text stays raw');
});

t.test('lex(quote(s)) gives back exactly s', async (t) => {
  const roundTrips = (s: string) => {
    const tokens = lex(quote(s));
    return tokens.length === 1 && tokens[0]!.type === 'string' && tokens[0]!.value === s;
  };
  // unit 'binary' draws any code point except lone surrogates: a lone surrogate
  // has no UTF-8 encoding, so it cannot survive the byte-level decoding (see below).
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), roundTrips), { numRuns: 300 });
  // ASCII including every control character, where the octal escapes are exercised most.
  fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), roundTrips), { numRuns: 300 });
  // Strings made mostly of the characters that need escaping.
  const tricky = fc.constantFrom('"', '\\', '\n', '\r', '\0', '\x7f', '\t', ' ', ',', 'é', '😀', 'a');
  fc.assert(fc.property(fc.array(tricky, { maxLength: 30 }).map((a) => a.join('')), roundTrips), { numRuns: 300 });
  t.pass('round trips held');
});

t.test('a lone surrogate does not round-trip (documents the limit of the property above)', async (t) => {
  t.same(lex(quote('a\uD800b')), [str('a\uFFFDb')]);
  t.same(lex('"a\uDC00b" "\\101\uD800"'), [str('a\uFFFDb'), str('A\uFFFD')], 'the same with and without escapes');
});

t.test('many quoted values in one line (each string is searched only to its own end)', async (t) => {
  const values = Array.from({ length: 20_000 }, (_, i) => `v${i}`);
  const tokens = lex(`SET 1 ${values.map((v, i) => `p${i}="${v}"`).join(' ')}`);
  t.equal(tokens.length, 2 + values.length * 3);
  t.same(tokens.at(-1), str(values.at(-1)!));
});

// Regression: spreading a long string's bytes into Array#push overflowed the call stack above ~120 kB.
t.test('a long quoted string (1 MiB) lexes', async (t) => {
  const long = 'x'.repeat(1024 * 1024);
  t.same(lex(`SET 1 v="${long}\\101"`).at(-1), str(long + 'A'));
});
