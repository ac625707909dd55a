/**
 * The daemon as an operator runs it: src/main.ts in its own process with exactly the arguments and
 * CCED_* variables given (none of the test machine's), resolved once it listens on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { runTs, type RunResult } from './spawn.js';

export interface MainProcess {
  url: string;
  child: ChildProcess;
  /** Its stdout (log lines) so far. */
  stdout(): string;
  stderr(): string;
  /** Sends the signal (unless it has exited) and resolves with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once it has exited, sending nothing. */
  exited(): Promise<number | null>;
}

/** The environment of this process without any CCED_ variable. */
export const withoutCced = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CCED_')));

export function startMain(args: string[], env: Record<string, string>): Promise<MainProcess> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(packageRoot(), 'src', 'main.ts'), ...args], {
    env: { ...withoutCced(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  child.stderr!.on('data', (c: Buffer) => (err += String(c)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop('SIGKILL'); reject(new Error(`daemon did not listen within 90 s: ${err}`)); }, 90_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`daemon exited (${code}): ${err}`)); });
    let listening = false;
    child.stdout!.on('data', (c: Buffer) => {
      out += String(c);
      const m = listening ? null : /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      listening = true;
      clearTimeout(timer);
      resolve({ url: m[1]!, child, stdout: () => out, stderr: () => err, stop, exited: () => exited });
    });
  });
}

/** The cced executable, with only the CCED_* variables given; resolves when it exits. */
export const runCced = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), ...env } });

/** The daemon run to its exit (a configuration it refuses), with only the CCED_* variables given. */
export const runDaemonToExit = (env: Record<string, string>, args: string[] = []): Promise<RunResult> =>
  runTs('src/main.ts', args, { env: { ...withoutCced(), ...env } });
