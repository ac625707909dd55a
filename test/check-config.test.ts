/**
 * `cced check-config` through the real executable: the daemon's own start-up checks (the daemon started
 * with the same configuration refuses it with the same line), --help and exit codes. The TLS pair and
 * the read-only look at the store are in test/check-config-store.test.ts.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCced, runDaemonToExit } from './helpers/main-process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-check-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const cced = runCced;
const daemon = runDaemonToExit;

t.test('a configuration the daemon refuses is refused, with the daemon\'s own line', async (t) => {
  const state = f('never-made');
  // [what, environment, the line, whether the daemon is started too (each start is slow on a loaded machine)]
  const cases: [string, Record<string, string>, string, boolean?][] = [
    ['plain HTTP off loopback', { CCED_LISTEN_ADDRESS: '0.0.0.0:9092' }, 'config: listen_address: 0.0.0.0 is not loopback; serving it over plain HTTP needs enable_http = true (or set cert_file and key_file)', true],
    ['a certificate without its key', { CCED_CERT_FILE: f('missing.pem') }, 'config: cert_file and key_file go together (set both or neither)'],
    ['a certificate that cannot be read', { CCED_CERT_FILE: f('missing.pem'), CCED_KEY_FILE: f('missing.key') }, `config: cert_file: cannot read ${f('missing.pem')}: ENOENT`],
    ['headers_timeout above request_timeout', { CCED_HEADERS_TIMEOUT: '30', CCED_REQUEST_TIMEOUT: '10' }, 'config: headers_timeout (30) may not exceed request_timeout (10)'],
    ['tunnel ports upside down', { CCED_TUNNEL_PORT_MIN: '9100', CCED_TUNNEL_PORT_MAX: '9000' }, 'config: tunnel_port_min (9100) is above tunnel_port_max (9000)', true],
    ['a bad value', { CCED_TOKEN_LIFETIME: 'soon' }, 'config: token_lifetime: expected a whole number (got "soon")'],
  ];
  for (const [what, env, line, startToo] of cases) {
    const all = { CCED_STATE_DIR: state, ...env };
    const check = await cced(['check-config'], all);
    t.equal(check.code, 1, `${what}: exit 1`);
    t.equal(check.stdout, '', `${what}: nothing on stdout`);
    t.match(check.stderr, `cced: ${line}\n`, `${what}: the reason`);
    if (!startToo) continue;
    const started = await daemon({ ...all, CCED_LISTEN_ADDRESS: env.CCED_LISTEN_ADDRESS ?? '127.0.0.1:0' });
    t.equal(started.code, 2, `${what}: the daemon refuses to start`);
    t.equal(started.stderr, `cced: ${line}\n`, `${what}: with the same line`);
  }
  t.notOk(existsSync(state), 'no state dir was made by either');
});

t.test('--help, usage errors and exit codes', async (t) => {
  const help = await cced(['check-config', '--help'], {});
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: cced check-config \[options\]\n\nvalidate the configuration exactly as the daemon does at start/);
  const top = await cced(['--help'], {});
  t.equal(top.code, 0);
  for (const command of ['check-config', 'purge', 'backup', 'restore', 'export', 'import', 'set-admin']) t.match(top.stdout, new RegExp(`\\n  ${command}\\b`), `${command} is listed`);
  const usage = await cced(['check-config', '--frob'], {});
  t.equal(usage.code, 2);
  t.match(usage.stderr, /unknown option '--frob'/);
});
