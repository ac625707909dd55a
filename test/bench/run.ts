/**
 * `npm run bench`: measures the bare fastify baseline, runs every section of
 * sections.ts against real daemons, each case between two half-length runs of
 * the baseline (the machine is shared: the ratio should compare runs made
 * under the same load), and prints one table with each case as a ratio of
 * the baseline's req/s next to its target. Benchmarks report: a missed target
 * never fails the run; only a crash does.
 *
 * Environment: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS
 * (10), BENCH_PIPELINING (1), BENCH_OBJECTS (100000), BENCH_ONLY (section
 * names, comma-separated), BENCH_DAEMON_FLAGS (node flags for the daemon, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_KEEP=1 (keep state dirs and logs).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { SECTIONS } from './sections.js';
import { BARE_BODY, formatTable, load, loadPaired, optionsFromEnv, startBare, startDaemon, type BenchContext, type Row, type Target } from './lib.js';

async function main(): Promise<number> {
  const bare = await startBare();
  try {
    return await runAll(bare);
  } finally {
    await bare.close();
  }
}

async function runAll(bare: Target): Promise<number> {
  const options = optionsFromEnv(process.env);
  const sections = options.only.length ? SECTIONS.filter((s) => options.only.includes(s.name)) : SECTIONS;
  const unknown = options.only.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`BENCH_ONLY: no section ${unknown.join(', ')} (have ${SECTIONS.map((s) => s.name).join(', ')})`);
  const started = performance.now();
  const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

  progress(`bare fastify handler, ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s`);
  const baseline = await load(bare, BARE_BODY, options);
  const rows: Row[] = [{ section: 'baseline', name: 'bare fastify handler', result: baseline }];
  const notes: string[] = [];
  let failed = false;

  for (const section of sections) {
    const ctx: BenchContext = {
      options,
      baseline,
      measure: (target, body, overrides) => loadPaired(bare, target, body, { ...options, ...overrides }),
      report(name, result, target, note) {
        progress(`${section.name} / ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms`);
        rows.push({ section: section.name, name, result, ...(target !== undefined ? { target } : {}), ...(note ? { note } : {}) });
      },
      note: (text) => notes.push(`${section.name}: ${text}`),
      startDaemon: (opts = {}) => startDaemon({ nodeFlags: options.daemonFlags, keep: options.keep, ...opts }),
    };
    progress(`section ${section.name}`);
    try {
      await section.run(ctx);
    } catch (err) {
      failed = true;
      notes.push(`${section.name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
      progress(`section ${section.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }


  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const out = [
    '',
    `cced bench: ${availableParallelism()} cores (${cpu}), node ${process.version}`,
    `autocannon: ${options.connections} connections, pipelining ${options.pipelining}, ${options.warmup} s warm-up + ${options.duration} s per case;` +
      ' the load generator runs in this process, each server in its own child process.',
    'Daemon: node dist/src/main.js with its default config: db_synchronous=FULL (durable: each acknowledged write',
    'survives power loss; group commit shares one fsync among concurrent writes), logging on (one JSON line per request, to a file).',
    'ratio = req/s / bare req/s, where bare req/s is the bare handler measured right before and after the case',
    '(half the duration each), so both ran under the same machine load. Targets are reported, never enforced.',
    '',
    formatTable(rows, baseline),
    '',
    ...notes.map((n) => `- ${n}`),
    `- srv CPU: the server process's CPU during the measured seconds (100% = one core); µs/req: server CPU time per request;`,
    `  gen CPU: the load generator's. srv CPU well under 100% means the server was starved (a busy machine) or waiting (fsync).`,
    `- load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- total time ${((performance.now() - started) / 1000).toFixed(0)} s`,
    '',
  ];
  process.stdout.write(out.join('\n'));
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
