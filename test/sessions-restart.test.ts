/**
 * Sessions, LOGIN tokens and Meeting bearer tokens are stored (as SHA-256
 * digests of their secrets): they outlive a restart on the same state dir
 * until they expire, a write by another process (the console) ends them in a
 * running daemon, and the database file holds none of the secrets.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, http, CceClient, ADMIN_PASSWORD, consoleEnv, onPostgres, type TestDaemon } from './helpers/daemon.js';
import { accessSecrets, from, login } from './helpers/gate.js';
import { runCced } from './helpers/main-process.js';
import { countRows, postgresStoreText } from './helpers/store-rows.js';

const REMOTE = '127.0.0.2';

interface Held {
  session: CceClient;
  token: string;
  bearer: string;
}

async function obtain(d: TestDaemon): Promise<Held> {
  const session = await new CceClient(d).login();
  const token = await login(d, REMOTE);
  const bearer = (await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD })).body.token as string;
  return { session, token, bearer };
}

/** The oid each credential acts as over HTTP (-1: anonymous) and the bearer's status on /api/auth/me. */
async function whoAre(d: TestDaemon, h: Held): Promise<{ session: string; token: string; bearer: number }> {
  const session = new CceClient(d);
  session.sessionid = h.session.sessionid;
  const secret = accessSecrets(d).get(REMOTE)!;
  return {
    session: (await session.cmd('WHOAMI')).body.data.oid as string,
    token: (await from(d, REMOTE, { cmd: 'WHOAMI', token: h.token }, secret)).body.data.oid as string,
    bearer: (await http(`${d.url}/api/auth/me`, undefined, { headers: { authorization: `Bearer ${h.bearer}` } })).status,
  };
}

function stateDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-sessions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a session, a LOGIN token and a bearer token still work after a restart on the same state dir', async (t) => {
  const dir = stateDir(t);
  const first = await startDaemon({ stateDir: dir, config: { api_access: REMOTE } });
  const held = await obtain(first);
  const apiAdmin = String(first.app.services.auth.apiAdminOid);
  t.strictSame(await whoAre(first, held), { session: '2', token: apiAdmin, bearer: 200 }, 'valid before');
  await first.close();

  const second = await startDaemon({ stateDir: dir, config: { api_access: REMOTE } });
  t.teardown(() => second.close());
  t.strictSame(await whoAre(second, held), { session: '2', token: apiAdmin, bearer: 200 }, 'valid after the restart');

  // BYE ends the token, logout the bearer, ENDKEY the session: in the store, so a third run does not see them.
  const secret = accessSecrets(second).get(REMOTE)!;
  t.equal((await from(second, REMOTE, { cmd: 'BYE', token: held.token }, secret)).body.status, 201);
  t.equal((await http(`${second.url}/api/auth/logout`, {}, { headers: { authorization: `Bearer ${held.bearer}` } })).status, 200);
  const session = new CceClient(second);
  session.sessionid = held.session.sessionid;
  t.equal((await session.cmd('ENDKEY')).body.status, 201);
  await second.close();

  const third = await startDaemon({ stateDir: dir, config: { api_access: REMOTE } });
  t.teardown(() => third.close());
  t.strictSame(await whoAre(third, held), { session: '-1', token: '-1', bearer: 403 }, 'ended ones stay ended');
});

t.test('an expired grant does not come back after a restart', async (t) => {
  const dir = stateDir(t);
  const config = { api_access: REMOTE, session_lifetime: '1', token_lifetime: '1' };
  const first = await startDaemon({ stateDir: dir, config });
  const held = await obtain(first);
  await first.close();
  await new Promise((r) => setTimeout(r, 1100));
  const second = await startDaemon({ stateDir: dir, config });
  t.teardown(() => second.close());
  t.strictSame(await whoAre(second, held), { session: '-1', token: '-1', bearer: 403 });

  // `cced purge --apply` removes the expired rows (three), from another process.
  await second.close();
  const env = await consoleEnv(dir);
  const dry = await runCced(['purge'], env);
  t.match(dry.stdout, /would remove: 3 expired sessions and tokens/);
  const applied = await runCced(['purge', '--apply'], env);
  t.match(applied.stdout, /removed: 3 expired sessions and tokens/);
  t.match((await runCced(['purge'], env)).stdout, /would remove: 0 expired sessions and tokens/);
});

t.test('a session used within its lifetime lives on across a restart: its stored expiry slides too', async (t) => {
  const dir = stateDir(t);
  const config = { session_lifetime: '4' };
  const first = await startDaemon({ stateDir: dir, config });
  const c = await new CceClient(first).login();
  // Used every 1.5 s for 4.5 s: past its first expiry, alive because each use extended it.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    t.equal((await c.cmd('WHOAMI')).body.data.oid, '2');
  }
  await first.close();
  const second = await startDaemon({ stateDir: dir, config });
  t.teardown(() => second.close());
  const again = new CceClient(second);
  again.sessionid = c.sessionid;
  t.equal((await again.cmd('WHOAMI')).body.data.oid, '2', 'still valid after the restart');
});

t.test('`cced user disable` in another process ends the running daemon\'s session and bearer token', async (t) => {
  const d = await startDaemon({});
  t.teardown(() => d.close());
  const admin = await new CceClient(d).login();
  t.equal((await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: 'bob', password: 'bob-password-1' } })).status, 200);
  const bob = await new CceClient(d, 'bob').login('bob-password-1');
  const bearer = (await http(`${d.url}/api/auth/login`, { username: 'bob', password: 'bob-password-1' })).body.token as string;
  const me = async () => (await http(`${d.url}/api/auth/me`, undefined, { headers: { authorization: `Bearer ${bearer}` } })).status;
  t.equal((await bob.cmd('WHOAMI')).body.status, 201);
  t.equal(await me(), 200);

  const r = await runCced(['user', 'disable', 'bob'], await consoleEnv(d.config.state_dir));
  t.equal(r.code, 0, r.stderr);
  t.equal((await bob.cmd('WHOAMI')).body.data.oid, '-1', 'the session is over');
  t.equal(await me(), 403, 'the bearer token is over');
  const rows = await countRows(d.config.state_dir, { bob: "SELECT count(*) AS n FROM grants WHERE user_name = 'bob'" });
  t.strictSame(rows, { bob: 0 }, 'their rows are gone');
});

t.test('the database holds digests, never a secret', async (t) => {
  const dir = stateDir(t);
  const d = await startDaemon({ stateDir: dir, config: { api_access: REMOTE } });
  const held = await obtain(d);
  await d.close();
  if (onPostgres) {
    // Every table's rows, as PostgreSQL holds them.
    const text = await postgresStoreText(dir);
    t.match(text, /\ngrants\n/, 'the database was read');
    for (const secret of [held.session.sessionid!, held.token, held.bearer]) t.equal(text.indexOf(secret), -1, 'no secret in the database');
    return;
  }
  // The WAL first, the database after: the daemon's threads close their connections after close() returned, and
  // the last one copies the WAL into the database and removes it (a WAL gone meanwhile is read in the database).
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.db') || f.endsWith('-wal'))
    .sort((a, b) => Number(a.endsWith('.db')) - Number(b.endsWith('.db')));
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f));
    } catch (err) {
      if (f.endsWith('-wal') && (err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
  };
  t.ok(files.some((f) => f.endsWith('.db')), 'the database was read');
  const bytes = Buffer.concat(files.map(read));
  for (const secret of [held.session.sessionid!, held.token, held.bearer]) {
    t.equal(bytes.indexOf(secret), -1, 'no secret in the file');
    t.equal(bytes.indexOf(Buffer.from(secret)), -1);
  }
});
