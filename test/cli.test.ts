import t from 'tap';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, ADMIN_PASSWORD, CceClient, consoleEnv, consoleStoreName, onPostgres } from './helpers/daemon.js';
import { runTs, type RunResult } from './helpers/spawn.js';
import { run as runCced } from '../src/cli/cced.js';
import { run as runCce } from '../src/cli/cce.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { PG_MIGRATIONS } from '../src/store/postgres/migrations.js';
import { loadSchema } from '../src/schema/loader.js';
import { packageRoot } from '../src/paths.js';

// Most cases call the consoles' run() in-process (fast on a loaded machine); the executables themselves are
// spawned in the last test to prove the entry points work as installed.
async function cced(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCced(args, env, {
    out: (s) => (stdout += s),
    err: (s) => (stderr += s),
    ...(input !== undefined ? { stdin: async () => input } : {}),
  });
  return { code, stdout, stderr };
}

async function cce(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCce(args, env, (s) => (stdout += s), (s) => (stderr += s));
  return { code, stdout, stderr };
}

t.test('cced admin console on a state dir', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-cli-'));
  t.teardown(() => undefined);
  const env = await consoleEnv(stateDir);

  // A daemon bootstraps the store, then stops: the console works on its files.
  const d = await startDaemon({ stateDir });
  await d.close();

  const check = await cced(['check-config'], env);
  t.equal(check.code, 0, check.stderr);
  // On PostgreSQL check-config names the database and does not open it (SQLite's file it opens and counts).
  if (onPostgres) t.equal(check.stdout, `configuration ok: listen 127.0.0.1:9092, state ${stateDir}, ${loadSchema([path.join(packageRoot(), 'schema')]).classes.size} classes, the ${await consoleStoreName(stateDir)} database (not opened here)\n`);
  else t.match(check.stdout, /^configuration ok: listen 127\.0\.0\.1:9092, state .*, \d+ classes, 3 objects\n$/);

  const mig = await cced(['migrate'], env);
  t.equal(mig.code, 0);
  t.match(mig.stdout, /database at layout version \d+ \(0 applied now\)/);

  const add = await cced(['user', 'add', 'carol', '--full-name', 'Carol C'], env);
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, /^created user carol \(oid 4\)/);

  const dup = await cced(['user', 'add', 'carol'], env);
  t.equal(dup.code, 1);
  t.match(dup.stderr, /^cced: BAD DATA 0 name "\[\[base-cce\.notUnique\]\]"/);

  const piped = await cced(['passwd', 'carol'], env, 'carol-secret\n');
  t.equal(piped.code, 0, piped.stderr);
  t.equal(piped.stdout, 'password of carol changed\n');

  const missing = await cced(['passwd', 'nobody'], env, 'x\n');
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'cced: no user named "nobody"\n');

  const dis = await cced(['user', 'disable', 'carol'], env);
  t.equal(dis.stdout, 'user carol disabled\n');
  const list = await cced(['user', 'list'], env);
  t.equal(list.stdout, '2\tadmin\tenabled\tadmin\n3\tapi-admin\tenabled\tadmin\n4\tcarol\tdisabled\n');
  const en = await cced(['user', 'enable', 'carol'], env);
  t.equal(en.stdout, 'user carol enabled\n');

  // The daemon sees what the console did: carol logs in with the piped password.
  const d2 = await startDaemon({ stateDir });
  t.teardown(() => d2.close());
  const carol = await new CceClient(d2, 'carol').login('carol-secret');
  const who = await carol.cmd('WHOAMI');
  t.same(who.body, { status: 201, message: 'GOODBYE', data: { oid: '4' } });

  const file = path.join(stateDir, 'export.jsonl');
  const exp = await cced(['export', file], env);
  t.equal(exp.stdout, `exported 4 objects to ${file}\n`);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.strictSame(head, { cced_export: 2, layout: onPostgres ? PG_MIGRATIONS.length : MIGRATIONS.length, with_secrets: false, objects: 4 }, 'a header line first');
  t.same(lines.map((l) => [l.oid, l.class]), [[1, 'System'], [2, 'User'], [3, 'User'], [4, 'User']]);
  t.notMatch(readFileSync(file, 'utf8'), /argon2/, 'no password hash is exported');

  const stdoutExport = await cced(['export'], env);
  t.equal(stdoutExport.stdout.trim().split('\n').length, 5, 'the header and 4 objects');

  // Import into a fresh (empty) store: the oids are kept, same data; a bad line imports nothing.
  const other = mkdtempSync(path.join(tmpdir(), 'cced-cli-'));
  const env2 = await consoleEnv(other);
  const renamed = lines.filter((l) => l.class === 'User' && l.namespaces[''].name === 'carol').map((l) => JSON.stringify({ ...l, namespaces: { ...l.namespaces, '': { ...l.namespaces[''], name: 'carol2' } } }));
  writeFileSync(path.join(other, 'in.jsonl'), renamed.join('\n') + '\n');
  const imp = await cced(['import', path.join(other, 'in.jsonl')], env2);
  t.equal(imp.code, 0, imp.stderr);
  t.equal(imp.stdout, 'imported 1 objects\n');
  writeFileSync(path.join(other, 'bad.jsonl'), renamed[0] + '\n{"oid":"x"}\n');
  const bad = await cced(['import', path.join(other, 'bad.jsonl')], env2);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /bad\.jsonl:2: /);
  const list2 = await cced(['user', 'list'], env2);
  t.equal(list2.stdout, '4\tcarol2\tenabled\n', 'only the good import landed, at its oid; the bad file changed nothing');

  const badConfig = await cced(['check-config'], { ...env, CCED_TOKEN_LIFETIME: 'soon' });
  t.equal(badConfig.code, 1);
  t.equal(badConfig.stderr, 'cced: config: token_lifetime: expected a whole number (got "soon")\n');

  const usage = await cced(['frobnicate'], env);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /unknown command 'frobnicate'/);
});

t.test('cce client against a running daemon', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const env = { CCE_URL: d.url, CCE_PASSWORD: ADMIN_PASSWORD, CCE_SESSION: '', CCE_TOKEN: '' };

  const ping = await cce(['PING'], { CCE_URL: d.url });
  t.equal(ping.code, 0);
  t.same(JSON.parse(ping.stdout), { status: 202, message: 'PONG' });

  const get = await cce(['GET', '1', '.', 'Snmp'], env);
  t.equal(get.code, 0, get.stderr);
  t.equal(JSON.parse(get.stdout).data.DATA.NAMESPACE, 'Snmp');

  const fail = await cce(['GET', '9999'], env);
  t.equal(fail.code, 1, 'a failed command exits 1');
  t.same(JSON.parse(fail.stdout).data.errors[0], { code: 300, message: 'UNKNOWN OBJECT 9999' });

  const findx = await cce(['--fields', '{"class":"User","args":{"name":"admin"}}', '--format', 'json', 'FINDX'], env);
  t.same(JSON.parse(findx.stdout), { status: 201, message: 'OK', data: { oidlist: [2] } });

  const login = await cce(['login'], env);
  t.equal(login.code, 0);
  const sid = login.stdout.trim();
  t.match(sid, /^[A-Za-z0-9_-]{43}$/);
  const who = await cce(['WHOAMI'], { CCE_URL: d.url, CCE_SESSION: sid });
  t.equal(JSON.parse(who.stdout).data.oid, '2');

  const badFields = await cce(['--fields', '[1]', 'FINDX'], env);
  t.equal(badFields.code, 2);
  t.equal(badFields.stderr, 'cce: --fields must be a JSON object\n');

  const noCreds = await cce(['login'], { CCE_URL: d.url, CCE_PASSWORD: '' });
  t.equal(noCreds.code, 2);

  const wrong = await cce(['login'], { CCE_URL: d.url, CCE_PASSWORD: 'wrong' });
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /^cce: AUTH failed/);

  const down = await cce(['PING'], { CCE_URL: 'http://127.0.0.1:1' });
  t.equal(down.code, 2);
  t.match(down.stderr, /ECONNREFUSED/);

  const help = await cce(['--help'], {});
  t.equal(help.code, 0);
  t.match(help.stdout, /send a command to cced/);
});

t.test('the installed executables: cced and cce', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-cli-'));
  const d = await startDaemon({ stateDir });
  t.teardown(() => d.close());
  const env = await consoleEnv(stateDir);
  const add = await runTs('src/cli/cced-bin.ts', ['user', 'add', 'dave'], { env });
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, /^created user dave \(oid 4\)/);
  t.match(add.stderr, /"audit":"CREATE"/, 'console writes leave an audit line on stderr');
  const pw = await runTs('src/cli/cced-bin.ts', ['passwd', 'dave'], { env, input: 'dave-secret\n' });
  t.equal(pw.stdout, 'password of dave changed\n');
  t.notMatch(pw.stderr, /dave-secret/, 'the password is never logged');
  const who = await runTs('src/cli/cce-bin.ts', ['--user', 'dave', 'WHOAMI'], { env: { CCE_URL: d.url, CCE_PASSWORD: 'dave-secret' } });
  t.equal(who.code, 0, who.stderr);
  t.equal(JSON.parse(who.stdout).data.oid, '4');
  const fail = await runTs('src/cli/cce-bin.ts', ['GET', '42'], { env: { CCE_URL: d.url, CCE_PASSWORD: 'admin-test-password' } });
  t.equal(fail.code, 1, 'a failed command exits non-zero');
});
