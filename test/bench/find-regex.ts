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

/** The hits of a FIND over all its pages, following each cut reply's cursor. */
async function everyPage(d: BenchDaemon, body: CceBody): Promise<{ hits: number; pages: number }> {
  let hits = 0;
  let pages = 0;
  for (let after: string | undefined; ; ) {
    const r = await expectStatus(d, after === undefined ? body : { ...body, after }, 201);
    hits += (r.data?.oidlist as unknown[] | undefined)?.length ?? 0;
    pages++;
    after = r.data?.next as string | undefined;
    if (after === undefined) return { hits, pages };
  }
}

export async function measureFindRegex(ctx: BenchContext, d: BenchDaemon, auth: { user: string; sessionid: string }, objects: number, groupSize: number): Promise<void> {
  const groups = Math.ceil(objects / groupSize);
  // `^g12(3|4)$`-like: a few groups each.
  const patterns = Array.from({ length: PATTERNS }, (_, i) => `^g${1 + ((i * 131) % 999)}(3|4)$`);
  const scans: CceBody[] = patterns.map((p) => ({ cmd: `FIND BenchItem group ~ "${p}"`, ...auth }));
  // A request examines at most max_scan_rows objects: a larger class is read in pages (the reply's `next`).
  const { hits: scanHits, pages } = await everyPage(d, scans[0]!);
  const first = new RegExp(patterns[0]!);
  const expected = Array.from({ length: objects }, (_, i) => `g${i % groups}`).filter((g) => first.test(g)).length;
  if (scanHits !== expected) throw new Error(`FIND ~ answered ${scanHits} oids in ${pages} pages, expected ${expected}`);
  // One connection: each request scans a whole page of the class (~0.1 s), and ten queued behind each other time out.
  const scan = await ctx.measure(d, scans, { connections: 1 });
  const scope = pages === 1 ? `${objects} objects` : `the first of ${pages} pages of ${objects} objects (max_scan_rows)`;
  ctx.report('FIND ~ (every value)', scan, undefined, `one pattern test per object examined: ${scope}, ${scanHits} hits in all; 1 connection`);

  const narrowed: CceBody[] = Array.from({ length: 100 }, (_, i) => ({
    cmd: `FIND BenchItem group = "g${(i * 997) % groups}" group ~ "^g[0-9]+${i % PATTERNS}?$"`,
    ...auth,
  }));
  const found = await expectStatus(d, narrowed[0]!, 201);
  const hits = (found.data?.oidlist as unknown[] | undefined)?.length ?? 0;
  if (hits !== groupSize) throw new Error(`FIND = and ~ answered ${hits} oids, expected ${groupSize}`);
  ctx.report('FIND = and ~', await ctx.measure(d, narrowed), undefined, `${hits} pattern tests per request`);
}
