/**
 * The layer rules, from DESIGN.md's picture (data flows top to bottom, never
 * back up):
 *
 *     HTTP (src/http)
 *       gate (src/auth)         serves every door
 *       facades (src/facades)   translate only
 *       dispatcher (src/dispatch)
 *       commands (commands/)
 *       domain (src/devices)    the device world: look-ups, catalog, credentials, heartbeats,
 *                               SSH keys, the tunnel rule and runtime (src/users: the user lifecycle)
 *       store (src/store)
 *       schema (src/schema)
 *   side parts of the core: src/flash, src/player (file storage), src/tunnels (the SSH server)
 *
 * Every import of every file under src/ and commands/ (static, type-only,
 * re-exports and dynamic `import()`, read with TypeScript's own pre-processor)
 * is checked against the arrows that must never exist:
 *
 *   store      -/-> dispatcher, facades, HTTP, fastify; nor commands, the domain or the gate above it
 *   schema     -/-> anything of the daemon above it (the bottom layer)
 *   commands   -/-> facades
 *   dispatcher -/-> facades
 *   gate       -/-> dispatcher, commands (the gate serves every door, not only /v2/cce)
 *   domain     -/-> facades, dispatcher, commands, HTTP, fastify (a door's machinery)
 *   tunnels, flash, player -/-> dispatcher, commands
 *   core (store, schema, domain, users, rules, flash, tunnels, player, commands, dispatcher, gate)
 *              -/-> facades, HTTP
 *   anything outside src/facades -/-> src/facades, but src/http/server.ts -> src/facades/index.ts
 *   facades    -/-> the embedded SSH server (src/tunnels/ssh-server.ts): the domain runs it
 *
 * No violation is tolerated. And the server mounts facades from one table
 * (src/facades/index.ts): nothing else imports a facade.
 *
 * The store's backends: every line of SQL, every prepared statement and every
 * import of a database driver is under a backend's folder (src/store/sqlite/
 * with better-sqlite3, src/store/postgres/ with pg), and nothing outside
 * src/store imports a backend folder: the rest
 * of the daemon sees the Store, the Writer and the store's own modules only.
 */
import t from 'tap';
import ts from 'typescript';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promiseViolations } from './helpers/promise-rules.js';

/** An area: a folder of the repository (`src/store`), or `pkg:<name>` for an npm package. */
interface Rule {
  from: readonly string[];
  never: readonly string[];
  /** Areas of `from` the rule does not cover (a folder inside a `from` area). */
  except?: readonly string[];
  /** Single arrows the rule allows. */
  allowed?: readonly Exemption[];
  why: string;
}

const CORE = [
  'src/store', 'src/schema', 'src/devices', 'src/users', 'src/rules.ts', 'src/flash', 'src/tunnels', 'src/player', 'commands', 'src/dispatch', 'src/auth',
];

/** The one import of src/facades from outside it: the server mounting the table. */
const FACADE_TABLE_IMPORT = ['src/http/server.ts', 'src/facades/index.ts'] as const;

/** The only arrow `from -> to` a rule lets through although its areas match. */
interface Exemption {
  from: string;
  to: string;
}

const RULES: readonly Rule[] = [
  {
    from: ['src/store'],
    never: ['src/dispatch', 'src/facades', 'src/http', 'pkg:fastify', 'pkg:@fastify', 'commands', 'src/devices', 'src/auth'],
    why: 'the store obeys every door alike and knows none of them',
  },
  {
    from: ['src/schema'],
    never: ['src/store', 'src/devices', 'src/dispatch', 'commands', 'src/auth', 'src/facades', 'src/http', 'src/flash', 'src/tunnels', 'src/player'],
    why: 'the schema is the bottom layer',
  },
  { from: ['commands', 'src/dispatch'], never: ['src/facades'], why: 'a command runs the same for every door' },
  { from: ['src/auth'], never: ['src/dispatch', 'commands'], why: 'the gate serves every door, not only /v2/cce' },
  { from: CORE, never: ['src/facades', 'src/http'], why: 'the core never depends on a door' },
  {
    from: ['src/devices'],
    never: ['src/facades', 'src/dispatch', 'commands', 'src/http', 'pkg:fastify', 'pkg:@fastify'],
    why: 'the device domain answers every door alike: a door calls it, never the reverse',
  },
  { from: ['src/tunnels', 'src/flash', 'src/player'], never: ['src/dispatch', 'commands'], why: 'a side part of the core serves every door' },
  {
    from: ['src', 'commands'],
    except: ['src/facades'],
    never: ['src/facades'],
    allowed: [{ from: FACADE_TABLE_IMPORT[0], to: FACADE_TABLE_IMPORT[1] }],
    why: 'facades are mounted from one table (src/facades/index.ts), by the server only',
  },
  { from: ['src/facades'], never: ['src/tunnels/ssh-server.ts'], why: 'the embedded SSH server is the device domain\'s to run (src/devices/tunnel-runtime.ts)' },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** What a specifier names: a repository path (`.js` written for a `.ts` file), or `pkg:<name>`. */
function target(from: string, specifier: string): string {
  if (specifier.startsWith('.')) return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.(m?)js$/, '.$1ts');
  const parts = specifier.split('/');
  return `pkg:${specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
}

/** Every import of every source file, as `[from, to]`. */
function importsOf(files: readonly string[]): [string, string][] {
  return files.flatMap((file) =>
    ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map(({ fileName }): [string, string] => [file, target(file, fileName)]),
  );
}

/** True when `p` is the area or inside it (`pkg:@fastify` holds every `@fastify/...` package). */
const within = (p: string, area: string) => p === area || p.startsWith(`${area}/`);

/** Every import that breaks a rule, with the rule's reason. */
function violations(imports: readonly [string, string][]): Map<string, string> {
  const found = new Map<string, string>();
  for (const [from, to] of imports) {
    for (const rule of RULES) {
      if (!rule.from.some((a) => within(from, a)) || rule.except?.some((a) => within(from, a))) continue;
      if (rule.allowed?.some((x) => x.from === from && x.to === to)) continue;
      if (rule.never.some((a) => within(to, a))) found.set(`${from} -> ${to}`, rule.why);
    }
  }
  return found;
}

const FILES = [...sourceFiles('src'), ...sourceFiles('commands')];
const IMPORTS = importsOf(FILES);

t.test('the import reader sees every kind of import', async (t) => {
  t.ok(FILES.length > 100, `${FILES.length} source files`);
  const probe = [
    "import { a } from '../store/store.js';",
    "import type { B } from 'fastify';",
    "export { c } from './x.js';",
    "const d = await import('@fastify/multipart');",
    "import '../http/server.js';",
  ].join('\n');
  t.strictSame(
    ts.preProcessFile(probe, true, true).importedFiles.map(({ fileName }) => target('src/auth/probe.ts', fileName)),
    ['src/store/store.ts', 'pkg:fastify', 'src/auth/x.ts', 'pkg:@fastify/multipart', 'src/http/server.ts'],
  );
  // The rules themselves: each forbidden arrow is caught, an allowed one is not.
  const caught = violations([
    ['src/store/store.ts', 'src/dispatch/types.ts'],
    ['src/store/store.ts', 'pkg:fastify'],
    ['src/store/store.ts', 'pkg:@fastify/multipart'],
    ['src/store/store.ts', 'src/http/server.ts'],
    ['src/store/store.ts', 'src/facades/meeting/model.ts'],
    ['commands/GET.ts', 'src/facades/meeting/replies.ts'],
    ['src/dispatch/dispatcher.ts', 'src/facades/meeting/route.ts'],
    ['src/auth/audit.ts', 'src/dispatch/types.ts'],
    ['src/tunnels/ports.ts', 'src/http/server.ts'],
    ['src/schema/loader.ts', 'src/store/store.ts'],
    ['src/devices/heartbeats.ts', 'src/facades/meeting/replies.ts'],
    ['src/devices/lookups.ts', 'src/dispatch/types.ts'],
    ['src/devices/catalog.ts', 'commands/CREATE.ts'],
    ['src/devices/tunnel-runtime.ts', 'src/http/server.ts'],
    ['src/devices/tunnel-runtime.ts', 'pkg:fastify'],
    ['src/tunnels/ssh-server.ts', 'src/dispatch/dispatcher.ts'],
    ['src/flash/catalog.ts', 'commands/GET.ts'],
    ['src/users/lifecycle.ts', 'src/facades/meeting/users.ts'],
    ['src/rules.ts', 'src/http/server.ts'],
    ['src/app.ts', 'src/facades/meeting/plugin.ts'],
    ['src/cli/main.ts', 'src/facades/meeting/replies.ts'],
    ['src/http/server.ts', 'src/facades/meeting/plugin.ts'],
    ['src/facades/meeting/ssh-world.ts', 'src/tunnels/ssh-server.ts'],
    // Allowed: downward, a package the rule does not name, the server's one import of the facade table.
    ['src/facades/meeting/devices.ts', 'src/store/store.ts'],
    ['src/facades/meeting/devices.ts', 'src/devices/lookups.ts'],
    ['src/facades/meeting/plugin.ts', 'src/facades/meeting/replies.ts'],
    ['src/facades/meeting/ssh-keys.ts', 'src/tunnels/host-key.ts'],
    ['src/http/server.ts', 'src/facades/index.ts'],
    ['src/devices/tunnel-runtime.ts', 'src/tunnels/ssh-server.ts'],
    ['src/devices/tunnel-runtime.ts', 'pkg:ssh2'],
    ['src/store/store.ts', 'pkg:better-sqlite3'],
    ['src/store/store.ts', 'pkg:fastify-plugin-like'],
    ['src/storage/x.ts', 'src/http/server.ts'],
  ]);
  t.strictSame(
    [...caught.keys()],
    [
      'src/store/store.ts -> src/dispatch/types.ts',
      'src/store/store.ts -> pkg:fastify',
      'src/store/store.ts -> pkg:@fastify/multipart',
      'src/store/store.ts -> src/http/server.ts',
      'src/store/store.ts -> src/facades/meeting/model.ts',
      'commands/GET.ts -> src/facades/meeting/replies.ts',
      'src/dispatch/dispatcher.ts -> src/facades/meeting/route.ts',
      'src/auth/audit.ts -> src/dispatch/types.ts',
      'src/tunnels/ports.ts -> src/http/server.ts',
      'src/schema/loader.ts -> src/store/store.ts',
      'src/devices/heartbeats.ts -> src/facades/meeting/replies.ts',
      'src/devices/lookups.ts -> src/dispatch/types.ts',
      'src/devices/catalog.ts -> commands/CREATE.ts',
      'src/devices/tunnel-runtime.ts -> src/http/server.ts',
      'src/devices/tunnel-runtime.ts -> pkg:fastify',
      'src/tunnels/ssh-server.ts -> src/dispatch/dispatcher.ts',
      'src/flash/catalog.ts -> commands/GET.ts',
      'src/users/lifecycle.ts -> src/facades/meeting/users.ts',
      'src/rules.ts -> src/http/server.ts',
      'src/app.ts -> src/facades/meeting/plugin.ts',
      'src/cli/main.ts -> src/facades/meeting/replies.ts',
      'src/http/server.ts -> src/facades/meeting/plugin.ts',
      'src/facades/meeting/ssh-world.ts -> src/tunnels/ssh-server.ts',
    ],
  );
});

t.test('no import goes back up a layer', async (t) => {
  t.strictSame([...violations(IMPORTS)].map(([arrow, why]) => `${arrow}: ${why}`), []);
});

t.test('facades are mounted from one table: only src/facades/index.ts imports a facade folder', async (t) => {
  const folders = readdirSync('src/facades', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `src/facades/${e.name}`);
  const table = readFileSync('src/facades/index.ts', 'utf8');
  for (const folder of folders) t.ok(table.includes(`'./${path.posix.basename(folder)}/`), `${folder} is in the table`);
  const outside = IMPORTS.filter(([from, to]) => !within(from, 'src/facades') && folders.some((f) => within(to, f)));
  t.strictSame(outside.map(([from, to]) => `${from} -> ${to}`), []);
});

/** One folder per backend, each holding all of its SQL. */
const BACKENDS = ['src/store/sqlite', 'src/store/postgres'];

/** Text that is SQL: a statement's opening words, as a string or template literal holds them. */
const SQL = /\b(SELECT\s[\s\S]*\bFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|TRIGGER)\s|DROP\s+(TABLE|INDEX|TRIGGER)\s|PRAGMA\s+\w|BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\b|SAVEPOINT\s+\w|ROLLBACK\s+TO\s)/;

/** The string and template literals of a source file; a template's substitutions read as `?`. */
function literals(text: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const out: string[] = [];
  const open: string[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.CloseBraceToken && open.length > 0) kind = scanner.reScanTemplateToken(false);
    if (kind === ts.SyntaxKind.StringLiteral || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) out.push(scanner.getTokenValue());
    else if (kind === ts.SyntaxKind.TemplateHead) open.push(scanner.getTokenValue());
    else if (kind === ts.SyntaxKind.TemplateMiddle) open.push(`${open.pop()}?${scanner.getTokenValue()}`);
    else if (kind === ts.SyntaxKind.TemplateTail) out.push(`${open.pop()}?${scanner.getTokenValue()}`);
  }
  return out;
}

/** What of a file only a backend may hold: SQL in a literal, a statement prepared from a string, a pragma. */
function databaseUse(text: string): string[] {
  const found = literals(text).filter((l) => SQL.test(l)).map((l) => `SQL ${JSON.stringify(l.slice(0, 60))}`);
  if (/\.(prepare|pragma)\(\s*['"`]/.test(text)) found.push('a statement prepared or a pragma run');
  return found;
}

t.test('the database detector sees SQL, prepared statements and pragmas, and nothing else', async (t) => {
  t.strictSame(databaseUse("const x = db.prepare('SELECT oid FROM objects WHERE class = ?');"), ['SQL "SELECT oid FROM objects WHERE class = ?"', 'a statement prepared or a pragma run']);
  t.strictSame(databaseUse('run(`UPDATE ${table} SET oid = -oid WHERE oid < ${0}`);'), ['SQL "UPDATE ? SET oid = -oid WHERE oid < ?"'], 'a template is read whole');
  t.ok(databaseUse("db.pragma('journal_mode = WAL');").length > 0);
  t.ok(databaseUse("db.exec('BEGIN EXCLUSIVE');").length > 0);
  t.ok(databaseUse("const q = 'INSERT OR REPLACE INTO grants (a) VALUES (1)';").length > 0);
  t.strictSame(databaseUse("await command.prepare(ctx, args); const why = 'select an item from the list'; // SELECT x FROM y"), [], 'a method named prepare, English, a comment');
});

t.test('all SQL is in a backend folder: no SQL, statement or better-sqlite3 import elsewhere', async (t) => {
  const outside = FILES.filter((f) => !BACKENDS.some((b) => within(f, b)));
  const found = outside.flatMap((f) => databaseUse(readFileSync(f, 'utf8')).map((what) => `${f}: ${what}`));
  t.strictSame(found, []);
  const drivers = IMPORTS.filter(([from, to]) => to === 'pkg:better-sqlite3' && !BACKENDS.some((b) => within(from, b)));
  t.strictSame(drivers.map(([from]) => from), [], 'better-sqlite3 is imported by the SQLite backend only');
  const pgDriver = IMPORTS.filter(([from, to]) => to === 'pkg:pg' && !within(from, 'src/store/postgres'));
  t.strictSame(pgDriver.map(([from]) => from), [], 'pg is imported by the PostgreSQL backend only');
  t.ok(IMPORTS.some(([from, to]) => to === 'pkg:pg' && within(from, 'src/store/postgres')), 'which does import it');
  t.ok(FILES.some((f) => within(f, 'src/store/sqlite') && databaseUse(readFileSync(f, 'utf8')).length > 0), 'the backend folder is where the SQL is');
});

t.test('nothing outside src/store imports a backend folder', async (t) => {
  const outside = IMPORTS.filter(([from, to]) => !within(from, 'src/store') && BACKENDS.some((b) => within(to, b)));
  t.strictSame(outside.map(([from, to]) => `${from} -> ${to}`), []);
});

/**
 * A route's declared access level is the truth: the facade kit (src/facades/kit) asks the credential chain
 * before any handler runs, so no other facade file resolves a credential itself. Caught: a call of the chain
 * (`<x>.credentials.resolve`, `.door`, `.resolveCaller`) and an import of what resolves one (the chain's
 * class and Door, the kit's resolvers).
 */
const KIT = 'src/facades/kit';
const RESOLVERS = new Set(['CredentialChain', 'Door', 'principalFor', 'personOf', 'deviceOrAdminOf', 'credentialRequest', 'sshApiCaller']);
const CHAIN_CALLS = new Set(['resolve', 'door', 'resolveCaller']);


function resolvesCredentials(file: string, text: string): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && CHAIN_CALLS.has(n.name.text)) {
      const on = n.expression;
      const name = ts.isPropertyAccessExpression(on) ? on.name.text : ts.isIdentifier(on) ? on.text : '';
      if (name === 'credentials') found.push(`calls credentials.${n.name.text}`);
    }
    const bindings = ts.isImportDeclaration(n) ? n.importClause?.namedBindings : ts.isExportDeclaration(n) ? n.exportClause : undefined;
    if (bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings))) {
      for (const e of bindings.elements) if (RESOLVERS.has((e.propertyName ?? e.name).text)) found.push(`imports ${(e.propertyName ?? e.name).text}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

t.test('no facade handler resolves a credential itself: the kit does, from the declared access level', async (t) => {
  const probe = `
    import { CredentialRefused, type CredentialChain } from '../../auth/credentials/index.js';
    import { deviceOrAdminOf as who } from '../kit/principals.js';
    const a = await s.credentials.resolve(req, door);
    const b = services.credentials.door(['ssh-token']);
    services.credentials.provideDevices(x);
    const c = await other.resolve(x);`;
  t.strictSame(resolvesCredentials('probe.ts', probe), ['imports CredentialChain', 'imports deviceOrAdminOf', 'calls credentials.resolve', 'calls credentials.door'], 'the reader catches each way');
  const facadeFiles = FILES.filter((f) => within(f, 'src/facades') && !within(f, KIT));
  t.ok(facadeFiles.length > 20, `${facadeFiles.length} facade files`);
  const found = facadeFiles.flatMap((f) => resolvesCredentials(f, readFileSync(f, 'utf8')).map((why) => `${f}: ${why}`));
  t.strictSame(found, [], 'outside the kit, no facade file resolves a credential');
});

t.test('the Promise rules see each way a Promise is dropped or misused, and nothing else', async (t) => {
  const dir = t.testdir({
    'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', strict: true, skipLibCheck: true, types: [] }, include: ['src/**/*.ts'] }),
    src: {
      'probe.ts': `
        declare function read(): Promise<string>;
        declare function write(): Promise<void>;
        declare function check(fn: () => void): void;
        declare function reply(body: unknown): void;
        export async function probe(): Promise<unknown> {
          write();
          void write();
          await write();
          write().catch(() => {});
          const kept = write();
          if (read()) return kept;
          const a = [!read(), read() === undefined, read() ?? 'x', read() && 1];
          check(async () => {});
          reply({ value: read() });
          const b = \`\${read()}\`;
          return [a, b, await read(), { done: await read() }];
        }`,
    },
  });
  const found = promiseViolations(dir, ['src']).map((v) => `${v.rule}: ${v.text}`);
  t.strictSame(found, [
    'floating: write();',
    'condition: read()',
    'condition: read()',
    'condition: read()',
    'condition: read()',
    'condition: read()',
    'void callback: async () => {}',
    'untyped value: read()',
    'condition: read()',
  ]);
});

t.test('no floating promise in src/ and commands/: every store read and write is awaited, returned or explicitly voided', async (t) => {
  const found = promiseViolations(process.cwd(), ['src', 'commands']).map((v) => `${v.file}:${v.line} ${v.rule}: ${v.text}`);
  t.strictSame(found, [], 'see test/helpers/promise-rules.ts for the rules');
});
