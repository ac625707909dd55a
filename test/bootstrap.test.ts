/**
 * Bootstrap belongs to an empty store: a daemon restarted after `admin` was
 * renamed, or after the last system administrator was demoted, creates nobody
 * and prints no password; the console's `cced set-admin <user>` repairs a
 * store with no administrator left. Driven as a user would: restarts of a
 * daemon on one state dir, spoken to over HTTP; the repair through the
 * console's executable (its refusals in-process, as test/cli.test.ts does).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ADMIN_PASSWORD, consoleEnv, http, startDaemon, type HttpResult, type TestDaemon } from './helpers/daemon.js';
import { runTs, type RunResult } from './helpers/spawn.js';
import { ADMIN_PASSWORD_FILE } from '../src/bootstrap.js';
import { run as runCced } from '../src/cli/cced.js';

const ROOT_PASSWORD = 'root-password-after-repair';

/** AUTH as `user`, then the command with that session (or undefined when AUTH failed). */
async function asUser(d: TestDaemon, user: string, password: string, cmd: string): Promise<HttpResult | undefined> {
  const auth = await http(`${d.url}/v2/cce`, { cmd: 'AUTH', user, password });
  if (auth.status !== 200) return undefined;
  return http(`${d.url}/v2/cce`, { cmd, user, sessionid: auth.body.data.sessionid });
}

/** The console in-process (fast); the repair itself runs the executable below. */
async function cced(stateDir: string, args: string[], input?: string, env: Record<string, string> = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCced(args, { ...(await consoleEnv(stateDir)), ...env }, {
    out: (s) => (stdout += s),
    err: (s) => (stderr += s),
    ...(input !== undefined ? { stdin: async () => input } : {}),
  });
  return { code, stdout, stderr };
}

/** A restart on the same state dir with no admin password given (the case where a bootstrap would print one). */
const restart = (stateDir: string) => startDaemon({ stateDir, env: { CCED_ADMIN_PASSWORD: '' } });

/** The bootstrap audit lines and the lines told on the terminal, of one daemon. */
const bootstrapLines = (d: TestDaemon) => d.logs.filter((l) => l.includes('"audit":"BOOTSTRAP"'));
const told = (d: TestDaemon) => d.logs.filter((l) => l.startsWith('[tell] '));

t.test('renaming admin, then demoting the last administrator: restarts create nobody; cced set-admin repairs', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-bootstrap-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  // First start on an empty store: System and admin, as before.
  const first = await startDaemon({ stateDir });
  t.equal(bootstrapLines(first).length, 1, 'the first start creates admin');
  t.equal((await asUser(first, 'admin', ADMIN_PASSWORD, 'SET 2 name="root"'))?.status, 200, 'admin renamed to root');
  await first.close();

  // The old code created a new sysadmin `admin` here and told its password.
  const second = await restart(stateDir);
  t.same(bootstrapLines(second), [], 'nothing bootstrapped');
  t.same(told(second), [], 'nothing told on the terminal');
  t.notOk(existsSync(path.join(stateDir, ADMIN_PASSWORD_FILE)), 'no generated password file');
  t.equal((await asUser(second, 'root', ADMIN_PASSWORD, 'WHOAMI'))?.body.data.oid, '2', 'root is the old admin, password and all');
  const found = await http(`${second.url}/v2/cce`, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  t.equal(found.status, 401, 'there is no user admin');
  const list = await cced(stateDir, ['user', 'list']);
  t.equal(list.stdout, '3\tapi-admin\tenabled\tadmin\n2\troot\tenabled\tadmin\n', 'root and api-admin only');

  // root gives up its rights: no person is an administrator any more.
  t.equal((await asUser(second, 'root', ADMIN_PASSWORD, 'SET 2 systemAdministrator="0"'))?.status, 200);
  await second.close();

  const third = await restart(stateDir);
  t.teardown(() => third.close());
  const lines = bootstrapLines(third);
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0]!), { audit: 'BOOTSTRAP', outcome: 'no-sysadmin', msg: 'no system administrator left; repair with: cced set-admin <user>' });
  t.same(told(third), ['[tell] cced: this store has no system administrator left; make one with: cced set-admin <user>'], 'the terminal is told how to repair');
  t.equal((await cced(stateDir, ['user', 'list'])).stdout, '3\tapi-admin\tenabled\tadmin\n2\troot\tenabled\n', 'still nobody created');
  const denied = await asUser(third, 'root', ADMIN_PASSWORD, 'SET 1 . Snmp readCommunity="x"');
  t.equal(denied?.status, 403, 'root is not an administrator');

  // The repair, beside the running daemon, through the installed executable.
  const refusals: [string[], string | undefined, Record<string, string>, RegExp][] = [
    [['set-admin', 'nobody'], undefined, {}, /^cced: no user named "nobody"\n$/],
    [['set-admin', 'api-admin'], undefined, {}, /^cced: api-admin is the identity behind LOGIN tokens: nobody can log in as it\n$/],
    [['set-admin', 'root', '--password'], '', {}, /^cced: --password: pipe the password on standard input or set CCED_ADMIN_PASSWORD\n$/],
  ];
  for (const [args, input, env, message] of refusals) {
    const r = await cced(stateDir, args, input, env);
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, message);
  }
  const repaired = await runTs('src/cli/cced-bin.ts', ['set-admin', 'root', '--password'], {
    env: await consoleEnv(stateDir),
    input: `${ROOT_PASSWORD}\n`,
  });
  t.equal(repaired.code, 0, repaired.stderr);
  t.equal(repaired.stdout, 'root is now an enabled system administrator with the given password\n');
  t.notMatch(repaired.stdout + repaired.stderr, ROOT_PASSWORD, 'the password is never printed nor logged');
  t.match(repaired.stderr, /"audit":"SET"/, 'the console write is audited');

  const write = await asUser(third, 'root', ROOT_PASSWORD, 'SET 1 . Snmp readCommunity="repaired"');
  t.equal(write?.status, 200, 'root, with its new password, writes as an administrator on the running daemon');
  t.equal((await cced(stateDir, ['user', 'list'])).stdout, '3\tapi-admin\tenabled\tadmin\n2\troot\tenabled\tadmin\n');

  const fromEnv = await cced(stateDir, ['set-admin', 'root', '--password'], '', { CCED_ADMIN_PASSWORD: 'root-password-from-env' });
  t.equal(fromEnv.code, 0, fromEnv.stderr);
  t.notMatch(fromEnv.stdout + fromEnv.stderr, 'root-password-from-env');
  t.equal((await asUser(third, 'root', 'root-password-from-env', 'WHOAMI'))?.body.data.oid, '2', 'or from CCED_ADMIN_PASSWORD');
  const plain = await cced(stateDir, ['set-admin', 'root']);
  t.equal(plain.stdout, 'root is now an enabled system administrator\n', 'without --password the password is left alone');
});

t.test('cced set-admin repairs a suspended store: the one console write SUSPEND lets through', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-bootstrap-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const d = await startDaemon({ stateDir });
  t.teardown(() => d.close());
  t.equal((await asUser(d, 'admin', ADMIN_PASSWORD, 'SUSPEND backup'))?.status, 200);
  t.strictSame(await cced(stateDir, ['user', 'disable', 'api-admin']), { code: 1, stdout: '', stderr: 'cced: SUSPENDED "backup"\n' }, 'other console writes are refused');

  // The administrator lost the password while suspended: the repair sets a new one.
  const repaired = await cced(stateDir, ['set-admin', 'admin', '--password'], `${ROOT_PASSWORD}\n`);
  t.equal(repaired.code, 0, repaired.stderr);
  t.equal(repaired.stdout, 'admin is now an enabled system administrator with the given password\n');
  t.equal((await asUser(d, 'admin', ROOT_PASSWORD, 'RESUME'))?.status, 200, 'and the administrator can RESUME');
  t.equal((await asUser(d, 'admin', ROOT_PASSWORD, 'SET 1 . Snmp readCommunity="resumed"'))?.status, 200, 'writes are accepted again');
});
