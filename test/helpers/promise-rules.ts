/**
 * The rules for Promises in src/ and commands/, checked with TypeScript's own
 * type checker (what a linter's no-floating-promises and no-misused-promises
 * do): since the store is asynchronous, a store read or write that is not
 * awaited silently does nothing in time (a write's refusal is lost, a read
 * is a Promise that is always truthy).
 *
 * - floating: an expression statement whose value is a Promise, neither
 *   awaited, returned, nor explicitly `void`ed;
 * - condition: a Promise used as a truth value or compared with a value that
 *   is not one (`if (p)`, `!p`, `p && x`, `p ? a : b`, `p ?? x`,
 *   `p === undefined`), or made a string or a number (`${p}`, `Number(p)`);
 * - untyped value: a Promise put where any value goes (a property of a
 *   reply, an element of an array, an argument typed unknown): the reply
 *   then holds `{}` where a value was meant;
 * - void callback: a function returning a Promise given where a function
 *   returning nothing is expected (`check: () => void`, `forEach(async ...)`):
 *   whoever calls it drops the Promise.
 */
import ts from 'typescript';
import path from 'node:path';

export interface PromiseViolation {
  rule: 'floating' | 'condition' | 'untyped value' | 'void callback';
  file: string;
  line: number;
  text: string;
}

/** Every violation in the files under `roots` (relative to `repo`), with the repository's tsconfig. */
export function promiseViolations(repo: string, roots: readonly string[]): PromiseViolation[] {
  const cfg = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!cfg) throw new Error('tsconfig.json could not be read');
  const inRoots = (f: string) => roots.some((r) => path.relative(path.join(repo, r), f).split(path.sep)[0] !== '..');
  const files = cfg.fileNames.filter(inRoots);
  const program = ts.createProgram({ rootNames: files, options: { ...cfg.options, noEmit: true } });
  const checker = program.getTypeChecker();
  const out: PromiseViolation[] = [];
  const isPromise = (node: ts.Node): boolean => {
    const type = checker.getTypeAtLocation(node);
    return (type.isUnion() ? type.types : [type]).some((t) => t.getSymbol()?.getName() === 'Promise');
  };
  const report = (rule: PromiseViolation['rule'], sf: ts.SourceFile, node: ts.Node) => {
    out.push({ rule, file: path.relative(repo, sf.fileName), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: node.getText(sf).slice(0, 100) });
  };
  for (const sf of program.getSourceFiles()) {
    if (!files.includes(sf.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isExpressionStatement(node) && !handled(node.expression) && isPromise(node.expression)) report('floating', sf, node);
      if (misusedAsValue(node, checker) && isPromise(node)) report('condition', sf, node);
      if (intoUntyped(node, checker) && isPromise(node)) report('untyped value', sf, node);
      if (returnsPromiseIntoVoid(node, checker, isPromise)) report('void callback', sf, node);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

const ASSIGNMENTS = new Set([ts.SyntaxKind.EqualsToken, ts.SyntaxKind.QuestionQuestionEqualsToken, ts.SyntaxKind.BarBarEqualsToken, ts.SyntaxKind.AmpersandAmpersandEqualsToken]);

/** Awaited, voided, kept (assigned), or given a rejection handler (`.catch(fn)`, `.then(f, g)`). */
function handled(e: ts.Expression): boolean {
  if (ts.isAwaitExpression(e) || ts.isVoidExpression(e)) return true;
  if (ts.isBinaryExpression(e) && ASSIGNMENTS.has(e.operatorToken.kind)) return true;
  if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression)) {
    const method = e.expression.name.text;
    return (method === 'catch' && e.arguments.length === 1) || (method === 'then' && e.arguments.length === 2);
  }
  return false;
}

const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);
const LOGICAL = new Set([ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken]);

/** Is `node` (an expression) where its truth or its value as text is what counts? */
function misusedAsValue(node: ts.Node, checker: ts.TypeChecker): boolean {
  const p = node.parent;
  if (p === undefined || !ts.isExpression(node)) return false;
  if ((ts.isIfStatement(p) || ts.isWhileStatement(p) || ts.isDoStatement(p)) && p.expression === node) return true;
  if (ts.isConditionalExpression(p) && p.condition === node) return true;
  if (ts.isPrefixUnaryExpression(p) && p.operator === ts.SyntaxKind.ExclamationToken) return true;
  if (ts.isTemplateSpan(p) && p.expression === node) return true;
  if (ts.isBinaryExpression(p) && LOGICAL.has(p.operatorToken.kind)) return p.left === node || misusedAsValue(p, checker);
  // `p ?? x`: a Promise is never nullish (a Promise or undefined may be).
  if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) {
    return p.left === node && (checker.getTypeAtLocation(node).getFlags() & ts.TypeFlags.Union) === 0;
  }
  // Number(p), String(p), JSON.stringify(p): NaN, "[object Promise]", "{}".
  if (ts.isCallExpression(p) && p.arguments.includes(node as ts.Expression) && ['Number', 'String', 'Boolean', 'JSON.stringify'].includes(p.expression.getText())) return true;
  if (ts.isBinaryExpression(p) && EQUALITY.has(p.operatorToken.kind)) {
    // Two Promises compared (is this the same one?) is fine; a Promise against a value never equals it.
    const other = p.left === node ? p.right : p.left;
    return other.kind === ts.SyntaxKind.UndefinedKeyword || other.kind === ts.SyntaxKind.NullKeyword || ts.isLiteralExpression(other) || (ts.isIdentifier(other) && other.text === 'undefined');
  }
  return false;
}

/** The type an object literal's method fills in (the property of the literal's contextual type). */
function methodSlot(node: ts.MethodDeclaration, checker: ts.TypeChecker): ts.Type | undefined {
  const literal = checker.getContextualType(node.parent as ts.ObjectLiteralExpression);
  const name = ts.isIdentifier(node.name) ? node.name.text : undefined;
  const slot = literal && name !== undefined ? literal.getProperty(name) : undefined;
  return slot === undefined ? undefined : checker.getTypeOfSymbolAtLocation(slot, node);
}

/** A call's result (or a name) given to a slot of type any or unknown (an object literal's property, an array element, an argument). */
function intoUntyped(node: ts.Node, checker: ts.TypeChecker): boolean {
  const p = node.parent;
  if (p === undefined || !(ts.isCallExpression(node) || ts.isIdentifier(node))) return false;
  const slot = (ts.isPropertyAssignment(p) && p.initializer === node) || ts.isShorthandPropertyAssignment(p) || ts.isArrayLiteralExpression(p) || (ts.isCallExpression(p) && p.arguments.includes(node as ts.Expression));
  if (!slot) return false;
  const expected = checker.getContextualType(node as ts.Expression);
  // A property of an object literal nothing types (a reply built and returned): the Promise is what it holds.
  if (expected === undefined) return ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p);
  return (expected.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
}

/** A function returning a Promise where the function expected returns void. */
function returnsPromiseIntoVoid(node: ts.Node, checker: ts.TypeChecker, isPromise: (n: ts.Node) => boolean): boolean {
  if (!ts.isArrowFunction(node) && !ts.isFunctionExpression(node) && !(ts.isMethodDeclaration(node) && ts.isObjectLiteralExpression(node.parent))) return false;
  const signature = checker.getSignatureFromDeclaration(node);
  if (signature === undefined) return false;
  const returns = checker.getReturnTypeOfSignature(signature);
  if (returns.getSymbol()?.getName() !== 'Promise') return false;
  const contextual = ts.isMethodDeclaration(node) ? methodSlot(node, checker) : checker.getContextualType(node);
  if (contextual === undefined) return false;
  const expected = checker.getSignaturesOfType(contextual.getNonNullableType(), ts.SignatureKind.Call);
  return expected.length > 0 && expected.every((s) => (checker.getReturnTypeOfSignature(s).flags & ts.TypeFlags.Void) !== 0);
}
