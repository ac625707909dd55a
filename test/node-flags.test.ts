/** The daemon's node flags and allocator setting: the same in `npm start` and the systemd unit, and accepted by this node. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deployedLaunch } from './bench/scale-node-flags.js';

const repo = path.resolve(import.meta.dirname, '..');

t.test('npm start and cced.service start node with the same flags, which this node accepts', async (t) => {
  const { flags } = deployedLaunch();
  t.strictSame(flags, ['--heap-growing-percent=20', '--max-semi-space-size=16']);
  const unit = readFileSync(path.join(repo, 'systemd', 'cced.service'), 'utf8');
  const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!;
  t.equal(execStart, `/usr/bin/node ${flags.join(' ')} /usr/lib/cced/dist/src/main.js --config /etc/cced/cced.conf`);
  // node refuses a flag it does not know ("bad option") before running anything.
  t.equal(execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write("started")'], { encoding: 'utf8' }), 'started');
});

t.test('npm start and cced.service set the same allocator variables before node', async (t) => {
  const { env } = deployedLaunch();
  t.strictSame(env, { MALLOC_ARENA_MAX: '2' });
  const unit = readFileSync(path.join(repo, 'systemd', 'cced.service'), 'utf8');
  for (const [k, v] of Object.entries(env)) t.match(unit, new RegExp(`^Environment=${k}=${v}$`, 'm'), `the unit sets ${k}=${v}`);
});
