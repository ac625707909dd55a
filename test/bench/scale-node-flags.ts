/**
 * The node flags the daemon is deployed with, read from `npm start` in
 * package.json (systemd/cced.service repeats them; test/node-flags.test.ts
 * keeps the two equal): the scale bench measures its daemons as they run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

export function deployedNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } };
  const m = /^node((?: --[\w-]+(?:=\S+)?)*) dist\/src\/main\.js$/.exec(pkg.scripts.start);
  if (!m) throw new Error(`package.json start is not "node [--flags] dist/src/main.js": ${pkg.scripts.start}`);
  return m[1]!.trim().split(' ').filter((f) => f !== '');
}
