/**
 * Issue 2's performance cases: PING, GET <oid> with a session, SET of one
 * property with a session, and FIND on an indexed property over 100,000
 * objects, each against the daemon with its default (durable) settings:
 * db_synchronous=FULL and one JSON log line per request. SET is measured once
 * more with db_synchronous=NORMAL for comparison (no target). FIND `~` with
 * ordinary patterns follows (find-regex.ts).
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import { packageRoot } from '../../src/paths.js';
import { SYSTEM } from '../../src/store/store.js';
import {
  expectStatus,
  seedStore,
  tempStateDir,
  type BenchContext,
  type BenchDaemon,
  type BenchSection,
  type CceBody,
  type Session,
} from './lib.js';
import { measureFindRegex } from './find-regex.js';

/** Objects sharing one `group` value: each FIND answers this many oids. */
const GROUP_SIZE = 10;
/** Distinct request bodies each connection cycles through for SET and FIND. */
const VARIANTS = 100;

const benchSchemaDir = () => path.join(packageRoot(), 'test/bench/schema');

/** BenchItem objects, `group` = g<i mod groups>; returns their oids. */
async function seedItems(ctx: BenchContext, d: BenchDaemon): Promise<number[]> {
  const n = ctx.options.objects;
  const groups = Math.ceil(n / GROUP_SIZE);
  const started = performance.now();
  const oids = await seedStore(d, async (store) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await store.create(SYSTEM, 'BenchItem', { group: `g${i % groups}` }));
    return out;
  });
  const seconds = (performance.now() - started) / 1000;
  ctx.note(`seeded ${n} BenchItem objects (${groups} groups of ${GROUP_SIZE}) through the Store API in one writer transaction: ${seconds.toFixed(1)} s`);
  return oids;
}

const setBodies = (s: Session, oids: number[]): CceBody[] =>
  Array.from({ length: VARIANTS }, (_, i) => ({ cmd: `SET ${oids[i * 7]} note = "bench ${i}"`, user: s.user, sessionid: s.sessionid }));

async function measureSet(ctx: BenchContext, d: BenchDaemon, oids: number[], label: string, target?: number, note?: string): Promise<void> {
  const s = await d.adminSession();
  const bodies = setBodies(s, oids);
  await expectStatus(d, bodies[0]!, 201);
  ctx.report(label, await ctx.measure(d, bodies), target, note);
}

export const core: BenchSection = {
  name: 'core',
  async run(ctx) {
    const stateDir = tempStateDir();
    const extraSchemaDirs = [benchSchemaDir()];
    try {
      let oids: number[];
      const d = await ctx.startDaemon({ stateDir, extraSchemaDirs });
      try {
        oids = await seedItems(ctx, d);
        const s = await d.adminSession();
        const auth = { user: s.user, sessionid: s.sessionid };

        const ping: CceBody = { cmd: 'PING' };
        await expectStatus(d, ping, 202);
        ctx.report('PING', await ctx.measure(d, ping), 0.9);

        const get: CceBody = { cmd: `GET ${s.oid}`, ...auth };
        const got = await expectStatus(d, get, 201);
        const props = Object.keys(got.data?.DATA ?? {}).length;
        ctx.report('GET <oid> (session)', await ctx.measure(d, get), 0.75, `User object, ${props} fields`);

        await measureSet(ctx, d, oids, 'SET 1 prop (session)', 0.5, 'db_synchronous=FULL (default)');

        const groups = Math.ceil(oids.length / GROUP_SIZE);
        const finds: CceBody[] = Array.from({ length: VARIANTS }, (_, i) => ({
          cmd: `FIND BenchItem group = "g${(i * 997) % groups}"`,
          ...auth,
        }));
        const found = await expectStatus(d, finds[0]!, 201);
        const hits = (found.data?.oidlist as unknown[] | undefined)?.length ?? 0;
        if (hits !== GROUP_SIZE) throw new Error(`FIND answered ${hits} oids, expected ${GROUP_SIZE}`);
        ctx.report('FIND indexed', await ctx.measure(d, finds), 0.6, `${hits} hits among ${oids.length} objects`);
        await measureFindRegex(ctx, d, auth, oids.length, GROUP_SIZE);
      } finally {
        await d.close();
      }

      // Same store, restarted with the faster, not power-loss-safe setting: a comparison, not a target.
      const normal = await ctx.startDaemon({ stateDir, extraSchemaDirs, config: { db_synchronous: 'NORMAL' } });
      try {
        await measureSet(ctx, normal, oids, 'SET 1 prop (session)', undefined, 'db_synchronous=NORMAL, for comparison');
      } finally {
        await normal.close();
      }
    } finally {
      if (!ctx.options.keep) rmSync(stateDir, { recursive: true, force: true });
    }
  },
};
