/**
 * `cced check-config` through the real executable, continued (test/check-config.test.ts has the refused
 * configurations): a certificate and key that do not belong together, refused by it and the daemon alike;
 * read-only (no state dir, no database, no -shm or -wal file made); the line saying which configuration
 * and store it acts on.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCced, runDaemonToExit } from './helpers/main-process.js';
import { spawnDaemon } from './helpers/child-daemon.js';
import { loadSchema } from '../src/schema/loader.js';
import { packageRoot } from '../src/paths.js';

const CLASSES = loadSchema([path.join(packageRoot(), 'schema')]).classes.size;

const dir = mkdtempSync(path.join(tmpdir(), 'cced-check-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const cced = runCced;
const daemon = runDaemonToExit;

t.test('a certificate and a key that do not belong together are refused by both', async (t) => {
  const key = (name: string) => execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name)], { stdio: 'pipe' });
  key('a.key');
  key('b.key');
  execFileSync('openssl', ['req', '-x509', '-new', '-key', f('a.key'), '-subj', '/CN=127.0.0.1', '-days', '2', '-out', f('a.pem')], { stdio: 'pipe' });
  const env = { CCED_STATE_DIR: f('tls-state'), CCED_CERT_FILE: f('a.pem'), CCED_KEY_FILE: f('b.key') };
  const check = await cced(['check-config'], env);
  t.equal(check.code, 1);
  t.match(check.stderr, /^cced: config: cert_file and key_file: .*key values mismatch/m);
  const started = await daemon({ ...env, CCED_LISTEN_ADDRESS: '127.0.0.1:0' });
  t.equal(started.code, 2);
  t.equal(started.stderr, check.stderr.split('\n').find((l) => l.startsWith('cced: config:')) + '\n');
  const good = await cced(['check-config'], { ...env, CCED_KEY_FILE: f('a.key'), CCED_LISTEN_ADDRESS: '0.0.0.0:9443' });
  t.equal(good.code, 0, good.stderr);
  t.equal(good.stdout, `configuration ok: listen 0.0.0.0:9443, state ${f('tls-state')}, ${CLASSES} classes, no store yet (the daemon creates ${f('tls-state')}/cced.db)\n`);
  t.notOk(existsSync(f('tls-state')));
});

t.test('read-only: nothing made where there is no store, nothing changed where there is one', async (t) => {
  const state = f('fresh');
  const conf = f('cced.conf');
  writeFileSync(conf, `state_dir = ${state}\n`);
  const fresh = await cced(['--config', conf, 'check-config'], {});
  t.equal(fresh.code, 0, fresh.stderr);
  t.equal(fresh.stderr, `cced: configuration ${conf}; store ${state}/cced.db\n`, 'which configuration and store');
  t.equal(fresh.stdout, `configuration ok: listen 127.0.0.1:9092, state ${state}, ${CLASSES} classes, no store yet (the daemon creates ${state}/cced.db)\n`);
  t.notOk(existsSync(state), 'no state dir');

  const d = await spawnDaemon({}, { stateDir: state });
  await d.close();
  const before = readdirSync(state).sort();
  const existing = await cced(['check-config'], { CCED_CONFIG: conf, CCED_DB_SYNCHRONOUS: 'NORMAL' });
  t.equal(existing.code, 0, existing.stderr);
  t.equal(existing.stderr, `cced: configuration ${conf}, overridden by CCED_DB_SYNCHRONOUS; store ${state}/cced.db\n`);
  t.equal(existing.stdout, `configuration ok: listen 127.0.0.1:9092, state ${state}, ${CLASSES} classes, 3 objects\n`);
  t.strictSame(readdirSync(state).sort(), before, 'no file made or removed in the state dir');

  const defaults = await cced(['check-config'], { CCED_STATE_DIR: f('nowhere') });
  t.equal(defaults.stderr, `cced: configuration built-in defaults (no --config, no CCED_CONFIG), overridden by CCED_STATE_DIR; store ${f('nowhere')}/cced.db\n`);
});

