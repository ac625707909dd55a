/**
 * FIND `~` with ordinary patterns, against the core section's BenchItem
 * objects (`group` = g<i mod groups>, GROUP_SIZE objects per group):
 * - over every value: one pattern test per object (the engine's cost per
 *   value, beside SQLite's scan of the class);
 * - beside an indexed `=`: a handful of tests per request (the engine's cost
 *   per request: the compiled pattern looked up, the search's time budget).
 * Ten patterns in turn, as a client would repeat its own few. Run in `core`,
 * and in its own section (`BENCH_ONLY=find-regex`), which then measures PING
 * latency alone and while hostile searches run (measurePingUnderAttack).
 */
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { SYSTEM } from '../../src/store/store.js';
import { cce, expectStatus, seedStore, type BenchContext, type BenchDaemon, type BenchSection, type CceBody } from './lib.js';

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

// ---- the find-regex section: FIND ~ per request, and PING while hostile searches run ----------------

/** Objects sharing one `group` value, as in core.ts. */
const GROUP_SIZE = 10;
/** Objects whose `note` is a long value hostile patterns are slow on (the first ones created). */
const HOSTILE_VALUES = 2000;
/**
 * What an attacker sends: `.*` eight times before a `!` each value ends with
 * (the pattern), and a case-insensitive pattern that defeats re2js's
 * literal and DFA fast paths (~0.5 s per 4,000-character value: every search
 * of it runs into the search's time limit).
 */
const HOSTILE_PATTERNS = ['.*.*.*.*.*.*.*.*!', '(?i)a.{1000}[cd]x'];
/** Objects created per seeding transaction. */
const SEED_CHUNK = 10_000;
/** How long PINGs are sent while the hostile searches run, and how often. */
const ATTACK_MS = 10_000;
const PING_EVERY_MS = 10;

/** A value of `a` and `b` drawn from a fixed seed, ending with `!`. */
function hostileValue(seed: number): string {
  let x = seed;
  let s = '';
  for (let i = 0; i < 3999; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    s += (x >> 16) & 1 ? 'a' : 'b';
  }
  return `${s}!`;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** PINGs one after another, PING_EVERY_MS apart, until `until()`: each one's round trip in ms. */
async function pingLatencies(d: BenchDaemon, until: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!until()) {
    const t0 = performance.now();
    await expectStatus(d, { cmd: 'PING' }, 202);
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, PING_EVERY_MS));
  }
  return out;
}

const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (${s.length} PINGs)`;
};

/**
 * PING latency alone, then while one searcher per hostile pattern sends its
 * FINDX over and over (each waits for its reply before sending the next).
 * Every search must answer its page (201) or the time limit's 403.
 */
async function measurePingUnderAttack(ctx: BenchContext, d: BenchDaemon, auth: { user: string; sessionid: string }): Promise<void> {
  let end = performance.now() + ATTACK_MS / 2;
  ctx.note(`PING alone: ${summary(await pingLatencies(d, () => performance.now() > end))}`);
  end = performance.now() + ATTACK_MS;
  const answers = new Map<string, number>();
  const searcher = async (pattern: string) => {
    while (performance.now() < end) {
      const r = await cce(d, { cmd: 'FINDX', class: 'BenchItem', args: {}, regex_args: { note: pattern }, ...auth });
      const error = (r.data?.errors as { code: number; message: string }[] | undefined)?.[0];
      const what = r.status === 201 ? '201 page' : `${error?.code} ${error?.message}`;
      if (r.status !== 201 && !(error?.code === 403 && error.message.startsWith('BAD PARAMETERS regex search stopped after'))) throw new Error(`hostile FINDX: ${JSON.stringify(r).slice(0, 300)}`);
      answers.set(what, (answers.get(what) ?? 0) + 1);
    }
  };
  const [pings] = await Promise.all([pingLatencies(d, () => performance.now() > end), ...HOSTILE_PATTERNS.map(searcher)]);
  const replies = [...answers].map(([what, n]) => `${n} x ${what}`).join(', ');
  ctx.note(`PING while ${HOSTILE_PATTERNS.length} hostile FINDX searches run (${HOSTILE_PATTERNS.join(' and ')}, over ${HOSTILE_VALUES} values of 4,000 characters among the class): ${summary(pings)}; their replies: ${replies}`);
}

export const findRegex: BenchSection = {
  name: 'find-regex',
  async run(ctx) {
    const d = await ctx.startDaemon({ extraSchemaDirs: [path.join(packageRoot(), 'test/bench/schema')] });
    try {
      const n = ctx.options.objects;
      const groups = Math.ceil(n / GROUP_SIZE);
      // In transactions of SEED_CHUNK objects: the daemon's own writes wait at most busy_timeout (5 s) for one.
      for (let from = 0; from < n; from += SEED_CHUNK) {
        await seedStore(d, async (store) => {
          for (let i = from; i < Math.min(n, from + SEED_CHUNK); i++) {
            await store.create(SYSTEM, 'BenchItem', { group: `g${i % groups}`, ...(i < HOSTILE_VALUES ? { note: hostileValue(i + 1) } : {}) });
          }
        });
      }
      const s = await d.adminSession();
      const auth = { user: s.user, sessionid: s.sessionid };
      await measureFindRegex(ctx, d, auth, n, GROUP_SIZE);
      await measurePingUnderAttack(ctx, d, auth);
    } finally {
      await d.close();
    }
  },
};
