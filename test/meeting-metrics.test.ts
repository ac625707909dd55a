import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import pino from 'pino';
import { ADMIN_PASSWORD, http, onPostgres, startDaemon } from './helpers/daemon.js';
import { adminRest, login, rest } from './helpers/meeting.js';
import { resolveConfig } from '../src/config/load.js';
import { createApp } from '../src/app.js';
import { LogRing } from '../src/metrics/log-ring.js';
import { systemMetrics } from '../src/metrics/system.js';
import { createLogger, logRingOf } from '../src/log.js';

t.test('action=get: host, process and database figures', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const r = await a.get('/api/metrics?action=get');
  t.equal(r.status, 200);
  t.equal(r.body.success, true);
  const m = r.body.metrics;
  t.same(Object.keys(m), ['cpu', 'memory', 'disk', 'uptime_sec', 'process', 'node_version', 'db_metrics', 'timestamp']);
  t.same(Object.keys(m.cpu), ['loadavg_1min', 'loadavg_5min', 'loadavg_15min', 'cores']);
  t.ok(m.memory.total_mb > 0 && m.memory.used_mb <= m.memory.total_mb);
  t.equal(m.disk.path, d.config.state_dir);
  t.ok(m.disk.total_bytes > 0 && m.disk.free_bytes <= m.disk.total_bytes);
  t.equal(m.process.pid, process.pid);
  t.ok(m.process.rss_bytes > 0 && m.process.heap_used_bytes > 0);
  t.equal(m.node_version, process.versions.node);
  t.equal(m.db_metrics.connected, true);
  t.equal(m.db_metrics.objects, 3, 'System, admin and api-admin');
  if (onPostgres) {
    t.strictSame([m.db_metrics.db_file_bytes, m.db_metrics.wal_bytes], [0, 0], 'on PostgreSQL there is no database file nor WAL');
  } else {
    t.ok(m.db_metrics.db_file_bytes > 0);
    t.type(m.db_metrics.wal_bytes, 'number');
  }
  t.equal(m.db_metrics.commits, d.app.services.writer.commits);
  t.same(Object.keys(m.db_metrics.checkpoints), ['runs', 'wal_restarts', 'held_ms', 'longest_held_ms']);
  const totals = d.app.services.writer.upkeepTotals;
  if (onPostgres) t.same(m.db_metrics.checkpoints, { runs: 0, wal_restarts: 0, held_ms: 0, longest_held_ms: 0 }, 'PostgreSQL checkpoints by itself');
  else {
    t.ok(totals !== undefined, 'a file database has checkpoints');
    t.equal(m.db_metrics.checkpoints.runs, totals!.runs);
    t.ok(m.db_metrics.checkpoints.held_ms >= m.db_metrics.checkpoints.longest_held_ms);
  }
  t.match(m.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

  t.equal((await a.get('/api/metrics')).status, 400, 'action is required');
  t.same((await a.get('/api/metrics?action=nope')).status, 400);
});

t.test('action=logs: the last lines of the daemon log, redacted', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  const token = await login(d);
  await http(`${d.url}/api/auth/login`, { username: 'admin', password: 'wrong-password-xyz' });
  const r = await a.get('/api/metrics?action=logs&lines=5');
  t.equal(r.status, 200);
  t.same(Object.keys(r.body), ['success', 'log']);
  t.equal(r.body.log.length, 5);
  t.same(r.body.log, d.logs.slice(-6, -1), 'the newest lines, oldest first (the metrics request logs itself after replying)');
  const all = await a.get('/api/metrics?action=logs');
  t.ok(all.body.log.length > 5 && all.body.log.length <= 100, 'lines defaults to 100');
  t.same(all.body.log, d.logs.slice(-all.body.log.length - 1, -1));
  const text = JSON.stringify(all.body);
  for (const secret of [ADMIN_PASSWORD, 'wrong-password-xyz', token]) t.notOk(text.includes(secret), 'no secret in the log tail');
  t.equal((await a.get('/api/metrics?action=logs&lines=0')).status, 400);
  t.equal((await a.get('/api/metrics?action=logs&lines=1001')).status, 400);
  t.equal((await a.get('/api/metrics?action=logs&lines=x')).status, 400);
});

t.test('action=prometheus: default and cced metrics, one registry per daemon', async (t) => {
  const d1 = await startDaemon();
  const d2 = await startDaemon();
  t.teardown(async () => {
    await d1.close();
    await d2.close();
  });
  const a = await adminRest(d1);
  await http(`${d1.url}/v2/cce`, { cmd: 'PING' });
  await http(`${d1.url}/v2/cce`, { cmd: 'PING' });
  await http(`${d1.url}/no/such/path`);
  const r = await a.get('/api/metrics?action=prometheus');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(r.text, /^# HELP process_cpu_user_seconds_total/m);
  t.match(r.text, /^nodejs_heap_size_total_bytes \d+/m);
  t.match(r.text, /^cced_requests_total\{verb="PING",status="200"\} 2$/m);
  t.match(r.text, /^cced_requests_total\{verb="POST",status="200"\} 1$/m, 'the login');
  t.match(r.text, /^cced_requests_total\{verb="GET",status="404"\} 1$/m, 'unrouted requests count too');
  t.match(r.text, /^cced_objects 3$/m);
  t.match(r.text, new RegExp(`^cced_writer_commits ${d1.app.services.writer.commits}$`, 'm'));
  t.match(r.text, new RegExp(`^cced_checkpoints_total ${d1.app.services.writer.upkeepTotals?.runs ?? 0}$`, 'm'));
  t.match(r.text, /^cced_checkpoint_held_seconds_total [\d.e-]+$/m);

  // The second daemon counts only its own requests.
  const b = await adminRest(d2);
  const r2 = await b.get('/api/metrics?action=prometheus');
  t.notMatch(r2.text, /verb="PING"/);
  t.match(r2.text, /^cced_requests_total\{verb="POST",status="200"\} 1$/m);
});

t.test('metrics: sysadmin bearer token only', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const a = await adminRest(d);
  await a.post('/api/users', { username: 'gina', password: 'gina-pass' });
  const user = rest(d, { authorization: `Bearer ${await login(d, 'gina', 'gina-pass')}` });
  for (const action of ['get', 'logs', 'prometheus']) {
    const p = `/api/metrics?action=${action}`;
    t.same([(await rest(d).get(p)).status, (await rest(d).get(p)).body], [401, { error: 'Missing bearer token' }]);
    t.equal((await rest(d, { authorization: 'Bearer nope' }).get(p)).status, 403);
    t.same((await user.get(p)).body, { error: 'Administrator rights required' });
  }
});

t.test('a daemon whose logger keeps no tail answers 500 for action=logs', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-test-'));
  const app = await createApp(resolveConfig({ state_dir: dir, listen_address: '127.0.0.1:0', db_synchronous: 'NORMAL' }), {
    log: pino({ level: 'silent' }),
    env: { CCED_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  t.teardown(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.server.address();
  const d = { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
  const token = (await http(`${d.url}/api/auth/login`, { username: 'admin', password: ADMIN_PASSWORD })).body.token;
  const r = await http(`${d.url}/api/metrics?action=logs`, undefined, { headers: { authorization: `Bearer ${token}` } });
  t.same([r.status, r.body], [500, { error: 'Log not available' }]);
});

t.test('LogRing keeps the newest lines in order', async (t) => {
  const ring = new LogRing(3);
  ring.write('a\nb\n');
  t.same(ring.last(10), ['a', 'b']);
  ring.write('c\n');
  ring.write('d\ne\n');
  t.same(ring.last(10), ['c', 'd', 'e']);
  t.same(ring.last(2), ['d', 'e']);
});

t.test('createLogger: every logger keeps a tail, whatever its level and destination', async (t) => {
  const quiet = createLogger({ logging: false, debuglog: false });
  t.equal(quiet.level, 'warn');
  t.ok(logRingOf(quiet));
  const lines: string[] = [];
  const info = createLogger({ logging: true, debuglog: false }, { write: (l: string) => void lines.push(l) });
  t.equal(info.level, 'info');
  info.info({ password: 'hunter2' }, 'hello');
  info.debug('not at info level');
  t.equal(lines.length, 1);
  t.same(logRingOf(info)!.last(5), [lines[0]!.trimEnd()]);
  t.notMatch(lines[0]!, /hunter2/);
});

t.test('database figures without a database file or WAL are zero', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const s = d.app.services;
  const m = await systemMetrics({ ...s, config: { ...s.config, db_path: path.join(d.config.state_dir, 'missing.db') } });
  t.same([m.db_metrics.db_file_bytes, m.db_metrics.wal_bytes], [0, 0]);
});
