/**
 * Benchmarks of the security gate, for `npm run bench` (the runner calls benchGate):
 * - a command (GET 1) authenticated by token + X-Client-Secret from a whitelisted
 *   address, as a ratio of a bare fastify handler (target >= 0.7: a token check is
 *   two SHA-256 digests and a map look-up, no argon2);
 * - AUTH per second, which is argon2id verification with the OWASP parameters
 *   (m = 19456 KiB, t = 2, p = 1): low by design.
 * Figures are printed, never asserted.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pino from 'pino';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { http, ADMIN_PASSWORD } from '../helpers/daemon.js';
import { resolveConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createApp } from '../../src/app.js';
import { parseAccessFile } from '../../src/auth/access-file.js';
import { ARGON2_OPTIONS } from '../../src/auth/passwords.js';

export interface GateBenchContext {
  /** autocannon connections (default 10). */
  connections?: number;
  /** Seconds per measurement (default 5). */
  duration?: number;
  /** req/s of the runner's bare handler; measured here when absent. */
  bareRps?: number;
  /** Where the figures go (default console.log). */
  print?: (line: string) => void;
}

export interface GateBenchResult {
  bareRps: number;
  token: { rps: number; p99Ms: number; ratio: number };
  /** The same GET 1 with a local session, so the token check's own cost shows. */
  session: { rps: number; p99Ms: number; ratio: number };
  auth: { perSecond: number; p99Ms: number; argon2: string };
}

interface Run {
  rps: number;
  p99Ms: number;
}

async function drive(url: string, body: unknown, headers: Record<string, string>, connections: number, duration: number): Promise<Run> {
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench: ${r.non2xx} non-2xx replies and ${r.errors} errors at ${url}`);
  return { rps: r.requests.average, p99Ms: r.latency.p99 };
}

async function bare(connections: number, duration: number): Promise<number> {
  const app = Fastify();
  app.post('/v2/cce', async () => ({ status: 202, message: 'PONG' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return (await drive(`http://127.0.0.1:${port}/v2/cce`, { cmd: 'PING' }, {}, connections, duration)).rps;
  } finally {
    await app.close();
  }
}

/** A daemon as production runs it (info-level logging, to /dev/null here), on an ephemeral port. */
async function daemon(input: ConfigInput) {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-bench-'));
  const config = resolveConfig({ state_dir: stateDir, listen_address: '127.0.0.1:0', ...input });
  const log = pino({ level: 'info' }, pino.destination('/dev/null'));
  const app = await createApp(config, { log, env: { CCED_ADMIN_PASSWORD: ADMIN_PASSWORD }, tell: () => {} });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/v2/cce`,
    secret: (entry: string) => parseAccessFile(readFileSync(path.join(stateDir, 'access'), 'utf8')).get(entry)!,
    async close() {
      await app.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export async function benchGate(ctx: GateBenchContext = {}): Promise<GateBenchResult> {
  const connections = ctx.connections ?? 10;
  const duration = ctx.duration ?? 5;
  const print = ctx.print ?? ((line: string) => console.log(line));
  const bareRps = ctx.bareRps ?? (await bare(connections, duration));

  // 127.0.0.1 is made a whitelisted remote address (local only ::1), so autocannon's requests take the token path.
  const remote = await daemon({ local_addresses: '::1', api_access: '127.0.0.1' });
  let token: Run;
  try {
    const secret = remote.secret('127.0.0.1');
    const login = await http(remote.url, { cmd: 'LOGIN' }, { headers: { 'x-client-secret': secret } });
    token = await drive(remote.url, { cmd: 'GET 1', token: login.body.data.token }, { 'x-client-secret': secret }, connections, duration);
  } finally {
    await remote.close();
  }

  const local = await daemon({});
  let auth: Run;
  let session: Run;
  try {
    const sessionid = (await http(local.url, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD })).body.data.sessionid;
    session = await drive(local.url, { cmd: 'GET 1', user: 'admin', sessionid }, {}, connections, duration);
    // argon2 work runs on libuv's threads (4 by default); more connections only queue.
    auth = await drive(local.url, { cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD }, {}, 4, duration);
  } finally {
    await local.close();
  }

  const argon2 = `argon2id m=${ARGON2_OPTIONS.memoryCost} KiB t=${ARGON2_OPTIONS.timeCost} p=${ARGON2_OPTIONS.parallelism} (OWASP)`;
  const result: GateBenchResult = {
    bareRps,
    token: { ...token, ratio: token.rps / bareRps },
    session: { ...session, ratio: session.rps / bareRps },
    auth: { perSecond: auth.rps, p99Ms: auth.p99Ms, argon2 },
  };
  print(`gate: GET 1 by token + client secret  ${token.rps.toFixed(0)} req/s  p99 ${token.p99Ms} ms  ratio ${result.token.ratio.toFixed(2)} of bare (${bareRps.toFixed(0)} req/s; target >= 0.70)`);
  print(`gate: GET 1 by local session          ${session.rps.toFixed(0)} req/s  p99 ${session.p99Ms} ms  ratio ${result.session.ratio.toFixed(2)} of bare (for comparison)`);
  print(`gate: AUTH                            ${auth.rps.toFixed(1)} req/s  p99 ${auth.p99Ms} ms  (${argon2}: low by design)`);
  return result;
}
