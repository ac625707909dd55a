/**
 * FIND `~` with ordinary patterns, against the core section's BenchItem
 * objects (`group` = g<i mod groups>, GROUP_SIZE objects per group):
 * - over every value: one pattern test per object (the engine's cost per
 *   value, beside SQLite's scan of the class);
 * - beside an indexed `=`: a handful of tests per request (the engine's cost
 *   per request: the compiled pattern looked up, the search's time budget).
 * Ten patterns in turn, as a client would repeat its own few.
 */
import { expectStatus, type BenchContext, type BenchDaemon, type CceBody } from './lib.js';

const PATTERNS = 10;

export async function measureFindRegex(ctx: BenchContext, d: BenchDaemon, auth: { user: string; sessionid: string }, objects: number, groupSize: number): Promise<void> {
  const groups = Math.ceil(objects / groupSize);
  // `^g12(3|4)$`-like: a few groups each.
  const patterns = Array.from({ length: PATTERNS }, (_, i) => `^g${1 + ((i * 131) % 999)}(3|4)$`);
  const scans: CceBody[] = patterns.map((p) => ({ cmd: `FIND BenchItem group ~ "${p}"`, ...auth }));
  const scanned = await expectStatus(d, scans[0]!, 201);
  const scanHits = (scanned.data?.oidlist as unknown[] | undefined)?.length ?? 0;
  const first = new RegExp(patterns[0]!);
  const expected = Array.from({ length: objects }, (_, i) => `g${i % groups}`).filter((g) => first.test(g)).length;
  if (scanHits !== expected) throw new Error(`FIND ~ answered ${scanHits} oids, expected ${expected}`);
  // One connection: each request scans the whole class (~0.1 s), and ten queued behind each other time out.
  const scan = await ctx.measure(d, scans, { connections: 1 });
  ctx.report('FIND ~ (every value)', scan, undefined, `one pattern test per object: ${scanHits} hits among ${objects}; 1 connection`);

  const narrowed: CceBody[] = Array.from({ length: 100 }, (_, i) => ({
    cmd: `FIND BenchItem group = "g${(i * 997) % groups}" group ~ "^g[0-9]+${i % PATTERNS}?$"`,
    ...auth,
  }));
  const found = await expectStatus(d, narrowed[0]!, 201);
  const hits = (found.data?.oidlist as unknown[] | undefined)?.length ?? 0;
  if (hits !== groupSize) throw new Error(`FIND = and ~ answered ${hits} oids, expected ${groupSize}`);
  ctx.report('FIND = and ~', await ctx.measure(d, narrowed), undefined, `${hits} pattern tests per request`);
}
