/**
 * The server's own limits, over raw sockets against a running daemon: stalled
 * requests are closed at their deadline while the daemon keeps answering,
 * connections beyond the per-address and total caps are closed at once, a
 * body is not read before its route can authenticate, a HEAD refused for its
 * headers gets no body, and the "origin not allowed" line names the path only.
 * Counts are bounded; nothing here asserts on timings (each wait is a ceiling).
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, http, adminClient } from './helpers/daemon.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTs } from './helpers/spawn.js';
import { afterHeaders, openSocket, openSockets, partialPost, statusOf, type RawSocket } from './helpers/sockets.js';

const PING = { cmd: 'PING' };
const PONG = { status: 202, message: 'PONG' };

/** Resolves once the socket has received a whole response (headers and content-length bytes), or after `waitMs`. */
async function firstResponse(s: RawSocket, waitMs = 15_000): Promise<Buffer> {
  for (let waited = 0; waited < waitMs; waited += 25) {
    const raw = s.received();
    const length = /\r\ncontent-length: (\d+)\r\n/i.exec(raw.toString('latin1'));
    if (length && Buffer.byteLength(afterHeaders(raw), 'latin1') >= Number(length[1])) return raw;
    if (s.isClosed()) break;
    await sleep(25);
  }
  return s.received();
}

t.test('stalled requests are closed at their deadline; PING answers meanwhile', async (t) => {
  // connection_timeout 0: only the header and whole-request deadlines are at work here.
  const d = await startDaemon({ config: { request_timeout: '2', headers_timeout: '1', connection_timeout: '0' } });
  t.teardown(() => d.close());

  // 50 connections send their headers and 64 KiB of a 1 MiB body, 5 more half their headers; then all stall.
  const bodies = await openSockets(d.port, 50);
  for (const s of bodies) s.socket.write(partialPost('/v2/cce', 1024 * 1024, `{"cmd":"PING","pad":"${'x'.repeat(64 * 1024)}`));
  const heads = await openSockets(d.port, 5);
  for (const s of heads) s.socket.write('POST /v2/cce HTTP/1.1\r\nhost: localhost\r\ncontent-ty');

  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG, 'PING answers while 55 requests stall');
  await Promise.all([...bodies, ...heads].map((s) => s.closed()));
  t.same(bodies.map((s) => statusOf(s.received())), bodies.map(() => 408), 'each stalled body: 408, then closed');
  t.same(heads.map((s) => statusOf(s.received())), heads.map(() => 408), 'each stalled header block: 408, then closed');
  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG, 'and the daemon answers after');
});

t.test('a connection idle for connection_timeout is closed', async (t) => {
  const d = await startDaemon({ config: { connection_timeout: '1' } });
  t.teardown(() => d.close());
  const idle = await openSockets(d.port, 3);
  await Promise.all(idle.map((s) => s.closed()));
  t.same(idle.map((s) => s.received().length), [0, 0, 0], 'closed without a word');
  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG);
});

t.test('connection_timeout does not cut a request the daemon is still working on', async (t) => {
  const d = await startDaemon({ config: { connection_timeout: '1' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  t.equal((await admin.cmd('BEGIN')).status, 200);
  // 40 argon2 hashes at COMMIT: the reply is written only when all are done; nothing crosses the wire meanwhile.
  for (let i = 0; i < 40; i++) await admin.cmd(`CREATE User name="idle${i}" password="idle-password-${i}"`);
  const started = Date.now();
  const commit = await admin.cmd('COMMIT');
  t.comment(`COMMIT took ${Date.now() - started} ms with connection_timeout = 1 s`);
  t.equal(commit.status, 200);
  t.equal(commit.body.data.results.length, 40);
});

t.test('connections beyond max_connections_per_ip are closed at once; other addresses are served', async (t) => {
  const d = await startDaemon({ config: { max_connections_per_ip: '5', api_access: '127.0.0.2' } });
  t.teardown(() => d.close());
  const held = await openSockets(d.port, 5);
  const excess = await openSockets(d.port, 3);
  await Promise.all(excess.map((s) => s.closed()));
  t.same(excess.map((s) => s.received().length), [0, 0, 0], 'the three beyond the cap: closed, nothing read or written');
  t.notOk(held.some((s) => s.isClosed()), 'the five within it stay open');
  t.same((await http(`${d.url}/v2/cce`, PING, { localAddress: '127.0.0.2' })).body, PONG, 'another address is served');
  t.ok(d.logs.filter((l) => l.includes('too many connections from one address')).length === 1, 'one log line for the episode');

  for (const s of held) s.socket.destroy();
  await Promise.all(held.map((s) => s.closed()));
  // The server sees the five close a moment after the client does: a bounded number of tries.
  let pong: unknown;
  for (let i = 0; i < 40 && pong === undefined; i++) {
    pong = await http(`${d.url}/v2/cce`, PING).then((r) => r.body, () => sleep(50).then(() => undefined));
  }
  t.same(pong, PONG, 'once they close, the address is served again');
});

t.test('trusted proxies are not capped per address (their clients share it)', async (t) => {
  const d = await startDaemon({ config: { max_connections_per_ip: '2', trusted_proxies: '127.0.0.1' } });
  t.teardown(() => d.close());
  const held = await openSockets(d.port, 4);
  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG);
  t.notOk(held.some((s) => s.isClosed()), 'four connections from the proxy, all open');
  for (const s of held) s.socket.destroy();
});

t.test('connections beyond max_connections in all are closed at once', async (t) => {
  const d = await startDaemon({ config: { max_connections: '4', api_access: '127.0.0.2' } });
  t.teardown(() => d.close());
  const held = await openSockets(d.port, 4);
  const excess = await openSocket(d.port, '127.0.0.2');
  await excess.closed();
  t.equal(excess.received().length, 0, 'the fifth, from another address: closed at once');
  t.notOk(held.some((s) => s.isClosed()));
  for (const s of held) s.socket.destroy();
});

t.test('bodies before authentication', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());

  t.test('a public route takes max_preauth_body_bytes at most', async (t) => {
    const big = JSON.stringify({ username: 'admin', password: 'x'.repeat(20 * 1024) });
    const r = await http(`${d.url}/api/auth/login`, big);
    t.equal(r.status, 413);
    const small = await http(`${d.url}/api/auth/login`, { username: 'admin', password: 'wrong-password' });
    t.equal(small.status, 401, 'a login of ordinary size is read and judged');
  });

  t.test('a route with header credentials refuses a caller without them before its body arrives', async (t) => {
    const s = await openSocket(d.port);
    // 1 MiB announced, 16 bytes sent, never the rest: the answer cannot wait for the body.
    s.socket.write(partialPost('/api/device-types', 1024 * 1024, '{"name":"stalled'));
    const raw = await firstResponse(s);
    t.equal(statusOf(raw), 401);
    t.match(raw.toString('latin1'), /\r\nconnection: close\r\n/i, 'the reply says the connection ends');
    // Closed by the server: the rest of the body is never read (a flood of refused bodies costs no reading).
    await s.closed();
    t.ok(s.isClosed(), 'and the daemon closes it');
  });

  t.test('/v2/cce keeps max_body_bytes: its credentials are inside the body', async (t) => {
    const r = await http(`${d.url}/v2/cce`, { cmd: 'PING', pad: 'x'.repeat(64 * 1024) });
    t.same(r.body, PONG);
  });
});

t.test('/v2/cce: large bodies in flight per address are bounded; small ones always pass', async (t) => {
  const d = await startDaemon({ config: { max_body_bytes: '150000', max_body_bytes_in_flight: '200000', api_access: '127.0.0.2' } });
  t.teardown(() => d.close());
  const declared = 150_000;
  // 140,000 bytes of a 150,000-byte body, then a stall: 140,000 - 16,384 free = 123,616 counted.
  const first = await openSocket(d.port);
  first.socket.write(partialPost('/v2/cce', declared, `{"cmd":"PING","pad":"${'x'.repeat(140_000)}`));
  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG, 'a small body passes beside it');

  // A second large body from the same address would take 83,616 more: over 200,000, refused at once.
  const second = await openSocket(d.port);
  second.socket.write(partialPost('/v2/cce', declared, `{"cmd":"PING","pad":"${'x'.repeat(100_000)}`));
  const refused = await firstResponse(second);
  t.equal(statusOf(refused), 429);
  t.same(JSON.parse(afterHeaders(refused)), {
    error: 'Too Many Requests',
    statusCode: 429,
    code: 'CCED_BODIES_IN_FLIGHT',
    message: 'too many large request bodies in flight from this address (max_body_bytes_in_flight = 200000); retry when they are answered',
  });
  second.socket.destroy();
  t.same((await http(`${d.url}/v2/cce`, PING)).body, PONG, 'small bodies still pass');

  const whole = { cmd: 'PING', pad: 'y'.repeat(declared - 40) };
  t.same((await http(`${d.url}/v2/cce`, whole, { localAddress: '127.0.0.2' })).body, PONG, 'another address has its own budget');

  // Once the stalled body's connection is gone its bytes are released.
  first.socket.destroy();
  await first.closed();
  let body: unknown;
  for (let i = 0; i < 40 && body === undefined; i++) {
    const r = await http(`${d.url}/v2/cce`, whole);
    if (r.status === 429) await sleep(50);
    else body = r.body;
  }
  t.same(body, PONG, 'a whole large body passes again');
});

t.test('431 for oversized headers: a HEAD gets no body, a GET its JSON', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const big = `x-big: ${'a'.repeat(20_000)}\r\n`;
  const head = await openSocket(d.port);
  head.socket.write(`HEAD /v2/cce HTTP/1.1\r\nhost: localhost\r\n${big}\r\n`);
  await head.closed();
  t.equal(statusOf(head.received()), 431);
  t.equal(afterHeaders(head.received()), '', 'no body after the HEAD reply');
  t.match(head.received().toString('latin1'), /\r\ncontent-length: 0\r\n/i);

  const get = await openSocket(d.port);
  get.socket.write(`GET /v2/cce HTTP/1.1\r\nhost: localhost\r\n${big}\r\n`);
  await get.closed();
  t.equal(statusOf(get.received()), 431);
  t.same(JSON.parse(afterHeaders(get.received())), { error: 'Request Header Fields Too Large', message: 'Exceeded maximum allowed HTTP header size', statusCode: 431 });

  const garbage = await openSocket(d.port);
  garbage.socket.write('\x01\x02 not http\r\n\r\n');
  await garbage.closed();
  t.equal(statusOf(garbage.received()), 400);
  t.equal(afterHeaders(garbage.received()), '', 'no method to be read: no body either');
});

t.test('the "origin not allowed" line names the path without its query string', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const r = await http(`${d.url}/v2/cce?token=query-secret-1234&x=1`, PING, { localAddress: '127.0.0.9' });
  t.equal(r.status, 403);
  const lines = d.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; url?: string });
  t.same(lines.filter((l) => l.msg === 'origin not allowed').map((l) => l.url), ['/v2/cce']);
  t.notOk(d.logs.some((l) => l.includes('query-secret-1234')), 'the query string is in no line');
});

t.test('start-up stops on limits that contradict each other', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-limits-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const r = await runTs('src/main.ts', [], {
    env: { CCED_STATE_DIR: stateDir, CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_HEADERS_TIMEOUT: '30', CCED_REQUEST_TIMEOUT: '10' },
  });
  t.equal(r.code, 2);
  t.equal(r.stderr, 'cced: config: headers_timeout (30) may not exceed request_timeout (10)\n');
  const budget = await runTs('src/main.ts', [], {
    env: { CCED_STATE_DIR: stateDir, CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_MAX_BODY_BYTES: '2000000', CCED_MAX_BODY_BYTES_IN_FLIGHT: '1000000' },
  });
  t.equal(budget.code, 2);
  t.equal(budget.stderr, 'cced: config: max_body_bytes_in_flight (1000000) may not be less than max_body_bytes (2000000)\n');
});
