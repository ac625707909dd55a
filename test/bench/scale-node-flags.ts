/**
 * The node flags and environment the daemon is deployed with, read from `npm
 * start` in package.json (systemd/cced.service repeats them;
 * test/node-flags.test.ts keeps the two equal): the scale bench measures its
 * daemons as they run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

/** `npm start`'s variables set before node (the unit's Environment= lines repeat them) and its node flags. */
export function deployedLaunch(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } };
  const m = /^((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)*) dist\/src\/main\.js$/.exec(pkg.scripts.start);
  if (!m) throw new Error(`package.json start is not "[VAR=value ...] node [--flags] dist/src/main.js": ${pkg.scripts.start}`);
  const words = (s: string) => s.trim().split(' ').filter((w) => w !== '');
  return { env: Object.fromEntries(words(m[1]!).map((w) => w.split('=') as [string, string])), flags: words(m[2]!) };
}
