/** The console (`node dist/src/cli/cced-bin.js`) on a state dir, as an operator runs it: its time and peak RSS. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/paths.js';

export interface ConsoleRun {
  ms: number;
  peakMiB: number;
  stdout: string;
}

/** Runs `cced ARGS` on `stateDir` (no CCED_ variable of the caller's); rejects unless it exits 0. */
export function runConsole(stateDir: string, args: string[]): Promise<ConsoleRun> {
  const root = packageRoot();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CCED_')));
  const maxRss = pathToFileURL(path.join(root, 'dist/test/bench/max-rss.js')).href;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', maxRss, path.join(root, 'dist/src/cli/cced-bin.js'), ...args], {
    env: { ...env, CCED_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  // Only the last lines are kept: a progress line every 10,000 objects adds up at a million.
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4096)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const kib = /max-rss-kib (\d+)\n$/.exec(stderr);
      if (code !== 0 || kib === null) reject(new Error(`cced ${args[0]} exited ${code}: ${stderr.slice(-1000)}`));
      else resolve({ ms: performance.now() - t0, peakMiB: Number(kib[1]) / 1024, stdout });
    });
  });
}
