/**
 * ACL expressions of the classic daemon: ruleAll, ruleUser, ruleAdmin, ruleSelf,
 * ruleCapable(cap), combined with AND, OR, NOT and parentheses (case-insensitive
 * words; `&&`, `||`, `!` accepted too). Compiled once at schema load.
 * A systemAdministrator passes every rule.
 */
import type { Acl, AclSubject } from './types.js';

export class AclSyntaxError extends Error {}

type Tok = { t: 'rule'; name: string; arg?: string } | { t: 'and' | 'or' | 'not' | '(' | ')' };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\(|\))|(&&|\|\||!)|([A-Za-z_][A-Za-z0-9_]*)(?:\(\s*([A-Za-z0-9_.-]+)\s*\))?)/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new AclSyntaxError(`unexpected ${JSON.stringify(src.slice(i).trim())}`);
    i = re.lastIndex;
    if (m[1]) out.push({ t: m[1] as '(' | ')' });
    else if (m[2]) out.push({ t: m[2] === '&&' ? 'and' : m[2] === '||' ? 'or' : 'not' });
    else {
      const word = m[3]!.toLowerCase();
      if (word === 'and' || word === 'or' || word === 'not') {
        if (m[4] !== undefined) throw new AclSyntaxError(`${m[3]} takes no argument`);
        out.push({ t: word });
      } else out.push(m[4] === undefined ? { t: 'rule', name: m[3]! } : { t: 'rule', name: m[3]!, arg: m[4] });
    }
  }
  return out;
}

type Pred = (s: AclSubject, target: number) => boolean;

function rule(name: string, arg: string | undefined): Pred {
  const needsArg = name.toLowerCase() === 'rulecapable';
  if (needsArg !== (arg !== undefined)) throw new AclSyntaxError(needsArg ? `${name} needs (capability)` : `${name} takes no argument`);
  switch (name.toLowerCase()) {
    case 'ruleall': return () => true;
    case 'ruleuser': return (s) => s.oid > 0;
    case 'ruleadmin': return () => false; // admins pass before any rule is evaluated
    case 'ruleself': return (s, target) => s.oid > 0 && s.oid === target;
    case 'rulecapable': return (s) => s.oid > 0 && s.capabilities.includes(arg!);
    default: throw new AclSyntaxError(`unknown rule ${name}`);
  }
}

/** Recursive descent: or := and (OR and)*; and := unary (AND unary)*; unary := NOT unary | atom. */
function parse(toks: Tok[]): Pred {
  let i = 0;
  const peek = () => toks[i]?.t;
  const orExpr = (): Pred => {
    let left = andExpr();
    while (peek() === 'or') { i++; const l = left, r = andExpr(); left = (s, o) => l(s, o) || r(s, o); }
    return left;
  };
  const andExpr = (): Pred => {
    let left = unary();
    while (peek() === 'and') { i++; const l = left, r = unary(); left = (s, o) => l(s, o) && r(s, o); }
    return left;
  };
  const unary = (): Pred => {
    const tok = toks[i++];
    if (tok === undefined) throw new AclSyntaxError('unexpected end of expression');
    if (tok.t === 'not') { const inner = unary(); return (s, o) => !inner(s, o); }
    if (tok.t === '(') {
      const inner = orExpr();
      if (toks[i++]?.t !== ')') throw new AclSyntaxError('missing )');
      return inner;
    }
    if (tok.t === 'rule') return rule(tok.name, tok.arg);
    throw new AclSyntaxError(`unexpected ${tok.t}`);
  };
  const pred = orExpr();
  if (i < toks.length) throw new AclSyntaxError(`unexpected ${toks[i]!.t}`);
  return pred;
}

/** Compiles an expression; an empty one means `fallback`. */
export function compileAcl(expr: string | undefined, fallback: 'user' | 'admin'): Acl {
  const src = (expr ?? '').trim();
  const pred: Pred = src === '' ? (fallback === 'user' ? rule('ruleUser', undefined) : () => false) : parse(tokenize(src));
  return (subject, target) => subject.admin || pred(subject, target);
}
