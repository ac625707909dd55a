/**
 * Shared argument grammar of the CSCP line form, and the structured-form
 * equivalents, so each command module stays a few lines long.
 *
 *   target      := oid [ "." namespace ]          (GET 5 . Email, GET 5.Email)
 *   assignments := ( key "=" value )*             (SET 5 a="1" b=2)
 *   criteria    := ( key ("=" | "~") value )*     (FIND User name = "x" Email.aliases ~ "^a")
 *   key         := word [ "." word ]
 */
import { badParameters } from '../errors.js';
import { quote, type Token } from './lexer.js';
import type { CommandInput } from './types.js';
import type { FindCriterion, FindQuery } from '../store/store.js';
import { SORT_TYPES, type SortType } from '../store/sort.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A cursor over tokens that fails with 403 BAD PARAMETERS naming what it expected. */
export class Tokens {
  private i = 0;
  constructor(private readonly toks: readonly Token[]) {}

  get done(): boolean {
    return this.i >= this.toks.length;
  }

  peek(): Token | undefined {
    return this.toks[this.i];
  }

  next(what: string): Token {
    const t = this.toks[this.i++];
    if (t === undefined) throw badParameters(`expected ${what}`);
    return t;
  }

  word(what: string): string {
    const t = this.next(what);
    if (t.type !== 'word') throw badParameters(`expected ${what}`);
    return t.value;
  }

  /** A value: a quoted string or a bare word. */
  value(what: string): string {
    const t = this.next(what);
    if (t.type === 'op') throw badParameters(`expected ${what}`);
    return t.value;
  }

  op(): string | undefined {
    const t = this.peek();
    if (t?.type !== 'op') return undefined;
    this.i++;
    return t.value;
  }

  end(): void {
    if (!this.done) throw badParameters(`unexpected ${JSON.stringify(this.toks[this.i]!.value)}`);
  }
}

export function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw badParameters(`bad ${what} ${JSON.stringify(name).slice(0, 60)}`);
  return name;
}

/** `oid [. ns]` from the line, else the envelope's oid and namespace. */
export function target(input: CommandInput, t: Tokens): { oid: string; ns: string } {
  if (t.done) {
    const oid = input.envelope.oid;
    if (oid === undefined || oid === '') throw badParameters('expected an oid');
    const ns = input.envelope.namespace ?? '';
    return { oid, ns: ns === '' ? '' : checkName(ns, 'namespace') };
  }
  const oid = t.word('an oid');
  if (t.peek()?.type === 'op' && t.peek()!.value === '.') {
    t.op();
    return { oid, ns: checkName(t.word('a namespace'), 'namespace') };
  }
  return { oid, ns: '' };
}

/** `key[.sub]` as written in FIND criteria and sort properties. */
function key(t: Tokens): { ns: string; name: string } {
  const first = checkName(t.word('a property name'), 'property name');
  if (t.peek()?.type === 'op' && t.peek()!.value === '.') {
    t.op();
    return { ns: first, name: checkName(t.word('a property name'), 'property name') };
  }
  return { ns: '', name: first };
}

/** Splits "NS.prop" of the structured form. */
export function splitKey(k: string): { ns: string; name: string } {
  const dot = k.indexOf('.');
  if (dot < 0) return { ns: '', name: checkName(k, 'property name') };
  return { ns: checkName(k.slice(0, dot), 'namespace'), name: checkName(k.slice(dot + 1), 'property name') };
}

/** `k="v" ...` from the line, else the envelope's args. */
export function assignments(input: CommandInput, t: Tokens): Record<string, unknown> {
  if (t.done) {
    const args = input.envelope.args ?? {};
    for (const k of Object.keys(args)) checkName(k, 'property name');
    return { ...args };
  }
  // No prototype: `SET 1 __proto__="x"` must name an unknown property (302), not vanish into a setter.
  const out: Record<string, unknown> = Object.create(null);
  while (!t.done) {
    const k = checkName(t.word('a property name'), 'property name');
    if (t.op() !== '=') throw badParameters(`expected = after ${k}`);
    out[k] = t.value(`a value for ${k}`);
  }
  return out;
}

function sortType(v: string): SortType {
  const s = v.toLowerCase();
  if (!(SORT_TYPES as readonly string[]).includes(s)) throw badParameters(`unknown sort type ${JSON.stringify(v).slice(0, 40)}`);
  return s as SortType;
}

/** FIND's criteria and SORTTYPE/SORTPROP from the line. */
export function findQuery(t: Tokens): FindQuery {
  const criteria: FindCriterion[] = [];
  const q: FindQuery = { criteria };
  while (!t.done) {
    const w = t.peek()!;
    if (w.type === 'word' && /^sorttype$/i.test(w.value)) {
      t.next('SORTTYPE');
      q.sorttype = sortType(t.value('a sort type'));
      continue;
    }
    if (w.type === 'word' && /^sortprop$/i.test(w.value)) {
      t.next('SORTPROP');
      q.sortprop = key(t);
      continue;
    }
    const k = key(t);
    const op = t.op();
    if (op !== '=' && op !== '~') throw badParameters(`expected = or ~ after ${k.name}`);
    criteria.push({ ...k, op, value: t.value(`a value for ${k.name}`) });
  }
  return q;
}

/** FINDX / GETOBJECT / GETALL's structured criteria: exact `args`, regex `regex_args`, sort fields. */
export function structuredQuery(input: CommandInput): FindQuery {
  const e = input.envelope;
  const criteria: FindCriterion[] = [];
  for (const [k, v] of Object.entries(e.args ?? {})) {
    if (typeof v !== 'string') throw badParameters(`args.${k}: expected a string`);
    criteria.push({ ...splitKey(k), op: '=', value: v });
  }
  for (const [k, v] of Object.entries(e.regex_args ?? {})) criteria.push({ ...splitKey(k), op: '~', value: v });
  const q: FindQuery = { criteria };
  if (e.sortprop) q.sortprop = splitKey(e.sortprop);
  if (e.sorttype) q.sorttype = sortType(e.sorttype);
  return q;
}

/** FINDX / GETOBJECT / GETALL: the class (line word or `class` field) and the structured criteria. */
export function classQuery(input: CommandInput): { cls: string; query: FindQuery } {
  const t = new Tokens(input.tokens);
  const cls = className(input, t);
  t.end();
  return { cls, query: structuredQuery(input) };
}

/** The class name from the line's next word, else the envelope's class. */
export function className(input: CommandInput, t: Tokens): string {
  const name = t.done ? input.envelope.class : t.word('a class name');
  if (name === undefined || name === '') throw badParameters('expected a class name');
  return checkName(name, 'class name');
}

/** `k = "v" ...` as echoed in COMMIT results; secret values (passwords, device tokens...) never are. */
export function assignmentText(values: Record<string, unknown>, secret: (key: string) => boolean): string[] {
  return Object.entries(values).map(([k, v]) => `${k} = ${quote(secret(k) ? '***' : Array.isArray(v) ? v.join(',') : String(v))}`);
}

/** No arguments allowed. */
export function none(input: CommandInput): void {
  new Tokens(input.tokens).end();
}
