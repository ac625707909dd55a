/**
 * The embedded SSH reverse-tunnel server, driven by the real OpenSSH client
 * (`ssh -N -R`) and by ssh2's Client in-process: a device's forward of its
 * reserved port carries a TCP round trip; another port, a revoked key, a
 * shell, exec, `ssh -L` and passwords are refused; forwards end when the
 * tunnel expires, the session ends, the device's key is replaced or the device is deleted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import ssh2 from 'ssh2';
import { adminClient, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { adminRest, rest, seedCatalog } from './helpers/meeting.js';
import { keygen, onlineDevice, portRange, sshToken } from './helpers/tunnels.js';
import { tunnelRuntime } from '../src/devices/tunnel-runtime.js';
import { claim } from '../src/auth/claims.js';
import { ephemeralPorts } from '../src/tunnels/ephemeral-ports.js';

const { Client } = ssh2;

const sshFound = spawnSync('ssh', ['-V']).error === undefined;
if (!sshFound) {
  // Never a silent pass: this file's point is the real client.
  t.fail('the OpenSSH client (`ssh`) is missing: install openssh-client (.ci/run does) to run the reverse-tunnel tests');
}

const dir = mkdtempSync(path.join(tmpdir(), 'cced-ssh-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A local TCP server that echoes what it reads: the service inside the "device". */
async function echoServer(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** Connects to 127.0.0.1:port, sends a line and returns what comes back (or the connection error's code). */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.write(text));
    socket.on('data', (c) => {
      got += c;
      if (got.length >= text.length) socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => resolve(got));
  });
}

interface Ssh {
  child: ChildProcess;
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** `ssh -N -R <remote>:127.0.0.1:<local>` as the device, with only its key file. */
function sshForward(d: TestDaemon, user: string, keyFile: string, remote: number, local: number): Ssh {
  const args = [
    '-N', '-F', '/dev/null', '-R', `${remote}:127.0.0.1:${local}`, '-i', keyFile, '-p', String(tunnelRuntime(d.app.services).sshAddress!.port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
    '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`,
  ];
  const env = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  const child = spawn('ssh', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, exited };
}

/** Polls until `check` is true (at most ~10 s, or `tries` tenths of a second); returns its last answer. */
async function until(check: () => Promise<boolean> | boolean, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

async function setup(t: { teardown(fn: () => unknown): void }, config: Record<string, string> = {}) {
  const { min, ...range } = portRange();
  const d = await startDaemon({ config: { ssh_listen_address: '127.0.0.1:0', ...range, ...config } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const device = await onlineDevice(a, d);
  const port = (await device.dev.post(`/api/devices/${device.key}/service`, { service: 'ssh' })).body.port as number;
  return { d, a, ...device, port, min };
}

const live = (d: TestDaemon, port: number) => tunnelRuntime(d.app.services).ssh!.isLive(port);

/** 'live' once the daemon forwards `port` for the session (at most ~30 s); else what the ssh client said. */
async function forwarding(d: TestDaemon, port: number, ssh: Ssh): Promise<string> {
  await until(() => live(d, port) || ssh.child.exitCode !== null, 300);
  if (live(d, port)) return 'live';
  if (ssh.child.exitCode === null) return 'not live after 30 s, ssh still running';
  const { code, stderr } = await ssh.exited;
  return `not live: ssh exited ${code}: ${stderr.trim()}`;
}

t.test('ssh -R of the reserved port carries a TCP round trip to the device', { skip: !sshFound && 'no ssh client' }, async (t) => {
  const { d, a, key, dev, port } = await setup(t);
  const k1 = keygen(dir, 'dev1');
  t.equal((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub })).status, 200);
  const echo = await echoServer(t);

  const ssh = sshForward(d, key, k1.file, port, echo);
  t.teardown(() => ssh.child.kill());
  const opened = await until(async () => (await dev.post(`/api/devices/${key}/service`, { service: 'ssh' })).status === 200 || ssh.child.exitCode !== null);
  t.ok(opened && ssh.child.exitCode === null, 'POST .../service answers 200 once the device forwards the port');
  t.equal(await roundTrip(port, 'hello through the tunnel\n'), 'hello through the tunnel\n', 'echo round trip');
  t.equal(await roundTrip(port, 'and again\n'), 'and again\n', 'a second connection');
  t.equal((await a.get('/api/tunnels')).body.tunnels[0].status, 'open');
  t.strictSame((await dev.get(`/api/devices/${key}/tunnel-pending`)).body, { pending: false });
  t.ok(d.logs.some((l) => l.includes('"audit":"tunnel-forward-open"')), 'audited');

  ssh.child.kill();
  await ssh.exited;
  t.ok(await until(() => !live(d, port)), 'the forward ends with the session');
  t.equal(await roundTrip(port, 'x'), 'ECONNREFUSED', 'nothing listens on the port any more');
  t.equal((await dev.post(`/api/devices/${key}/service`, { service: 'ssh' })).status, 202, 'pending again');
});

t.test('another port, a revoked key, another device\u2019s name are refused', { skip: !sshFound && 'no ssh client' }, async (t) => {
  const { d, a, key, port } = await setup(t);
  const k1 = keygen(dir, 'dev2-old');
  const k2 = keygen(dir, 'dev2-new');
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub });
  const echo = await echoServer(t);

  const other = await sshForward(d, key, k1.file, port + 50, echo).exited;
  t.not(other.code, 0, 'a port not reserved for the device: ssh exits');
  t.match(other.stderr, /remote port forwarding failed for listen port/);
  t.equal(await roundTrip(port + 50, 'x'), 'ECONNREFUSED');

  // A running session with the old key ends when the key is replaced.
  const running = sshForward(d, key, k1.file, port, echo);
  t.equal(await forwarding(d, port, running), 'live', 'forwarding with the first key');
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k2.pub });
  const ended = await running.exited;
  t.not(ended.code, null, 'the session of the revoked key was closed');
  t.ok(await until(() => !live(d, port)));

  const revoked = await sshForward(d, key, k1.file, port, echo).exited;
  t.equal(revoked.code, 255);
  t.match(revoked.stderr, /Permission denied \(publickey\)/, 'a revoked key is refused');

  const b = await onlineDevice(a, d);
  const stranger = await sshForward(d, b.key, k2.file, port, echo).exited;
  t.match(stranger.stderr, /Permission denied \(publickey\)/, "a key of another device does not log in as this one");

  const withNew = sshForward(d, key, k2.file, port, echo);
  t.teardown(() => withNew.child.kill());
  t.equal(await forwarding(d, port, withNew), 'live', 'the new key works');
  t.equal(await roundTrip(port, 'new key\n'), 'new key\n');
  t.ok(d.logs.some((l) => l.includes('"audit":"tunnel-forward-refused"')), 'refusals audited');
});

t.test('DELETE of a device closes its forward and session at once; a device re-created with its key does not inherit its SSH key', { skip: !sshFound && 'no ssh client' }, async (t) => {
  const { d, a, key, port } = await setup(t);
  const k = keygen(dir, 'dev-deleted');
  t.equal((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k.pub })).status, 200);
  const echo = await echoServer(t);
  const running = sshForward(d, key, k.file, port, echo);
  t.teardown(() => running.child.kill());
  t.equal(await forwarding(d, port, running), 'live', 'forwarding');
  t.equal(await roundTrip(port, 'before\n'), 'before\n');

  t.strictSame((await a.del(`/api/devices/${key}`)).body, { success: true });
  t.notOk(live(d, port), 'the forward is closed by the time DELETE answers');
  t.equal(await roundTrip(port, 'x'), 'ECONNREFUSED', 'nothing listens on the port any more');
  const ended = await running.exited;
  t.not(ended.code, null, 'the ssh session was ended by the daemon');

  const ssh = rest(d, { 'x-meeting-ssh-token': sshToken(d) });
  t.strictSame((await ssh.post('/api/forcecommand/validate_device_key', { pubkey: k.pub })).body, { status: 'invalid' }, 'the key went with the device');
  t.equal((await a.post('/api/devices/manual-create', { devicekey: key, token_code: 'fresh-token-1-0123456789', device_type: 'rpi4' })).status, 200, 're-created with the same key');
  t.strictSame((await ssh.post('/api/forcecommand/validate_device_key', { pubkey: k.pub })).body, { status: 'invalid' }, 'and it does not come back');
  const refused = await sshForward(d, key, k.file, port, echo).exited;
  t.equal(refused.code, 255);
  t.match(refused.stderr, /Permission denied \(publickey\)/, 'the old key does not log in as the new device');
});

t.test('a key revoked or destroyed through /v2/cce ends its live session at once; another device\u2019s session stays', { skip: !sshFound && 'no ssh client' }, async (t) => {
  const { d, a, key, port } = await setup(t);
  const k = keygen(dir, 'dev-cce-revoked');
  t.equal((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k.pub })).status, 200);
  const echo = await echoServer(t);
  // A second device with its own key and tunnel: a revocation of the first key must not touch it.
  const b = await onlineDevice(a, d);
  const kb = keygen(dir, 'dev-cce-bystander');
  t.equal((await a.put(`/api/devices/${b.key}/ssh-key`, { ssh_public_key: kb.pub })).status, 200);
  const portB = (await b.dev.post(`/api/devices/${b.key}/service`, { service: 'ssh' })).body.port as number;
  const bystander = sshForward(d, b.key, kb.file, portB, echo);
  t.teardown(() => bystander.child.kill());

  const c = await adminClient(d);
  const oid = Number((await c.cmd({ cmd: 'FINDX', class: 'SshKey', args: { device_key: key } })).body.data.oidlist[0]);
  const running = sshForward(d, key, k.file, port, echo);
  t.teardown(() => running.child.kill());
  t.ok(await until(() => live(d, port) && live(d, portB)), 'both devices forward');

  t.equal((await c.cmd(`SET ${oid} revoked=1`)).body.status, 201, 'SET revoked=1 over /v2/cce');
  const ended = await running.exited;
  t.not(ended.code, null, 'the session of the revoked key was closed by the daemon');
  t.ok(await until(() => !live(d, port)), 'its forward is gone');
  t.equal(await roundTrip(port, 'x'), 'ECONNREFUSED');
  t.ok(d.logs.some((l) => l.includes('"audit":"ssh-key-session-end"') && l.includes(key) && l.includes('"why":"revoked"')), 'audited');
  const refused = await sshForward(d, key, k.file, port, echo).exited;
  t.match(refused.stderr, /Permission denied \(publickey\)/, 'and the key no longer logs in');

  t.equal((await c.cmd(`SET ${oid} revoked=0`)).body.status, 201, 'given back');
  const again = sshForward(d, key, k.file, port, echo);
  t.teardown(() => again.child.kill());
  t.equal(await forwarding(d, port, again), 'live', 'logs in again');
  t.equal((await c.cmd(`DESTROY ${oid}`)).body.status, 201, 'DESTROY of the SshKey over /v2/cce');
  t.not((await again.exited).code, null, 'that session was closed too');
  t.ok(await until(() => !live(d, port)));

  t.ok(live(d, portB) && bystander.child.exitCode === null, 'the other device\u2019s session was left alone');
  t.equal(await roundTrip(portB, 'still here\n'), 'still here\n');
});

/** An ssh2 Client logged in as the device; rejects on an authentication failure. */
function connect(d: TestDaemon, opts: Partial<ssh2.ConnectConfig>): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.on('close', () => reject(new Error('connection closed before login')));
    c.connect({ host: '127.0.0.1', port: tunnelRuntime(d.app.services).sshAddress!.port, readyTimeout: 10_000, ...opts });
  });
}

const refused = (f: (cb: (err: Error | null | undefined) => void) => void) => new Promise<boolean>((resolve) => f((err) => resolve(err !== undefined && err !== null)));

t.test('in-process ssh2 client: only tcpip-forward of its own port; expiry closes the forward', async (t) => {
  const { d, a, key, port } = await setup(t);
  const k = keygen(dir, 'dev3');
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k.pub });
  const privateKey = readFileSync(k.file);
  await t.rejects(connect(d, { username: key, password: 'anything' }), 'a password is refused');
  await t.rejects(connect(d, { username: 'not a device', privateKey }), 'a user name that is no device key');

  const c = await connect(d, { username: key, privateKey });
  t.teardown(() => c.end());
  t.ok(await refused((cb) => c.exec('id', (err) => cb(err))), 'exec refused');
  t.ok(await refused((cb) => c.shell((err) => cb(err))), 'shell refused');
  t.ok(await refused((cb) => c.forwardOut('127.0.0.1', 1, '127.0.0.1', 22, (err) => cb(err))), 'ssh -L (direct-tcpip) refused');
  t.ok(await refused((cb) => c.forwardIn('127.0.0.1', 0, (err) => cb(err))), 'port 0 refused');
  t.ok(await refused((cb) => c.unforwardIn('127.0.0.1', port, (err) => cb(err))), 'cancelling a forward it does not hold');

  const echo = await echoServer(t);
  c.on('tcp connection', (_info, accept) => {
    const channel = accept();
    const upstream = net.connect(echo, '127.0.0.1');
    channel.pipe(upstream).pipe(channel);
  });
  t.notOk(await refused((cb) => c.forwardIn('localhost', port, (err) => cb(err))), 'its own port is accepted');
  t.ok(await refused((cb) => c.forwardIn('localhost', port, (err) => cb(err))), 'but only once');
  t.equal(await roundTrip(port, 'ssh2\n'), 'ssh2\n');
  t.notOk(await refused((cb) => c.unforwardIn('localhost', port, (err) => cb(err))), 'cancel-tcpip-forward');
  t.notOk(live(d, port));
  t.notOk(await refused((cb) => c.forwardIn('localhost', port, (err) => cb(err))), 'forwarded again');

  // The tunnel expires (set through /v2/cce), the sweeper releases it, and the forward is closed.
  const oid = await d.app.services.store.findOne('Tunnel', '', 'port', String(port));
  await (await adminClient(d)).cmd(`SET ${oid} expires_at="2020-01-01T00:00:00Z"`);
  await tunnelRuntime(d.app.services).sweep();
  t.notOk(live(d, port), 'released on expiry');
  t.equal(await roundTrip(port, 'x'), 'ECONNREFUSED');
  t.ok(await refused((cb) => c.forwardIn('localhost', port, (err) => cb(err))), 'no tunnel: no forward');
});

t.test('a port already bound by another process is refused, not crashed on', async (t) => {
  const { d, a, key, port } = await setup(t);
  const k = keygen(dir, 'dev4');
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k.pub });
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
  t.teardown(() => squatter.close());
  const c = await connect(d, { username: key, privateKey: readFileSync(k.file) });
  t.teardown(() => c.end());
  t.ok(await refused((cb) => c.forwardIn('localhost', port, (err) => cb(err))));
  t.ok(d.logs.some((l) => l.includes('tunnel port could not be bound')));
});

t.test('failed key logins ban that device key at that address; a banned claim is dropped', async (t) => {
  const { d, a, key } = await setup(t, { api_auth_fails: '1' });
  const good = keygen(dir, 'dev5');
  const bad = keygen(dir, 'dev5-unknown');
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: good.pub });
  await t.rejects(connect(d, { username: key, privateKey: readFileSync(bad.file) }));
  t.ok(await until(async () => d.app.services.auth.bans.pairBanLeft(claim('ssh-key', '127.0.0.1', key)) !== undefined), 'banned');
  await t.rejects(connect(d, { username: key, privateKey: readFileSync(good.file) }), 'even the right key is dropped while banned');
});


t.test('an SshKey given to another device, or replaced by another key, through /v2/cce ends the sessions of the old key', async (t) => {
  const { d, a, key } = await setup(t);
  const k1 = keygen(dir, 'dev6');
  const k2 = keygen(dir, 'dev6-next');
  t.equal((await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k1.pub })).status, 200);
  const b = await onlineDevice(a, d);
  const c = await adminClient(d);
  const oid = Number((await c.cmd({ cmd: 'FINDX', class: 'SshKey', args: { device_key: key } })).body.data.oidlist[0]);
  const closed = (client: ssh2.Client) => new Promise<void>((resolve) => client.on('close', () => resolve()));
  const ended = (why: string, device: string) => d.logs.some((l) => l.includes('"audit":"ssh-key-session-end"') && l.includes(`"why":"${why}"`) && l.includes(device));

  const first = await connect(d, { username: key, privateKey: readFileSync(k1.file) });
  const firstClosed = closed(first);
  t.equal((await c.cmd(`SET ${oid} device_key="${b.key}"`)).body.status, 201, 'the key given to another device');
  await firstClosed;
  t.ok(ended('moved', key), 'the session as its old device ended');

  const second = await connect(d, { username: b.key, privateKey: readFileSync(k1.file) });
  const secondClosed = closed(second);
  t.equal((await c.cmd(`SET ${oid} pubkey="${k2.pub.split(' ').slice(0, 2).join(' ')}"`)).body.status, 201, 'another key in the same SshKey');
  await secondClosed;
  t.ok(ended('replaced', b.key), 'the session of the old key ended');
  await t.rejects(connect(d, { username: b.key, privateKey: readFileSync(k1.file) }), 'the old key no longer logs in');
  const third = await connect(d, { username: b.key, privateKey: readFileSync(k2.file) });
  t.teardown(() => third.end());
  t.pass('the new key does');
});

const ephemeral = ephemeralPorts();
t.test("tunnel ports inside the kernel's range for outgoing connections are warned of at start; the tests' ranges are not", { skip: ephemeral === undefined && 'this system does not tell its range for outgoing connections' }, async (t) => {
  if (ephemeral === undefined) return;
  const warning = (d: TestDaemon) => d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('tunnel ports inside'));
  const inside = await startDaemon({ config: { ssh_listen_address: '127.0.0.1:0', tunnel_port_min: String(ephemeral.min - 5), tunnel_port_max: String(ephemeral.min + 4) } });
  t.teardown(() => inside.close());
  t.equal(warning(inside).length, 1, 'one warning');
  t.match(warning(inside), [{ level: 40, tunnel_port_min: ephemeral.min - 5, tunnel_port_max: ephemeral.min + 4, shared: `${ephemeral.min}-${ephemeral.min + 4}` }]);
  const { d } = await setup(t);
  t.strictSame(warning(d), [], 'no warning below that range');
});
