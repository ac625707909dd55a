/**
 * A reply sent before its request's body was read whole closes the connection
 * (src/http/unread-body.ts) in two steps (src/http/lingering-close.ts): the
 * client gets the whole reply and a FIN even when it sends the rest of its body
 * after the reply and reads only then, over HTTP and HTTPS (a self-signed
 * certificate made with the openssl CLI). Before, the daemon closed the socket
 * under the late body and the kernel's reset took the unread reply with it.
 * The lingering read is bounded in bytes and time. Each wait is a ceiling.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon } from './helpers/daemon.js';
import { LINGER_BYTES } from '../src/http/lingering-close.js';

interface Client {
  socket: Socket;
  /** Everything received, the socket's error code if any, and whether the server's FIN came before its close. */
  done: Promise<{ raw: string; error?: string; fin: boolean }>;
}

/** A connection (TLS with `tls`) that does not read until `resume()`: what the daemon sends waits meanwhile. */
async function pausedClient(port: number, tls = false): Promise<Client> {
  const socket = tls ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once(tls ? 'secureConnect' : 'connect', resolve));
  socket.pause();
  const chunks: Buffer[] = [];
  let error: string | undefined;
  let fin = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code; });
  socket.on('end', () => { fin = true; });
  const done = new Promise<{ raw: string; error?: string; fin: boolean }>((resolve) =>
    socket.once('close', () => resolve({ raw: Buffer.concat(chunks).toString('latin1'), error, fin })),
  );
  return { socket, done };
}

function head(method: string, path: string, length: number, extra = ''): string {
  return `${method} ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;
}

function parse(raw: string): { status: number; declared: number; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  return {
    status: Number(raw.slice(9, 12)),
    declared: Number(/\r\ncontent-length: (\d+)/i.exec(raw)?.[1]),
    body: end < 0 ? '' : raw.slice(end + 4),
  };
}

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI (as test/tls does). */
function selfSigned(): { cert_file: string; key_file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-linger-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = { cert_file: path.join(dir, 'cert.pem'), key_file: path.join(dir, 'key.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key_file,
    '-out', files.cert_file, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  return files;
}

for (const tls of [false, true]) {
  t.test(`${tls ? 'HTTPS' : 'HTTP'}: a route that ignores the body: the client sends it after the reply, then reads all of it`, async (t) => {
    const d = await startDaemon(tls ? { config: selfSigned() } : {});
    t.teardown(() => d.close());
    const c0 = await pausedClient(d.port, tls);
    c0.socket.write('GET /api/openapi.json HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    c0.socket.resume();
    const whole = parse((await c0.done).raw).body;
    t.ok(whole.length > 100_000, 'the document, read alone');
    for (const extra of ['', 'connection: close\r\n']) {
      const c = await pausedClient(d.port, tls);
      c.socket.write(head('GET', '/api/openapi.json', 70_000, extra) + 'x'.repeat(7_000));
      // The reply is written while the client is still sending (the route never reads the body)...
      await sleep(300);
      for (let sent = 7_000; sent < 70_000; sent += 7_000) {
        c.socket.write('x'.repeat(7_000));
        await sleep(5);
      }
      // ...and read only once the whole body has been sent.
      await sleep(300);
      c.socket.resume();
      const { raw, error, fin } = await c.done;
      const r = parse(raw);
      t.equal(r.status, 200, `${extra || 'keep-alive '}: answered`);
      t.equal(r.body.length, r.declared, 'every byte of the reply arrived');
      t.equal(r.body, whole, 'the document itself');
      t.equal(error, undefined, 'no reset');
      t.ok(fin, 'the daemon ended the connection with a FIN');
      t.match(raw, /\r\nconnection: close\r\n/i);
    }
  });
}

t.test('a body refused half-way: the rest is read and thrown away, so the client gets its refusal', async (t) => {
  // A stalled body holds ~880,000 of the address's 1,500,000 bytes in flight, so the next 1 MiB body is
  // refused half-way through its reading (its stream stops there). Two connections per address: those two.
  const d = await startDaemon({ config: { max_body_bytes_in_flight: '1500000', max_connections_per_ip: '2' } });
  t.teardown(() => d.close());
  const stalled = await pausedClient(d.port);
  stalled.socket.write(head('POST', '/v2/cce', 1 << 20) + `{"cmd":"PING","pad":"${'x'.repeat(900_000)}`);
  t.teardown(() => stalled.socket.destroy());
  await sleep(300);
  const c = await pausedClient(d.port);
  const declared = 1 << 20;
  const sent = new Promise<void>((resolve) =>
    c.socket.write(head('POST', '/v2/cce', declared) + `{"cmd":"PING","x":"${'a'.repeat(declared - 21)}"}`, () => resolve()),
  );
  await sent;
  c.socket.resume();
  const { raw, error, fin } = await c.done;
  const r = parse(raw);
  t.equal(r.status, 429);
  t.equal(JSON.parse(r.body).code, 'CCED_BODIES_IN_FLIGHT');
  t.equal(error, undefined, 'no reset');
  t.ok(fin);
  // The client closed after reading: the daemon, still reading, sees it and frees the address's second slot.
  // (A refused body whose stream stopped half-way would stop the socket's reading too, and hold the slot for
  // the whole lingering time.)
  let pong: unknown;
  for (let i = 0; i < 10 && pong === undefined; i++) {
    pong = await fetch(`${d.url}/v2/cce`, { method: 'POST', body: '{"cmd":"PING"}', headers: { 'content-type': 'application/json' } })
      .then((r) => r.json(), () => sleep(50).then(() => undefined));
  }
  t.same(pong, { status: 202, message: 'PONG' }, 'a new connection is served');
});

t.test('the lingering read is bounded', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());

  t.test('in bytes: a client that goes on sending is cut off', async (t) => {
    const c = await pausedClient(d.port);
    c.socket.write(head('POST', '/api/device-types', 100 << 20));
    let written = 0;
    const chunk = Buffer.alloc(64 << 10, 0x61);
    while (!c.socket.destroyed && written < 100 << 20) {
      // Wait for the kernel to take each chunk: what was written is what the daemon could read.
      await new Promise<void>((resolve) => c.socket.write(chunk, () => resolve()));
      written += chunk.length;
      if (c.socket.writableNeedDrain) await Promise.race([new Promise((r) => c.socket.once('drain', r)), sleep(100)]);
    }
    c.socket.resume();
    await c.done;
    t.ok(written < 50 << 20, `closed after ${written} bytes written (LINGER_BYTES = ${LINGER_BYTES})`);
  });

  t.test('in time: a client that reads the reply but neither closes nor finishes its body is closed', async (t) => {
    const c = await pausedClient(d.port);
    // It keeps its side open after the daemon's FIN.
    c.socket.allowHalfOpen = true;
    c.socket.write(head('POST', '/api/device-types', 1000) + '{"name":');
    c.socket.resume();
    await Promise.race([new Promise((resolve) => c.socket.once('end', resolve)), sleep(15_000)]);
    // A byte now and then, well within the declared body: read while the daemon lingers, reset once it closed.
    for (let probes = 0; probes < 75 && !c.socket.destroyed; probes++) {
      c.socket.write('a');
      await sleep(200);
    }
    const { raw, error, fin } = await c.done;
    t.equal(parse(raw).status, 401, 'refused (no credentials) before its body');
    t.ok(fin, 'the FIN came first');
    t.match(error, /^(ECONNRESET|EPIPE)$/, 'then the close, while the client still had the connection open');
  });
});
