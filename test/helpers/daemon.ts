/**
 * Test harness: a real daemon on an ephemeral loopback port with its own state
 * dir, its log lines captured, and a tiny client for POST /v2/cce.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolveConfig } from '../../src/config/load.js';
import { daemonDatabase } from './postgres.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createApp, type App } from '../../src/app.js';
import { replyViolations } from '../../src/api-reference/reply-check.js';

// Every facade reply of every test daemon is checked against its route's declaration (src/api-reference/reply-check.ts).
process.env.CCED_CHECK_REPLIES ??= '1';

export const ADMIN_PASSWORD = 'admin-test-password';

export interface TestDaemon {
  app: App;
  config: Config;
  url: string;
  port: number;
  /** Every log line the daemon wrote, raw. */
  logs: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  config?: ConfigInput;
  env?: NodeJS.ProcessEnv;
  /** Keep an existing state dir (restart tests). */
  stateDir?: string;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Called with the app before it listens (its routes are registered then): e.g. to add an onRoute hook. */
  beforeListen?: (app: App) => void;
}

/** Every log line of every daemon of this test process (the "no secret in any log" checks read it). */
export const ALL_LOGS: string[] = [];

/**
 * With TEST_STORE=postgres (CI's second pass over the HTTP tests, .ci/run) every daemon that names no store
 * of its own runs on PostgreSQL: a new database (schema) per state folder (test/helpers/postgres.ts).
 */
export const onPostgres = process.env.TEST_STORE === 'postgres';

/**
 * The console's environment for the store of `stateDir`: its state folder and, under TEST_STORE=postgres, the
 * database a daemon on that folder uses (the console reads db_url from CCED_DB_URL like the daemon), so `cced`
 * acts on the daemon's store on either backend.
 */
export async function consoleEnv(stateDir: string): Promise<Record<string, string>> {
  return {
    CCED_STATE_DIR: stateDir,
    CCED_DB_SYNCHRONOUS: 'NORMAL',
    ...(onPostgres ? { CCED_DB_URL: await daemonDatabase(stateDir) } : {}),
  };
}

/** How the console names the store of `stateDir` on its info line (src/cli/cced-context.ts storeName). */
export async function consoleStoreName(stateDir: string): Promise<string> {
  if (!onPostgres) return path.join(stateDir, 'cced.db');
  const url = new URL(await daemonDatabase(stateDir));
  return `PostgreSQL ${url.host}${url.pathname}`;
}

export async function startDaemon(opts: StartOptions = {}): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'cced-test-'));
  const ownStore = opts.config?.db_url !== undefined || opts.config?.db_path !== undefined;
  const config = resolveConfig({
    ...(onPostgres && !ownStore ? { db_url: await daemonDatabase(stateDir) } : {}),
    state_dir: stateDir,
    listen_address: `${opts.host ?? '127.0.0.1'}:0`,
    // Tests do not need power-loss durability; the durability test sets FULL itself.
    db_synchronous: 'NORMAL',
    // Many tests fail AUTH on purpose from 127.0.0.1; the ban tests set their own threshold.
    api_auth_fails: '1000',
    ...opts.config,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) { logs.push(line); ALL_LOGS.push(line); }
      done();
    },
  });
  const log = createLogger({ logging: true, debuglog: true }, sink);
  const app = await createApp(config, {
    log,
    env: { CCED_ADMIN_PASSWORD: ADMIN_PASSWORD, ...opts.env },
    tell: (line) => { logs.push(`[tell] ${line}`); },
  });
  opts.beforeListen?.(app);
  try {
    await app.server.listen({ host: config.listen_address.host, port: 0 });
  } catch (err) {
    // A start refused at listen (an onReady hook: a bad SSH host key) closes what createApp opened: on
    // PostgreSQL an open pool would keep the test process from ending.
    await app.close().catch(() => undefined);
    throw err;
  }
  const addr = app.server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const scheme = config.cert_file ? 'https' : 'http';
  const host = config.listen_address.host.includes(':') ? `[${config.listen_address.host}]` : config.listen_address.host;
  return {
    app,
    config,
    port,
    url: `${scheme}://${host}:${port}`,
    logs,
    async close() {
      await app.close();
      if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
      // A reply that broke its declaration fails the test that made it.
      const broken = replyViolations.splice(0);
      if (broken.length > 0) throw new Error(`replies that do not match their declarations:\n${broken.join('\n')}`);
    },
  };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Bind the client socket to this local address (simulates other hosts: 127.0.0.2, ...). */
  localAddress?: string;
  /** For https URLs: the only certificate authority to trust. */
  ca?: Buffer;
  /** A keep-alive agent for bursts of requests. */
  agent?: Agent;
}

/** One HTTP request over a real socket; the body is sent as given (string) or as JSON. */
export function http(url: string, body?: unknown, opts: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: opts.method ?? (data === undefined ? 'GET' : 'POST'),
        headers: { ...(data !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.agent ? { agent: opts.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try { parsed = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** A logged-in client of one daemon. */
export class CceClient {
  sessionid?: string;
  constructor(
    readonly d: TestDaemon,
    readonly user = 'admin',
    readonly opts: RequestOptions = {},
  ) {}

  async login(password = ADMIN_PASSWORD): Promise<this> {
    const r = await this.raw({ cmd: 'AUTH', user: this.user, password });
    if (r.body?.data?.sessionid === undefined) throw new Error(`AUTH failed: ${r.text}`);
    this.sessionid = r.body.data.sessionid;
    return this;
  }

  /** POST /v2/cce with this client's credentials added. */
  cmd(cmd: string | Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<HttpResult> {
    const env = typeof cmd === 'string' ? { cmd } : cmd;
    return this.raw({ user: this.user, sessionid: this.sessionid, ...env, ...extra });
  }

  raw(body: unknown, opts: RequestOptions = {}): Promise<HttpResult> {
    return http(`${this.d.url}/v2/cce`, body, { ...this.opts, ...opts });
  }
}

export async function adminClient(d: TestDaemon): Promise<CceClient> {
  return new CceClient(d).login();
}
