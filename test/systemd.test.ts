/**
 * systemd/cced.service keeps its hardening, and systemd/cced-pre.sh is valid
 * bash that copies the certificates and makes the state directory.
 */
import t from 'tap';
import path from 'node:path';
import { readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import { runCced } from './helpers/main-process.js';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const unitPath = path.join(repo, 'systemd', 'cced.service');
const prePath = path.join(repo, 'systemd', 'cced-pre.sh');

/** The unit's `Key=value` lines (comments dropped), last one winning, as systemd reads them. */
function directives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    // Environment= may repeat; keep them all, one per line.
    out.set(key, out.has(key) && key === 'Environment' ? `${out.get(key)}\n${value}` : value);
  }
  return out;
}

t.test('cced.service', async (t) => {
  const text = readFileSync(unitPath, 'utf8');
  const d = directives(text);

  t.test('runs the built daemon as cced, with the root pre-start script', async (t) => {
    t.equal(d.get('Type'), 'simple');
    t.equal(d.get('User'), 'cced');
    t.equal(d.get('Group'), 'cced');
    t.equal(d.get('ExecStartPre'), '+/usr/lib/cced/cced-pre.sh');
    t.equal(d.get('ExecStart'), '/usr/bin/node --heap-growing-percent=20 --max-semi-space-size=16 /usr/lib/cced/dist/src/main.js --config /etc/cced/cced.conf');
    t.match(d.get('Environment'), /^NODE_ENV=production$/m);
    t.equal(d.get('StateDirectory'), 'cced');
    t.equal(d.get('ConfigurationDirectory'), 'cced');
    t.equal(d.get('Restart'), 'on-failure');
    t.notOk(d.has('LogsDirectory'), 'logs go to journald');
  });

  t.test('only sets CCED_* variables the daemon accepts', async (t) => {
    // The daemon refuses unknown CCED_* variables at start-up (src/config/load.ts).
    const { CONFIG_KEYS } = await import('../src/config/schema.js');
    const vars = (d.get('Environment') ?? '').split('\n').map((e) => e.split('=')[0]!);
    for (const v of vars.filter((v) => v.startsWith('CCED_'))) {
      t.ok((CONFIG_KEYS as string[]).includes(v.slice(5).toLowerCase()), `${v} is a config key`);
    }
  });

  t.test('UV_THREADPOOL_SIZE leaves two threads beside the shipped password_hash_jobs, as the start-up check counts', async (t) => {
    const pool = /^UV_THREADPOOL_SIZE=(\d+)$/m.exec(d.get('Environment') ?? '')?.[1];
    t.equal(pool, '4', "pinned to libuv's default");
    const conf = path.join(repo, 'etc', 'cced.conf');
    const env = { UV_THREADPOOL_SIZE: pool!, CCED_STATE_DIR: path.join(tmpdir(), 'cced-unit-never-made') };
    const ok = await runCced(['check-config', '--config', conf], env);
    t.equal(ok.code, 0, `the shipped configuration passes: ${ok.stderr}`);
    const over = await runCced(['check-config', '--config', conf], { ...env, CCED_PASSWORD_HASH_JOBS: String(Number(pool) - 1) });
    t.equal(over.code, 1);
    t.match(over.stderr, `cced: config: password_hash_jobs: at most ${Number(pool) - 2}: libuv's thread pool has ${pool} threads (UV_THREADPOOL_SIZE)`);
  });

  t.test('least privilege', async (t) => {
    const hardening: Record<string, string> = {
      NoNewPrivileges: 'true',
      ProtectSystem: 'strict',
      ProtectHome: 'true',
      PrivateTmp: 'true',
      PrivateDevices: 'true',
      ProtectKernelTunables: 'true',
      ProtectKernelModules: 'true',
      ProtectKernelLogs: 'true',
      ProtectControlGroups: 'true',
      ProtectClock: 'true',
      ProtectHostname: 'true',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      RestrictNamespaces: 'true',
      RestrictRealtime: 'true',
      RestrictSUIDSGID: 'true',
      LockPersonality: 'true',
      MemoryDenyWriteExecute: 'false',
      SystemCallArchitectures: 'native',
      SystemCallFilter: '@system-service',
      CapabilityBoundingSet: '',
      UMask: '0077',
    };
    for (const [key, value] of Object.entries(hardening)) t.equal(d.get(key), value, `${key}=${value}`);
    t.match(text, /V8.*JIT|JIT.*V8/, 'says why MemoryDenyWriteExecute is off');
    t.match(text, /CAP_NET_BIND_SERVICE/, 'says what to add for a port below 1024');
  });
});

t.test('cced-pre.sh', async (t) => {
  t.test('is valid bash with strict mode', async (t) => {
    const r = spawnSync('bash', ['-n', prePath], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.match(readFileSync(prePath, 'utf8'), /^#!\/bin\/bash\n/);
    t.match(readFileSync(prePath, 'utf8'), /^set -euo pipefail$/m);
    t.ok(statSync(prePath).mode & 0o100, 'is executable');
  });

  t.test('copies the certificates present and makes the state directory', async (t) => {
    // Run a copy whose fixed paths point into a temp dir and whose owner is
    // whoever runs the tests (chown to oneself needs no privilege).
    const dir = t.testdir({ source: { certificate: 'CERT', key: 'KEY' }, etc: {}, var: {} });
    const me = userInfo();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    const script = readFileSync(prePath, 'utf8')
      .replaceAll('/etc/cced/certs', path.join(dir, 'etc/cced/certs'))
      .replaceAll('/var/lib/cced', path.join(dir, 'var/lib/cced'))
      .replaceAll('-o root', `-o ${me.username}`)
      .replaceAll('-o cced', `-o ${me.username}`)
      .replaceAll('-g cced', `-g ${group}`);
    const copy = path.join(dir, 'pre.sh');
    writeFileSync(copy, script);
    const r = spawnSync('bash', [copy], { encoding: 'utf8', env: { ...process.env, CCED_CERT_SOURCE: path.join(dir, 'source') } });
    t.equal(r.status, 0, r.stderr);
    const certs = path.join(dir, 'etc/cced/certs');
    t.equal(readFileSync(path.join(certs, 'certificate'), 'utf8'), 'CERT');
    t.equal(readFileSync(path.join(certs, 'key'), 'utf8'), 'KEY');
    t.equal(statSync(path.join(certs, 'key')).mode & 0o777, 0o600);
    t.notOk(existsSync(path.join(certs, 'ca-certs')), 'a missing source file is skipped');
    t.equal(statSync(path.join(dir, 'var/lib/cced')).mode & 0o777, 0o700);
    // A second run (every restart) succeeds too.
    t.equal(spawnSync('bash', [copy], { env: { ...process.env, CCED_CERT_SOURCE: path.join(dir, 'none') } }).status, 0);
  });
});
