/**
 * Tunnels when several nodes share one database (node_url): the node that
 * reserves a tunnel serves it. POST /api/devices/:key/service answers the URL
 * of the node holding the lease, whichever node was asked; this node's SSH
 * server refuses the forward of a lease another node holds, and reports such
 * a tunnel's status as its agent last did. The lease held elsewhere is made
 * here as that node's reservation stores it (its Tunnel's node_url). What
 * another node's writes end (a tunnel destroyed there, a key revoked there)
 * this node's SSH server ends when it asks again (recheck, every few seconds
 * on a shared database): the other node is a second writer on the database.
 */
import t, { type Test } from 'tap';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { adminClient, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { adminRest, seedCatalog } from './helpers/meeting.js';
import { keygen, onlineDevice, portRange } from './helpers/tunnels.js';
import { tunnelRuntime } from '../src/devices/tunnel-runtime.js';
import { openStore } from '../src/store/open.js';
import { SYSTEM } from '../src/store/store.js';
import { pino } from 'pino';

const HERE = 'https://node-a.example:9092';
const THERE = 'https://node-b.example:9092';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-nodes-ssh-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function login(d: TestDaemon, username: string, privateKey: Buffer): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port: tunnelRuntime(d.app.services).sshAddress!.port, username, privateKey, readyTimeout: 10_000 });
  });
}

/** Whether the SSH server accepts the device's forward of `port` (ssh -R). */
const forwards = (c: ssh2.Client, port: number) => new Promise<boolean>((resolve) => c.forwardIn('localhost', port, (err) => resolve(!err)));

/** A node with SSH and `node_url`, and an online device whose SSH key is `name`. */
async function nodeWithDevice(t: Test, name: string) {
  const { min, ...range } = portRange();
  const d = await startDaemon({ config: { ssh_listen_address: '127.0.0.1:0', node_url: HERE, ...range } });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const a = await adminRest(d);
  const { key, dev } = await onlineDevice(a, d);
  const k = keygen(dir, name);
  await a.put(`/api/devices/${key}/ssh-key`, { ssh_public_key: k.pub });
  return { min, d, a, key, dev, k };
}

t.test('the lease is served by the node holding it, and /service answers that node', async (t) => {
  const { min, d, a, key, dev, k } = await nodeWithDevice(t, 'dev');

  const mine = await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  t.strictSame([mine.status, mine.body], [202, { port: min, url: `ssh -p ${min} device@127.0.0.1`, node_url: HERE }], 'reserved here: this node answers its own URL');

  // Another node reserved the device's http tunnel: its Tunnel names that node.
  const theirs = await dev.post(`/api/devices/${key}/service`, { service: 'http' });
  const admin = await adminClient(d);
  const set = await admin.cmd(`SET ${await d.app.services.store.findOne('Tunnel', '', 'port', String(min + 1))} node_url=${JSON.stringify(THERE)}`);
  t.equal(set.body.status, 201, set.text);
  const again = await dev.post(`/api/devices/${key}/service`, { service: 'http' });
  t.strictSame([again.status, again.body], [202, { port: min + 1, url: theirs.body.url, node_url: THERE }], 'extended where it is: the URL of the node holding the lease');

  const c = await login(d, key, readFileSync(k.file));
  t.teardown(() => c.end());
  t.notOk(await forwards(c, min + 1), "this node's SSH server refuses the forward of another node's lease");
  t.ok(await forwards(c, min), 'and serves its own');
  t.strictSame((await dev.post(`/api/devices/${key}/service`, { service: 'ssh' })).status, 200, 'its own lease: open once forwarded here');

  const report = await dev.post(`/api/devices/${key}/tunnel-status`, { service: 'http', port: min + 1 });
  t.equal(report.status, 200);
  const list = (await a.get('/api/tunnels')).body.tunnels as { port: number; status: string }[];
  t.strictSame(
    list.map((x) => [x.port, x.status]),
    [
      [min, 'open'],
      [min + 1, 'open'],
    ],
    "another node's tunnel: the status its agent reported (its forward is on that node)",
  );
});

t.test('without node_url (one node) the reply is as before and every lease is served', async (t) => {
  const { min, ...range } = portRange();
  const d = await startDaemon({ config: range });
  t.teardown(() => d.close());
  await seedCatalog(d);
  const { key, dev } = await onlineDevice(await adminRest(d), d);
  t.strictSame((await dev.post(`/api/devices/${key}/service`, { service: 'vnc' })).body, { port: min, url: `vnc://127.0.0.1:${min}` });
});

t.test("another node's writes end this node's forwards and sessions when it asks again", async (t) => {
  const { min, d, key, dev, k } = await nodeWithDevice(t, 'dev2');
  await dev.post(`/api/devices/${key}/service`, { service: 'ssh' });
  const ssh = tunnelRuntime(d.app.services).ssh!;
  const c = await login(d, key, readFileSync(k.file));
  const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
  t.teardown(() => c.end());
  t.ok(await forwards(c, min));
  t.equal(await ssh.recheck(), 0, 'nothing taken away yet');

  const other = await openStore(d.config, pino({ level: 'silent' }));
  t.teardown(() => other.close());
  const tunnel = await other.store.findOne('Tunnel', '', 'port', String(min));
  await other.writer.submit((w) => other.store.at(w).destroy(SYSTEM, tunnel!));
  t.ok(ssh.isLive(min), "this node's hooks never saw the other node's DESTROY");
  t.equal(await ssh.recheck(), 1, 'the forward ends when this node asks again');
  t.notOk(ssh.isLive(min));

  const sshKey = await other.store.findOne('SshKey', '', 'device_key', key);
  await other.writer.submit((w) => other.store.at(w).set(SYSTEM, sshKey!, '', { revoked: '1' }));
  t.equal(await ssh.recheck(), 1, 'the session whose key was revoked on the other node ends');
  await closed;
  t.ok(d.logs.some((l) => l.includes('"audit":"tunnel-forward-close"') && l.includes(String(min))), 'audited');
});
