/**
 * TLS: with cert_file/key_file the daemon serves HTTPS, presenting ca_cert_file
 * as the chain after its certificate; without them a non-loopback listen over
 * plain HTTP needs enable_http. Certificates are made at test time with the
 * openssl CLI: a root CA, an intermediate, and a leaf for 127.0.0.1.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, http, ADMIN_PASSWORD, type HttpResult } from './helpers/daemon.js';
import { remember, linesWithSecrets } from './helpers/gate.js';
import { parseAccessFile } from '../src/auth/access-file.js';
import { resolveConfig, ConfigError } from '../src/config/load.js';
import { checkListen } from '../src/listen.js';

remember(ADMIN_PASSWORD);

const dir = mkdtempSync(path.join(tmpdir(), 'cced-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** root -> intermediate -> leaf (CN and SAN 127.0.0.1), EC P-256 keys. */
function makeCertificates(): void {
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name));
  key('root.key');
  key('int.key');
  key('leaf.key');
  openssl('req', '-x509', '-new', '-key', f('root.key'), '-subj', '/CN=cced test root', '-days', '2', '-out', f('root.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  writeFileSync(f('ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl('req', '-new', '-key', f('int.key'), '-subj', '/CN=cced test intermediate', '-out', f('int.csr'));
  openssl('x509', '-req', '-in', f('int.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('ca.ext'), '-out', f('int.pem'));
  writeFileSync(f('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl('req', '-new', '-key', f('leaf.key'), '-subj', '/CN=127.0.0.1', '-out', f('leaf.csr'));
  openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('int.pem'), '-CAkey', f('int.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('leaf.ext'), '-out', f('leaf.pem'));
}
makeCertificates();

/** POST over HTTPS, trusting only `ca`. */
const httpsPost = (url: string, body: unknown, ca: Buffer, opts: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> =>
  http(url, body, { ...opts, ca });

t.test('HTTPS with a generated certificate; the chain comes from ca_cert_file', async (t) => {
  const d = await startDaemon({
    config: { cert_file: f('leaf.pem'), key_file: f('leaf.key'), ca_cert_file: f('int.pem'), api_access: '127.0.0.2' },
  });
  t.teardown(() => d.close());
  t.match(d.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const root = readFileSync(f('root.pem'));
  const ping = await httpsPost(`${d.url}/v2/cce`, { cmd: 'PING' }, root);
  t.equal(ping.status, 200);
  t.same(ping.body, { status: 202, message: 'PONG' });

  const auth = await httpsPost(`${d.url}/v2/cce`, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }, root);
  t.equal(auth.body.status, 201);
  remember(auth.body.data.sessionid);

  const secret = remember(parseAccessFile(readFileSync(path.join(d.config.state_dir, 'access'), 'utf8')).get('127.0.0.2')!);
  const login = await httpsPost(`${d.url}/v2/cce`, { cmd: 'LOGIN' }, root, { localAddress: '127.0.0.2', headers: { 'x-client-secret': secret } });
  t.equal(login.body.message, 'TOKEN ISSUED', 'LOGIN over HTTPS');
  remember(login.body.data.token);
});

t.test('without ca_cert_file the intermediate is missing and a client trusting only the root refuses', async (t) => {
  const d = await startDaemon({ config: { cert_file: f('leaf.pem'), key_file: f('leaf.key') } });
  t.teardown(() => d.close());
  await t.rejects(httpsPost(`${d.url}/v2/cce`, { cmd: 'PING' }, readFileSync(f('root.pem'))), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  const withInt = await httpsPost(`${d.url}/v2/cce`, { cmd: 'PING' }, Buffer.concat([readFileSync(f('root.pem')), readFileSync(f('int.pem'))]));
  t.equal(withInt.status, 200, 'a client that has the intermediate itself connects');
});

t.test('enable_http = false: a non-loopback listen needs cert_file and key_file', async (t) => {
  const cfg = (extra: Record<string, string>) => resolveConfig({ listen_address: '0.0.0.0:9092', ...extra });
  t.throws(() => checkListen(cfg({})), ConfigError);
  t.throws(() => checkListen(cfg({})), /0\.0\.0\.0 is not loopback; serving it over plain HTTP needs enable_http = true/);
  t.doesNotThrow(() => checkListen(cfg({ cert_file: f('leaf.pem'), key_file: f('leaf.key') })), 'HTTPS is fine');
  t.doesNotThrow(() => checkListen(cfg({ enable_http: 'true' })), 'plain HTTP when asked for');
  t.throws(() => checkListen(cfg({ cert_file: f('leaf.pem') })), /cert_file and key_file go together/);
  t.doesNotThrow(() => checkListen(resolveConfig({ listen_address: '127.0.0.1:9092' })), 'loopback needs nothing');
});

t.test('no secret, password, token or session id in any log line', async (t) => {
  t.same(linesWithSecrets(), []);
});
