/**
 * Signals to the daemon in its own process (src/main.ts): SIGHUP puts the configuration's api_access and the
 * access file's secrets in force with a client mid-request (its request answered, its connection kept),
 * logs what changed by entry and never a secret; SIGTERM lets a request in flight finish, closes the
 * database cleanly and exits 0, or exits 1 once shutdown_timeout has passed without it.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMain, type MainProcess } from './helpers/main-process.js';
import { openSocket, partialPost, statusOf, afterHeaders } from './helpers/sockets.js';
import { accessSecrets, from } from './helpers/gate.js';
import { ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { parseAccessFile } from '../src/auth/access-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-signals-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);

const PING = JSON.stringify({ cmd: 'PING' });
const portOf = (url: string) => Number(new URL(url).port);

/** Resolves once the daemon's stdout holds a line matching `re` (bounded). */
async function logLine(d: MainProcess, re: RegExp): Promise<Record<string, unknown>> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    const line = d.stdout().split('\n').find((l) => re.test(l));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line matching ${re}`);
}

t.test('SIGHUP reloads api_access and the access file without dropping a connection', async (t) => {
  const state = f('hup');
  const conf = f('hup.conf');
  const write = (access: string, extra = '') => writeFileSync(conf, `listen_address = 127.0.0.1:0\nstate_dir = ${state}\ndb_synchronous = NORMAL\napi_access = ${access}\n${extra}`);
  write('127.0.0.2');
  const d = await startMain(['--config', conf], { CCED_ADMIN_PASSWORD: ADMIN_PASSWORD });
  t.teardown(() => d.stop());
  const td = { url: d.url, config: { state_dir: state } } as TestDaemon;
  const login = async (ip: string, secret: string) => (await from(td, ip, { cmd: 'LOGIN' }, secret)).body?.data?.token as string | undefined;
  const oldSecret = accessSecrets(td).get('127.0.0.2')!;
  const token = await login('127.0.0.2', oldSecret);
  t.ok(token, 'a LOGIN token from 127.0.0.2');

  // A client mid-request on a keep-alive connection.
  const client = await openSocket(portOf(d.url));
  client.socket.write(partialPost('/v2/cce', PING.length, PING.slice(0, 5)));
  write('127.0.0.3', 'token_lifetime = 600\n');
  d.child.kill('SIGHUP');
  const line = await logLine(d, /"access reloaded"/);
  t.strictSame([line.audit, line.added, line.removed, line.rotated, line.restart_needed], ['RELOAD', ['127.0.0.3'], ['127.0.0.2'], [], ['token_lifetime']]);
  client.socket.write(PING.slice(5));
  for (let i = 0; i < 100 && !afterHeaders(client.received()).includes('PONG'); i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(statusOf(client.received()), 200, 'the request in flight is answered');
  t.match(afterHeaders(client.received()), /PONG/);
  t.notOk(client.isClosed(), 'its connection is kept');
  client.socket.end();

  // The removed entry is refused at once, token and all; the new one has its secret.
  t.equal((await from(td, '127.0.0.2', { cmd: 'WHOAMI', token }, oldSecret)).status, 403, 'no longer whitelisted');
  const newSecret = accessSecrets(td).get('127.0.0.3');
  t.ok(newSecret && (await login('127.0.0.3', newSecret)), 'the new entry logs in with the secret written for it');
  t.strictSame([...parseAccessFile(readFileSync(path.join(state, 'access'), 'utf8')).keys()], ['127.0.0.3']);

  // An operator rotates the secret in the access file: the next SIGHUP puts it in force.
  const rotated = 'R'.repeat(32);
  writeFileSync(path.join(state, 'access'), `127.0.0.3:${rotated}\n`);
  d.child.kill('SIGHUP');
  await logLine(d, /"rotated":\["127\.0\.0\.3"\]/);
  t.equal(await login('127.0.0.3', newSecret!), undefined, 'the old secret is refused');
  t.ok(await login('127.0.0.3', rotated), 'the rotated one works');

  // A configuration that no longer loads changes nothing.
  write('127.0.0.3', 'token_lifetime = soon\n');
  d.child.kill('SIGHUP');
  const refused = await logLine(d, /reload refused/);
  t.equal(refused.reason, 'config: token_lifetime: expected a whole number (got "soon")');
  t.ok(await login('127.0.0.3', rotated), 'the entries in force are unchanged');

  for (const secret of [oldSecret, newSecret!, rotated]) t.notMatch(d.stdout(), secret, 'no secret in the log');
});

t.test('SIGTERM lets the request in flight finish, then closes the database', async (t) => {
  const state = f('term');
  const d = await startMain([], { CCED_STATE_DIR: state, CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_ADMIN_PASSWORD: ADMIN_PASSWORD, CCED_DB_SYNCHRONOUS: 'NORMAL' });
  const client = await openSocket(portOf(d.url));
  client.socket.write(partialPost('/v2/cce', PING.length, PING.slice(0, 5)));
  await new Promise((r) => setTimeout(r, 200));
  d.child.kill('SIGTERM');
  await logLine(d, /"closing"/);
  client.socket.write(PING.slice(5));
  const code = await d.exited();
  t.equal(statusOf(client.received()), 200, 'answered');
  t.match(afterHeaders(client.received()), /PONG/);
  t.equal(code, 0, 'exit 0');
  const lines = d.stdout().trim().split('\n');
  t.match(lines.at(-1), /"msg":"closed"/, 'the last line is "closed"');
  t.notOk(existsSync(path.join(state, 'cced.db-wal')), 'the database was closed cleanly (its WAL checkpointed away)');
});

t.test('SIGTERM is bounded by shutdown_timeout', async (t) => {
  const d = await startMain([], { CCED_STATE_DIR: f('bound'), CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_SHUTDOWN_TIMEOUT: '1', CCED_DB_SYNCHRONOUS: 'NORMAL' });
  const stalled = await openSocket(portOf(d.url));
  stalled.socket.write(partialPost('/v2/cce', PING.length, PING.slice(0, 5)));
  await new Promise((r) => setTimeout(r, 200));
  const code = await d.stop('SIGTERM');
  t.equal(code, 1, 'exit 1: a request was left unanswered');
  t.match(d.stdout(), /"shutdown_timeout":1,"msg":"requests still in flight at shutdown_timeout; exiting without them"/);
  stalled.socket.destroy();
});
