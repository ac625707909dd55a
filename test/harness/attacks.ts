/**
 * The resource attacks of the "hold under attack" issue, each bounded in time
 * and run against a daemon on loopback: slow bodies that never finish, BEGIN
 * queues of big writes that cannot succeed, and LOGIN tokens as fast as one
 * whitelisted client can ask. Each returns what it achieved (figures); the
 * memory ceiling run (soak.ts) watches the daemon's RSS meanwhile.
 */
import { connect, type Socket } from 'node:net';
import { HarnessClient } from './http-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` connections that each announce a 1 MiB body, send 90% of it, and stall until `untilMs`. */
export async function slowBodies(url: string, count: number, untilMs: number): Promise<{ opened: number; closedByServer: number }> {
  const u = new URL(url);
  const total = 1 << 20;
  const chunk = Buffer.alloc(64 << 10, 0x61);
  let closedByServer = 0;
  const sockets: Socket[] = [];
  for (let i = 0; i < count && Date.now() < untilMs; i++) {
    const s = connect(Number(u.port), u.hostname);
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('close', () => { if (Date.now() < untilMs) closedByServer++; });
    s.write(`POST /v2/cce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n{"cmd":"PING","x":"`);
    for (let sent = 0; sent < total * 0.9; sent += chunk.length) s.write(chunk);
    if (i % 20 === 19) await sleep(10);
  }
  const opened = sockets.length;
  await sleep(Math.max(0, untilMs - Date.now()));
  for (const s of sockets) s.destroy();
  return { opened, closedByServer };
}

/** Sessions of a non-admin that BEGIN and queue ~1 MiB SETs with made-up names on another user's object. */
export async function bigQueues(
  url: string,
  creds: { user: string; sessionid: string }[],
  victimOid: string,
  untilMs: number,
): Promise<{ queued: number; refused: number; failed: number }> {
  const c = new HarnessClient(url, 30_000, creds.length);
  // ~1 MB per SET: an envelope field holds at most 64 KiB, so 15 array elements of 65,000 characters
  // (just under the default body limit, max_body_bytes = 1 MiB, with the envelope around them).
  const big = Array.from({ length: 15 }, () => 'q'.repeat(65_000));
  const out = { queued: 0, refused: 0, failed: 0 };
  await Promise.all(creds.map(async (cred) => {
    await c.cce({ cmd: 'BEGIN', ...cred });
    for (let n = 0; Date.now() < untilMs; n++) {
      const r = await c.cce({ cmd: 'SET', oid: victimOid, args: { [`madeup${n}`]: big }, ...cred });
      if (r.error) { out.failed++; await sleep(100); } else if (r.json?.status === 100) out.queued++; else out.refused++;
    }
  }));
  c.close();
  return out;
}

/** LOGIN from a whitelisted address (its client secret), `parallel` at a time, until `untilMs`. */
export async function loginFlood(url: string, secret: string, localAddress: string, parallel: number, untilMs: number): Promise<{ issued: number; refused: number; failed: number }> {
  const u = new URL(url);
  const { request, Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: parallel, localAddress } as ConstructorParameters<typeof Agent>[0] & { localAddress: string });
  const out = { issued: 0, refused: 0, failed: 0 };
  const body = '{"cmd":"LOGIN"}';
  const once = () => new Promise<void>((resolve) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/v2/cce', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-client-secret': secret } }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) out.issued++; else out.refused++; resolve(); });
    });
    req.on('error', () => { out.failed++; resolve(); });
    req.end(body);
  });
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (Date.now() < untilMs) await once();
  }));
  agent.destroy();
  return out;
}
