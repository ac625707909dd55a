/**
 * Generated /v2/cce requests: structured envelopes and CSCP lines of every
 * verb, regular expressions in every place that takes one, and bodies that
 * are not envelopes at all.
 */
import fc from 'fast-check';
import { anyJson, nasty, type Identity, type Vocabulary } from './vocabulary.js';

/** Patterns that backtrack badly in V8's engine (issue: a FIND can block the event loop). */
const HEAVY_PATTERNS = [
  '.*.*.*.*.*.*.*.*.*.*.*.*!', '^(a|a)*$', '(a|ab)*c', '(a?){25}a{25}', '(a+)+$', '(.*a){12}', '^(\\w+\\s?)*$', '(a|aa)+b',
  '([a-z]+)*!', '(x+x+)+y', '^(([a-z])+.)+[A-Z]([a-z])+$', '(?:a|a?)+b', '(.*)*!', 'a{1,1000}a{1,1000}a{1,1000}!',
];

const regexAtom: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('a', 'b', '!', '.', '\\d', '\\w', '\\s', '\\b', '[a-z]', '[^a]', '[\\s\\S]', '\\p{L}', '\\u{1F600}', '\\x41', '\\1', '\\k<n>', '^', '$', '\\', '[', '(', ')', '|'),
  fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '+', '?', '(', ')', '|', '[', ']', '{', '}', '\\', '^', '$'), maxLength: 6 }),
);
const quantifier = fc.constantFrom('', '', '*', '+', '?', '*?', '+?', '{2}', '{2,}', '{1,30}', '{0,1000}', '{99999}');

/** A regular expression: random structure, and over-long ones. */
const randomPattern: fc.Arbitrary<string> = fc.letrec<{ re: string; group: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.array(fc.tuple(regexAtom, quantifier).map(([a, q]) => a + q), { maxLength: 8 }).map((xs) => xs.join('')),
    fc.tuple(tie('group'), quantifier).map(([g, q]) => g + q),
    fc.array(tie('re'), { minLength: 2, maxLength: 4 }).map((xs) => xs.join('|')),
    fc.array(tie('re'), { minLength: 2, maxLength: 4 }).map((xs) => xs.join('')),
  ),
  group: fc.tuple(fc.constantFrom('(', '(?:', '(?=', '(?!', '(?<n>', '(?<=', '(?<!'), tie('re')).map(([open, inner]) => `${open}${inner})`),
})).re.chain((re) => fc.oneof({ weight: 4, arbitrary: fc.constant(re) }, fc.constant('(a*)'.repeat(300)), nasty));

/** Patterns, with the known-bad shapes among them unless `heavy` is off (see Vocabulary.heavy). */
export const patternArb = (v: Vocabulary): fc.Arbitrary<string> =>
  v.heavy ? fc.oneof({ weight: 6, arbitrary: randomPattern }, fc.constantFrom(...HEAVY_PATTERNS)) : randomPattern;

function oidArb(v: Vocabulary, who: Identity): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...v.oids[who]) },
    fc.constantFrom('$0', '$1', '$9', '0', '-1', '', '1.5', '0x10', '99999999999999999999', '9007199254740993', ' 5', '5 '),
    fc.integer({ min: 100_000, max: 2_000_000_000 }).map(String),
    fc.integer({ min: -5, max: 100_000 }),
    anyJson,
  );
}

const verbCase = (verb: string) => fc.constantFrom(verb, verb.toLowerCase(), verb[0] + verb.slice(1).toLowerCase());

function propName(v: Vocabulary): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...v.properties) },
    fc.tuple(fc.constantFrom(...v.namespaces, 'Nope'), fc.constantFrom(...v.properties)).map(([n, p]) => `${n}.${p}`),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
    nasty,
  );
}

/** A value a property might get: mostly ones its type accepts, the rest anything at all. */
function propValue(v: Vocabulary): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('0', '1', '42', 'abc', 'rpi4', 'prod', 'Plain Name', 'a@example.com', '10.1.2.3', '&ssh&vnc&', '', v.deviceKey, 'ssh') },
    { weight: 2, arbitrary: nasty },
    anyJson,
  );
}

/** A structured envelope of one verb, fields of the right type mostly and of any type sometimes. */
export function structuredEnvelope(v: Vocabulary, who: Identity): fc.Arbitrary<Record<string, unknown>> {
  const fields = fc.record(
    {
      oid: oidArb(v, who),
      namespace: fc.oneof(fc.constantFrom('', ...v.namespaces), nasty, anyJson),
      class: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...v.classes) }, nasty, anyJson),
      args: fc.oneof({ weight: 5, arbitrary: fc.dictionary(propName(v), propValue(v), { maxKeys: 4 }) }, anyJson),
      regex_args: fc.oneof({ weight: 5, arbitrary: fc.dictionary(propName(v), patternArb(v), { maxKeys: 2 }) }, anyJson),
      sorttype: fc.oneof(fc.constantFrom(...v.sortTypes), nasty),
      sortprop: propName(v),
      oids: fc.oneof(fc.array(oidArb(v, who), { maxLength: 6 }), anyJson),
      reason: nasty,
      oldpassword: nasty,
      password: nasty,
      user: fc.oneof(fc.constantFrom('admin', 'fuzzuser', 'api-admin', 'victim'), nasty),
      token: nasty,
      sessionid: nasty,
      format: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('cce', 'json') }, anyJson),
    },
    { requiredKeys: [] },
  );
  return fc.tuple(fc.constantFrom(...v.verbs).chain(verbCase), fields, fc.dictionary(nasty, anyJson, { maxKeys: 2 })).map(([cmd, f, extra]) => ({ ...extra, ...f, cmd }));
}

/** One CSCP token, as a client would write it or not. */
function lineToken(v: Vocabulary, who: Identity): fc.Arbitrary<string> {
  const quoted = fc.oneof(nasty, patternArb(v), fc.constantFrom(...v.oids[who])).map((s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...v.oids[who]) },
    { weight: 3, arbitrary: fc.constantFrom(...v.properties, ...v.classes, ...v.namespaces) },
    { weight: 3, arbitrary: fc.tuple(propName(v), fc.constantFrom('=', '==', '~', ' = ', ' ~ '), quoted).map(([k, op, q]) => `${k}${op}${q}`) },
    { weight: 2, arbitrary: quoted },
    fc.constantFrom('.', '=', '~', '==', ',', 'SORTTYPE', 'SORTPROP', 'sorttype ascii', 'SORTPROP name', '$0', '$1', '"unterminated', '"\\777"', '"\\q"', '\\'),
    fc.stringMatching(/^[A-Za-z0-9+_$-]{1,12}$/),
    fc.string({ maxLength: 6 }),
  );
}

/** A CSCP line of one verb (sometimes with structured fields beside it). */
export function cscpEnvelope(v: Vocabulary, who: Identity): fc.Arbitrary<Record<string, unknown>> {
  const sep = fc.constantFrom(' ', ' ', ',', '  ', '\t', '');
  const rest = fc.array(fc.tuple(sep, lineToken(v, who)).map(([s, t]) => s + t), { maxLength: 8 }).map((xs) => xs.join(''));
  const line = fc.tuple(fc.constantFrom(...v.verbs).chain(verbCase), fc.constantFrom(' ', ' ', '', '  '), rest).map(([verb, s, r]) => `${verb}${s}${r}`);
  return fc.tuple(line, fc.option(structuredEnvelope(v, who), { freq: 5 })).map(([cmd, extra]) => ({ ...(extra ?? {}), cmd }));
}

/** FIND / FINDX / GETOBJECT / GETALL with a generated pattern on a property that holds long values. */
export function regexEnvelope(v: Vocabulary): fc.Arbitrary<Record<string, unknown>> {
  const prop = fc.constantFrom('fullName', 'description', 'name', 'note', 'Email.aliases', 'device_key');
  const cls = fc.constantFrom('User', 'Device', 'DeviceType', ...v.classes);
  return fc.tuple(fc.constantFrom('FIND', 'FINDX', 'GETOBJECT', 'GETALL'), cls, prop, patternArb(v)).map(([verb, c, p, re]) =>
    verb === 'FIND' ? { cmd: `FIND ${c} ${p} ~ "${re.replace(/["\\]/g, (ch) => `\\${ch}`)}"` } : { cmd: verb, class: c, args: {}, regex_args: { [p]: re } },
  );
}

/** Bodies of POST /v2/cce that are not envelopes: malformed JSON, other JSON types, odd content types. */
export const oddBody: fc.Arbitrary<{ body: string; contentType: string }> = fc.tuple(
  fc.oneof(
    fc.constantFrom('', '{', '{"cmd":', '{"cmd":"PING"', 'null', '[]', '"PING"', '1', '{"cmd":null}', '{"cmd":["PING"]}', '{"__proto__":{"cmd":"PING"}}',
      '{"constructor":{"prototype":{"x":1}},"cmd":"PING"}', '{"cmd":"PING","cmd":"CLASSES"}', 'cmd=PING', '\u0000', '{"cmd":"\\ud800"}'),
    fc.json({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  ),
  fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data', 'application/json; charset=latin1', ''),
).map(([body, contentType]) => ({ body, contentType }));

/** A generated value as line text: String() throws for an object without a prototype (fast-check makes some). */
function asText(value: unknown): string {
  try {
    return String(value);
  } catch {
    return JSON.stringify(value) ?? '';
  }
}

/**
 * Writes that get past parsing: SET, CREATE and DESTROY with real classes, property names and plausible
 * values, as a line or as fields, sometimes inside BEGIN ... COMMIT. These reach the store's rules (types,
 * uniqueness, ACLs, references), where a refusal must leave nothing behind.
 */
export function writeEnvelope(v: Vocabulary, who: Identity): fc.Arbitrary<Record<string, unknown>> {
  const oid = fc.constantFrom(...v.oids[who]);
  const args = fc.dictionary(fc.constantFrom(...v.properties), propValue(v), { minKeys: 1, maxKeys: 3 });
  const line = (args: Record<string, unknown>) =>
    Object.entries(args).map(([k, val]) => `${k}="${asText(val).replace(/["\\]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, '')}"`).join(' ');
  return fc.oneof(
    fc.tuple(oid, fc.option(fc.constantFrom(...v.namespaces), { freq: 4 }), args, fc.boolean()).map(([o, ns, a, asLine]) =>
      asLine ? { cmd: `SET ${o}${ns ? ` . ${ns}` : ''} ${line(a)}` } : { cmd: 'SET', oid: o, namespace: ns ?? '', args: a }),
    fc.tuple(fc.constantFrom(...v.classes), args, fc.boolean()).map(([c, a, asLine]) => (asLine ? { cmd: `CREATE ${c} ${line(a)}` } : { cmd: 'CREATE', class: c, args: a })),
    // The admin would soon have destroyed every target: its DESTROYs here aim at nothing (the other families still destroy).
    (who === 'admin' ? fc.constant('999999999') : oid).map((o) => ({ cmd: `DESTROY ${o}` })),
    fc.constantFrom({ cmd: 'BEGIN' }, { cmd: 'COMMIT' }, { cmd: 'ROLLBACK' }),
  );
}
