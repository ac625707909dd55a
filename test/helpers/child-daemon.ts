/**
 * A real daemon in its own process (src/main.ts, configured by CCED_*
 * variables), for measurements that must not include the client: its RSS is
 * read from /proc/<pid>/status. process.execArgv carries tap's TypeScript
 * loader in tests; the built bench runs dist/src/main.js with none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, onPostgres } from './daemon.js';
import { daemonDatabase } from './postgres.js';
import { deployedLaunch } from '../bench/scale-node-flags.js';

export interface ChildDaemon {
  url: string;
  pid: number;
  stateDir: string;
  /** Resident set size in bytes (VmRSS). */
  rss(): number;
  /** What the daemon wrote to stdout so far (its log lines; the latest 8 MiB or more of a long run). */
  stdout(): string;
  /** SIGKILL: no shutdown of any kind; the state dir stays for a restart. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** main.ts next to this tree: test/helpers/ -> src/main.(ts|js). */
function mainScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'src', `main${ext}`);
}

const STDOUT_KEEP = 8 << 20;

export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Starts the daemon on an ephemeral loopback port and resolves once it listens (bounded: 90 s, for a loaded CI machine where the TypeScript loader starts slowly).
 * With `stateDir` it runs on that existing state (a restart) and close() leaves it in place.
 * With `deployed` it runs with the node flags and variables of `npm start` (the memory it is deployed with).
 * Under TEST_STORE=postgres a daemon whose `env` names no store runs on that state folder's PostgreSQL
 * database, as startDaemon's do (test/helpers/daemon.ts), so a restart finds the same store.
 */
export async function spawnDaemon(env: Record<string, string> = {}, opts: { stateDir?: string; deployed?: boolean } = {}): Promise<ChildDaemon> {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'cced-child-'));
  const namesStore = 'CCED_DB_URL' in env || 'CCED_DB_PATH' in env;
  const store = onPostgres && !namesStore ? { CCED_DB_URL: await daemonDatabase(stateDir) } : {};
  // Loader flags only (tap's are `--import=...`): `-e code` of a `node -e` caller must not run again.
  const flags = process.execArgv.filter((a) => a.startsWith('--') && !/^--(eval|print)\b/.test(a));
  const launch = opts.deployed ? deployedLaunch() : { env: {}, flags: [] };
  const child: ChildProcess = spawn(process.execPath, [...flags, ...launch.flags, mainScript()], {
    env: {
      PATH: process.env.PATH ?? '',
      ...launch.env,
      CCED_STATE_DIR: stateDir,
      CCED_LISTEN_ADDRESS: '127.0.0.1:0',
      CCED_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CCED_DB_SYNCHRONOUS: 'NORMAL',
      ...store,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => { void close(); reject(new Error(`daemon did not listen within 90 s: ${stderr}`)); }, 90_000);
    child.stderr!.on('data', (c: Buffer) => { stderr += String(c); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`daemon exited (${code}): ${stderr}`)); });
    // All of stdout is kept (and the pipe drained, so the daemon never blocks on it).
    let out = '';
    let listening = false;
    child.stdout!.on('data', (c: Buffer) => {
      out += String(c);
      // A soak writes millions of lines: keep the latest 8-16 MiB, whole lines only.
      if (out.length > STDOUT_KEEP * 2) out = out.slice(out.indexOf('\n', out.length - STDOUT_KEEP) + 1);
      if (listening) return;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      listening = true;
      clearTimeout(timer);
      resolve({ url: m[1]!, pid: child.pid!, stateDir, rss: () => rssOf(child.pid!), stdout: () => out, kill, close });
    });
  });
}
