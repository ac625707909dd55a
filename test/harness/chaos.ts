/**
 * `npm run chaos [-- --rounds 20]`: kill -9 loops over every write path
 * (test/harness/chaos-run.ts). Prints figures; exits 1 on any lost
 * acknowledged write, partial commit or failed integrity check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runChaos } from './chaos-run.js';
import { numberArgs } from './args.js';

const args = numberArgs(process.argv.slice(2), { rounds: 20, 'min-kill-ms': 300, 'max-kill-ms': 3000 });
const stateDir = mkdtempSync(path.join(tmpdir(), 'cced-chaos-'));
console.log(`chaos: ${args.rounds} rounds, SIGKILL ${args['min-kill-ms']}-${args['max-kill-ms']} ms after the writers start, state in ${stateDir}`);
const stats = await runChaos({
  stateDir,
  rounds: args.rounds,
  killAfterMs: [args['min-kill-ms'], args['max-kill-ms']],
  progress: (round, s) => console.log(`  round ${round}: killed after ${s.killedAfterMs.at(-1)} ms, restart ${s.restartMs.at(-1)} ms, problems so far ${s.problems.length + s.integrity.length}`),
});
rmSync(stateDir, { recursive: true, force: true });
for (const p of [...stats.integrity, ...stats.problems]) console.log(`  ${p}`);
console.log(`rounds ${stats.rounds}; acknowledged writes ${JSON.stringify(stats.acked)}`);
console.log(`lost or partial: ${stats.problems.length}; integrity_check failures: ${stats.integrity.length}`);
process.exit(stats.problems.length + stats.integrity.length > 0 ? 1 : 0);
