/**
 * A PostgreSQL for the tests: the server at TEST_POSTGRES_URL if set
 * (a superuser's URL; CI may start one for the whole run), else a throwaway
 * cluster this process starts itself when `initdb` and `pg_ctl` exist (on
 * PATH or in Debian's /usr/lib/postgresql/<version>/bin): initdb and pg_ctl
 * in a temporary folder, on a free loopback port, as the `postgres` user when
 * this process is root (PostgreSQL refuses to run as root), stopped and
 * removed when the process exits. One cluster and one database per test file
 * at most; each call of testDatabase() gets a new empty schema of it.
 *
 * Without either, testDatabase() answers why, and the test skips with that
 * reason; with TEST_REQUIRE_POSTGRES=1 (CI) it throws instead, so CI never
 * skips.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export type TestDatabase = { url: string; skip?: undefined } | { url?: undefined; skip: string };

/** Where initdb and pg_ctl are: a folder, or '' for PATH; undefined if nowhere. */
function postgresBin(): string | undefined {
  if (spawnSync('initdb', ['--version']).status === 0 && spawnSync('pg_ctl', ['--version']).status === 0) return '';
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0]!, 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A command as the user PostgreSQL runs as: ourselves, or `postgres` when we are root. */
function asPgUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** Starts a throwaway cluster; returns its superuser URL (database `postgres`). */
async function startCluster(bin: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const tool = (name: string) => (bin === '' ? name : path.join(bin, name));
  const run = (name: string, args: string[]) => {
    const [cmd, argv] = asPgUser(tool(name), args);
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  // --no-sync and fsync=off: a throwaway cluster; the tests measure behaviour, not durability.
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const stop = () => {
    const [cmd, argv] = asPgUser(tool('pg_ctl'), ['-D', data, 'stop', '-m', 'immediate']);
    spawnSync(cmd, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  try {
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=60`]);
  } catch (err) {
    stop();
    throw err;
  }
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

let server: Promise<string | { skip: string }> | undefined;

function adminUrl(): Promise<string | { skip: string }> {
  server ??= (async () => {
    const given = process.env.TEST_POSTGRES_URL;
    if (given) return given;
    const bin = postgresBin();
    if (bin === undefined) {
      const why = 'no PostgreSQL: TEST_POSTGRES_URL is not set and initdb/pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin)';
      if (process.env.TEST_REQUIRE_POSTGRES === '1') throw new Error(`TEST_REQUIRE_POSTGRES=1 but ${why}`);
      return { skip: why };
    }
    return startCluster(bin);
  })();
  return server;
}

let made = 0;
let database: Promise<string> | undefined;

/** The database of this test file on the server (made once: CREATE DATABASE takes the better part of a second). */
function fileDatabase(admin: string): Promise<string> {
  database ??= (async () => {
    const name = `cced_test_${process.pid}`;
    await asAdmin(admin, `CREATE DATABASE ${name}`);
    process.once('beforeExit', () => void asAdmin(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined));
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return url.toString();
  })();
  return database;
}

async function asAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A new empty database for one test, or why there is none: a schema of this file's database, which the URL
 * makes every connection's search_path (dropped when `t` ends).
 */
export async function testDatabase(t: { teardown(fn: () => Promise<void>): void }): Promise<TestDatabase> {
  const admin = await adminUrl();
  if (typeof admin !== 'string') return admin;
  const base = await fileDatabase(admin);
  const schema = `t${++made}`;
  await asAdmin(base, `CREATE SCHEMA ${schema}`);
  t.teardown(() => asAdmin(base, `DROP SCHEMA ${schema} CASCADE`));
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString() };
}

/** The database of each state folder started on PostgreSQL (a daemon restarted on its folder finds its store again). */
const daemonSchemas = new Map<string, Promise<string>>();

/**
 * A PostgreSQL database for the daemon of `stateDir` (test/helpers/daemon.ts with TEST_STORE=postgres): a new
 * schema of this file's database the first time, the same one for a later daemon on the same folder. Throws
 * without a PostgreSQL: a run that asked for PostgreSQL must not quietly test SQLite.
 */
export function daemonDatabase(stateDir: string): Promise<string> {
  let url = daemonSchemas.get(stateDir);
  if (url === undefined) {
    url = (async () => {
      const admin = await adminUrl();
      if (typeof admin !== 'string') throw new Error(`TEST_STORE=postgres but ${admin.skip}`);
      const base = await fileDatabase(admin);
      const schema = `d${++made}`;
      await asAdmin(base, `CREATE SCHEMA ${schema}`);
      const u = new URL(base);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return u.toString();
    })();
    daemonSchemas.set(stateDir, url);
  }
  return url;
}
