/**
 * `cce watch` against a running daemon, and the console's writes (`cced`, its
 * own connection to the store file) reaching a subscriber like any other door.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { ADMIN_PASSWORD, adminClient, consoleEnv, startDaemon } from './helpers/daemon.js';
import { SseClient } from './helpers/sse.js';
import { run as runCce } from '../src/cli/cce.js';
import { run as runCced } from '../src/cli/cced.js';

/** `cce` in-process; `until` resolves once the output holds that many lines (or the run ended). */
function cce(args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal) {
  let stdout = '';
  let stderr = '';
  const done = runCce(args, env, (s) => (stdout += s), (s) => (stderr += s), signal);
  return {
    done: done.then((code) => ({ code, stdout, stderr })),
    lines: () => stdout.split('\n').filter((l) => l !== ''),
  };
}

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

t.test('cce watch prints one JSON line per change it may see, filtered, then stops at --count', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const env = { CCE_URL: d.url, CCE_PASSWORD: ADMIN_PASSWORD, CCE_SESSION: '', CCE_TOKEN: '' };
  const watching = cce(['watch', '--class', 'User', '--count', '2'], env);
  // The stream is open once the daemon counts it.
  for (let i = 0; i < 100 && !(await streams(d)); i++) await tick();
  await admin.cmd('CREATE Device device_key="WATCH01" token_code="0123456789abcdef"');
  const a = (await admin.cmd('CREATE User name="wanda"')).body.data.oid as string;
  await admin.cmd(`SET ${a} fullName="Wanda"`);
  const r = await watching.done;
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  t.strictSame(
    lines.map((l) => [l.class, l.oid, l.properties, l.created]),
    [
      ['User', a, ['name'], true],
      ['User', a, ['fullName'], false],
    ],
  );
  t.equal(Number(lines[1].id), Number(lines[0].id) + 1);

  // --since: what happened before the watch started; a session in CCE_SESSION.
  const sid = admin.sessionid!;
  const since = cce(['watch', '--since', String(Number(lines[0].id) - 1), '--count', '2', '--class', 'User'], { CCE_URL: d.url, CCE_SESSION: sid });
  const again = await since.done;
  t.equal(again.code, 0, again.stderr);
  t.strictSame(again.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id), [lines[0].id, lines[1].id]);

  // Refused: exit 1 with the daemon's answer.
  const refused = await cce(['watch'], { CCE_URL: d.url, CCE_SESSION: 'not-a-session' }).done;
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^cce: watch refused \(HTTP 401\)/);
  const badCount = await cce(['watch', '--count', 'many'], { CCE_URL: d.url, CCE_SESSION: sid }).done;
  t.equal(badCount.code, 2);
  t.match(badCount.stderr, /--count must be a positive whole number/);
});

t.test('cce watch survives a dropped connection: it resumes from the last id it printed, missing nothing', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  // A TCP relay between the watcher and the daemon, whose connections the test cuts.
  const pairs = new Set<Socket>();
  const relay = createServer((client) => {
    const up = connect(d.port, '127.0.0.1');
    client.pipe(up).pipe(client);
    for (const s of [client, up]) {
      pairs.add(s);
      s.on('error', () => {});
      s.on('close', () => pairs.delete(s));
    }
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.teardown(() => relay.close());
  const stop = new AbortController();
  const url = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  const watching = cce(['watch', '--class', 'User'], { CCE_URL: url, CCE_SESSION: admin.sessionid! }, stop.signal);
  for (let i = 0; i < 100 && !(await streams(d)); i++) await tick();
  await admin.cmd('CREATE User name="one"');
  for (let i = 0; i < 100 && watching.lines().length < 1; i++) await tick();
  t.equal(watching.lines().length, 1);
  // The connection drops; two users are made before the watcher is back (it retries after a second).
  for (const s of pairs) s.destroy();
  await admin.cmd('CREATE User name="two"');
  await admin.cmd('CREATE User name="three"');
  for (let i = 0; i < 200 && watching.lines().length < 3; i++) await tick();
  await admin.cmd('CREATE User name="four"');
  for (let i = 0; i < 100 && watching.lines().length < 4; i++) await tick();
  stop.abort();
  const r = await watching.done;
  t.equal(r.code, 0, r.stderr);
  const lines = watching.lines().map((l) => JSON.parse(l));
  t.strictSame(lines.map((l) => Number(l.id) - Number(lines[0].id)), [0, 1, 2, 3], 'consecutive ids: nothing missed, nothing twice');
  t.ok(lines.every((l) => l.class === 'User' && l.created));
});

t.test('a console write (cced, its own connection to the file) reaches a subscriber', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-watch-'));
  const d = await startDaemon({ stateDir });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const s = await SseClient.open(d.url, { body: { user: 'admin', sessionid: admin.sessionid, class: 'User' } });
  t.teardown(() => s.close());
  let out = '';
  const code = await runCced(['user', 'add', 'console_made'], await consoleEnv(stateDir), { out: (x) => (out += x), err: () => {} });
  t.equal(code, 0, out);
  const [f] = await s.waitFor(1);
  t.equal(f!.data.class, 'User');
  t.equal(f!.data.created, true);
  t.ok(f!.data.properties.includes('name'));
});

/** Open /v2/events streams of the daemon. */
async function streams(d: Awaited<ReturnType<typeof startDaemon>>): Promise<number> {
  return d.app.services.changes.readers;
}
