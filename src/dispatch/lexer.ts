/**
 * The CSCP line lexer.
 *
 * Tokens are separated by whitespace or commas. A token is a "quoted string"
 * (escapes \a \b \f \n \r \t \v \" \\ and octal \NNN; any other \x is x), a bare
 * word [A-Za-z0-9+_$-]+, or one of `=` (also `==`), `~`, `.`. Anything else
 * unquoted is a parse error, and so is a raw control character anywhere: a
 * command line is one line, so newline injection cannot smuggle a second one.
 *
 * `$` and `-` are accepted in bare words on top of the classic set so that
 * `$0` (a BEGIN queue reference) and negative numbers need no quotes.
 */
import { parseError } from '../errors.js';

export type Token =
  | { type: 'word'; value: string }
  | { type: 'string'; value: string }
  | { type: 'op'; value: '=' | '~' | '.' };

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\',
};

/** A bare word, matched where the lexer stands (sticky): one match per word, not one test per character. */
const WORD = /[A-Za-z0-9+_$-]+/y;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export function lex(line: string): Token[] {
  if (CONTROL.test(line)) throw parseError('control character in command line');
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === ',') { i++; continue; }
    if (c === '=') {
      i += line[i + 1] === '=' ? 2 : 1;
      tokens.push({ type: 'op', value: '=' });
      continue;
    }
    if (c === '~' || c === '.') { tokens.push({ type: 'op', value: c }); i++; continue; }
    if (c === '"') { i = readQuoted(line, i + 1, tokens); continue; }
    WORD.lastIndex = i;
    const word = WORD.exec(line);
    if (word !== null) {
      tokens.push({ type: 'word', value: word[0] });
      i += word[0].length;
      continue;
    }
    throw parseError(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  return tokens;
}

/** Reads a quoted string whose body starts at `i`; returns the index after the closing quote. */
function readQuoted(line: string, i: number, tokens: Token[]): number {
  // Most values have no escape: their text is the value (lone surrogates made U+FFFD, as the UTF-8 path below does).
  // (Only the body is searched for a backslash: each string's own length, never the rest of the line.)
  const close = line.indexOf('"', i);
  const body = close === -1 ? '' : line.slice(i, close);
  if (close !== -1 && !body.includes('\\')) {
    tokens.push({ type: 'string', value: body.toWellFormed() });
    return close + 1;
  }
  let out = '';
  // Octal escapes produce raw bytes, so the value is assembled as bytes and decoded as UTF-8 at the end.
  // Chunks, not a spread into push(): spreading a long string's bytes overflows the call stack.
  const chunks: Buffer[] = [];
  const flush = () => { if (out) { chunks.push(Buffer.from(out, 'utf8')); out = ''; } };
  while (i < line.length) {
    const c = line[i]!;
    if (c === '"') {
      flush();
      tokens.push({ type: 'string', value: Buffer.concat(chunks).toString('utf8') });
      return i + 1;
    }
    if (c !== '\\') { out += c; i++; continue; }
    const n = line[i + 1];
    if (n === undefined) break;
    const octal = /^[0-7]{3}/.exec(line.slice(i + 1, i + 4));
    if (octal) {
      const byte = parseInt(octal[0], 8);
      if (byte > 255) throw parseError(`octal escape out of range: \\${octal[0]}`);
      flush();
      chunks.push(Buffer.of(byte));
      i += 4;
      continue;
    }
    out += SIMPLE_ESCAPES[n] ?? n;
    i += 2;
  }
  throw parseError('unterminated quoted string');
}

/** Quotes a value so that `lex` reads it back unchanged (used to echo queued commands). */
export function quote(value: string): string {
  // Most values need no escape: one scan, no copies (a queued 1 MB value is echoed this way).
  // eslint-disable-next-line no-control-regex
  if (!/[\\"\x00-\x1f\x7f]/.test(value)) return '"' + value + '"';
  // eslint-disable-next-line no-control-regex
  const escaped = value.replace(/[\\"]/g, (m) => '\\' + m).replace(/[\x00-\x1f\x7f]/g, (m) => '\\' + m.charCodeAt(0).toString(8).padStart(3, '0'));
  return '"' + escaped + '"';
}
