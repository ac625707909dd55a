/**
 * The port's contract for what several nodes on one database share (store-port-contract.test.ts runs it per
 * backend): a commit by another node seen by the next version read, the change log in commit order across
 * nodes, a background job run by one node at a time, `~` with a literal prefix answering exactly what the
 * store's matcher answers, and a store exported and imported with its oids and references.
 */
import type { Test } from 'tap';
import type { AsyncStoreBackend } from '../../src/store/async-port.js';
import type { FindSpec, FindTerm } from '../../src/store/port.js';
import { ClientPatterns } from '../../src/store/safe-regex.js';
import type { PortWorld } from './store-port.js';
import { exportStore, importStore, seedStore } from './transfer.js';

export interface SharedWorld extends PortWorld {
  /**
   * Resolves once a transaction of another backend waits to write the change log while one holds it
   * (PostgreSQL: it waits for the advisory lock; SQLite: the adapter queues it behind the open one, so at once).
   */
  changeLogWaiter(): Promise<void>;
  /** An empty, migrated store of the same backend (another database). */
  fresh(): Promise<AsyncStoreBackend>;
  /** PostgreSQL: the server ends the connections that hold job locks, as if they died. */
  endJobConnections?(): Promise<void>;
}

/** A promise and the function that resolves it. */
function signal(): [Promise<void>, () => void] {
  let fire!: () => void;
  const p = new Promise<void>((resolve) => (fire = resolve));
  return [p, fire];
}

async function thing(b: AsyncStoreBackend, values: Record<string, string>): Promise<number> {
  return b.transaction(async (tx) => {
    const oid = await tx.objects.insertObject('Thing', 1000);
    for (const [k, v] of Object.entries(values)) await tx.objects.putValue(oid, '', k, 'Thing', v);
    return oid;
  });
}

/** Values for the `~` cases: prefixes, cases, punctuation, non-ASCII, a value too long for the index and one too long to search. */
const VALUES = [
  'ab', 'abc', 'abd', 'abcc', 'Abc', 'xabc', 'ac', 'a.c', 'abc.d', 'a+c', 'a\\c', 'b', '', 'éclair', 'écrou', 'e',
  '😀x', '😀', '\u{10FFFF}z', `ab${'x'.repeat(3000)}`, `ab${'y'.repeat(5000)}`, 'ab|x', 'x',
];

/** Patterns whose literal prefix may be used, and patterns whose must not (or which have none). */
const PATTERNS = [
  '^ab', '^abc', '^abc?', '^abc*', '^ab+c', '^abc{0}', '^ab|x', '^(ab|x)', '(?i)^ab', '^(?i)ab', '^a.c', '^a\\.c', '^a\\+c',
  '^a\\\\c', '^a\\x62', '^a[b]c', 'ab', '^', '^é', '^écl', '^😀', '^😀?x', '^\u{10FFFF}', '^ab$', '^abc\\.', '^[ab]|^x', '^ab[|]',
  '^abx{100}', '^aby', 'c$',
];

export function sharedContract(t: Test, world: (t: Test) => Promise<SharedWorld>): void {
  t.test('the external version: another node\'s commit is seen by the next read, its own commits and rollbacks are not news', async (t) => {
    const w = await world(t);
    const a = w.backend;
    const b = await w.another();
    t.teardown(() => b.close());
    const a0 = await a.externalVersion();
    const b0 = await b.externalVersion();
    t.equal(await b.externalVersion(), b0, 'nothing committed: unchanged');
    const oid = await thing(a, { name: 'x' });
    t.equal(await a.externalVersion(), a0, 'its own commit does not move its own version');
    const b1 = await b.externalVersion();
    t.not(b1, b0, 'the other node sees it at its next read');
    t.equal(await b.externalVersion(), b1, 'and only once');
    await a.transaction((tx) => tx.objects.value(oid, '', 'name'));
    await a
      .transaction(async (tx) => {
        await tx.objects.putValue(oid, '', 'name', 'Thing', 'y');
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    t.equal(await b.externalVersion(), b1, 'a read-only transaction and a rolled-back one: nothing to see');
    // B caches the value under its version while A writes: once a write is acknowledged, B never serves an older value.
    let cache: { version: number; value: string | undefined } | undefined;
    const served = async () => {
      const version = await b.externalVersion();
      if (cache?.version !== version) cache = { version, value: await b.objects.value(oid, '', 'name') };
      return cache.value;
    };
    let writing = true;
    const polling = (async () => {
      while (writing) await served();
    })();
    const stale: string[] = [];
    for (let i = 0; i < 30; i++) {
      await a.transaction((tx) => tx.objects.putValue(oid, '', 'name', 'Thing', `v${i}`));
      const value = await served();
      if (value !== `v${i}`) stale.push(`after v${i}: ${value}`);
    }
    writing = false;
    await polling;
    t.same(stale, [], 'a cache keyed on the version serves no value older than an acknowledged write');
    await thing(b, { name: 'from b' });
    t.not(await a.externalVersion(), a0, 'and the other way');
  });

  t.test('the change log in commit order across nodes: a reader following it never passes an id that commits later', async (t) => {
    const w = await world(t);
    const a = w.backend;
    const b = await w.another();
    // The reader is a third node (on SQLite a connection of its own: the writer's would see its open transaction).
    const reader = await w.another();
    t.teardown(() => Promise.all([b.close(), reader.close()]));
    const seen: number[] = [];
    let cursor = 0;
    /** What a reader does: everything up to the committed high-water mark, then on from it. */
    const follow = async () => {
      const to = await reader.changes.sequence();
      for (const r of await reader.changes.after(cursor, to, 100)) seen.push(r.id);
      cursor = to;
    };
    const [firstIn, inserted] = signal();
    const [gate, release] = signal();
    const first: number[] = [];
    const t1 = a.transaction(async (tx) => {
      first.push(await tx.changes.insert(1, 'Thing', 1, '', '["a"]', true, false));
      inserted();
      await gate;
      // Rows after the other node's transaction began to write (a batch of them in one call): still before its.
      const row = { at: 1, className: 'Thing', ns: '', props: '["c"]', created: false, destroyed: false };
      first.push(...(await tx.changes.insertMany([{ ...row, oid: 3 }, { ...row, oid: 4, destroyed: true }])));
    });
    await firstIn;
    const t2 = b.transaction(async (tx) => [await tx.changes.insert(2, 'Thing', 2, '', '["b"]', true, false)]);
    const waited = await w.changeLogWaiter().then(
      () => true,
      (err: Error) => err,
    );
    t.equal(waited, true, 'the other node waits for the change log');
    await follow();
    release();
    t.same(seen, [], 'nothing committed, nothing told');
    await t1;
    await follow();
    const second = await t2;
    await follow();
    t.same(seen, [...first, ...second], 'every row, each once');
    t.same(
      (await reader.changes.after(0, first[2]!, 10)).map((r) => [r.oid, r.destroyed]),
      [
        [1, 0],
        [3, 0],
        [4, 1],
      ],
      'a batch in the order given',
    );
    t.same(await a.transaction((tx) => tx.changes.insertMany([])), [], 'an empty batch');
    t.ok(Math.max(...first) < second[0]!, 'ids in commit order: the transaction that committed first has the lower ids');
    t.equal(await reader.changes.sequence(), second[0], 'the high-water mark is the last committed id');
    t.equal(await a.transaction((tx) => tx.changes.prune(second[0]!)), 4);
    t.equal(await b.changes.sequence(), second[0], 'and outlives the rows');
  });

  t.test('background jobs once across nodes: of two nodes trying at once one runs; the job is free again once it ends', async (t) => {
    const w = await world(t);
    const a = w.backend;
    const b = await w.another();
    t.teardown(() => b.close());
    const [gate, release] = signal();
    let runs = 0;
    const job = (on: AsyncStoreBackend) =>
      on.tryExclusive('sweep', async () => {
        runs++;
        await gate;
        return 'swept';
      });
    const both = [job(a), job(b)];
    t.same(await Promise.race(both), { ran: false }, 'the one that finds it held does not wait');
    t.same(await job(a), { ran: false }, 'not twice on one node either');
    t.same(await b.tryExclusive('another job', () => Promise.resolve(7)), { ran: true, value: 7 }, 'another job runs meanwhile');
    release();
    const results = await Promise.all(both);
    t.same(results.filter((r) => r.ran), [{ ran: true, value: 'swept' }], 'exactly one ran');
    t.equal(runs, 1);
    t.same(await job(b), { ran: true, value: 'swept' }, 'free again');
    const failed = await a.tryExclusive('sweep', () => Promise.reject(new Error('job failed'))).catch((e: Error) => e.message);
    t.equal(failed, 'job failed', "a job's failure goes to its caller");
    t.same(await job(b), { ran: true, value: 'swept' }, 'and frees it');
  });

  t.test('~ with a literal prefix: exactly what the store\'s matcher answers, for patterns whose prefix may and may not be used', async (t) => {
    const w = await world(t);
    const b = w.backend;
    const patterns = new ClientPatterns();
    const test = (p: string, v: string) => patterns.test(p, v);
    b.useMatcher(test);
    const oids = new Map<number, string>();
    for (const v of VALUES) oids.set(await thing(b, { name: v, n: v.length % 2 ? 'odd' : 'even' }), v);
    await thing(b, { n: 'odd' }); // no name row
    const term = (value: string, more: Partial<FindTerm> = {}): FindTerm => ({ ns: '', name: 'name', op: '~', value, array: false, orMissing: false, ...more });
    const expected = (p: string, keep: (v: string) => boolean = () => true) => [...oids].filter(([, v]) => keep(v) && test(p, v)).map(([oid]) => oid);
    for (const p of PATTERNS) {
      const spec: FindSpec = { className: 'Thing', driver: -1, terms: [term(p)] };
      const want = expected(p);
      t.same(await b.objects.find(spec).all(), want, `${JSON.stringify(p)}: all`);
      t.same(await b.objects.find(spec).range(0, Number.MAX_SAFE_INTEGER, 3), want.slice(0, 3), `${JSON.stringify(p)}: a range`);
      const sorted = await b.objects.find({ ...spec, sortBy: { ns: '', name: 'n' } }).withSortValues();
      t.same(sorted.map((r) => r.oid), want, `${JSON.stringify(p)}: sorted`);
      const odd: FindSpec = { className: 'Thing', driver: -1, terms: [term(p), { ns: '', name: 'n', op: '=', value: 'odd', array: false, orMissing: false }] };
      t.same(await b.objects.find(odd).all(), expected(p, (v) => v.length % 2 === 1), `${JSON.stringify(p)}: with an = term`);
    }
    const missing = await b.objects.find({ className: 'Thing', driver: -1, terms: [term('^ab', { orMissing: true })] }).all();
    t.equal(missing.length, expected('^ab').length + 1, 'a missing row counts: the prefix may not drive');
    const second = await b.objects.find({ className: 'Thing', driver: -1, terms: [term('^a'), term('^abc')] }).all();
    t.same(second, expected('^abc'), 'two prefixes: both hold');
  });

  t.test('snapshots: one state while another node commits; refused once ended', async (t) => {
    const w = await world(t);
    const a = w.backend;
    const b = await w.another();
    t.teardown(() => b.close());
    await thing(a, { name: 'one' });
    let write: Promise<number> | undefined;
    let kept: Parameters<Parameters<AsyncStoreBackend['snapshot']>[0]>[0] | undefined;
    const counts = await a.snapshot(async (s) => {
      kept = s;
      const before = await s.objects.count();
      write = thing(b, { name: 'two' });
      // SQLite queues the write behind the snapshot; PostgreSQL commits it meanwhile.
      if (a.concurrentTransactions) await write;
      return [before, await s.objects.count()];
    });
    await write;
    t.same(counts, [1, 1], 'the snapshot saw one state');
    t.equal(await a.objects.count(), 2, 'the write is there after');
    await t.rejects(kept!.objects.count(), /ended/);
  });

  t.test('export and import: a store with references moved into an empty one, oids kept, read back identically', async (t) => {
    const w = await world(t);
    const ids = await seedStore(w.backend);
    const exported = await exportStore(w.backend);
    t.equal(exported.objects.length, 3, 'the destroyed one is not there');
    t.same(exported.objects.find((o) => o.oid === ids.device)?.props.find((p) => p.name === 'owner')?.value, String(ids.bob));
    const target = await w.fresh();
    t.teardown(() => target.close());
    await thing(target, { name: 'taken' }).then((oid) => target.transaction((tx) => tx.objects.deleteObject(oid)));
    await importStore(target, exported);
    t.same(await exportStore(target), exported, 'the same objects, properties, oids, events and credentials');
    t.equal(await target.objects.classOf(ids.bob), 'User', 'a reference names the same object');
    const next = await target.transaction((tx) => tx.objects.insertObject('Thing', 1));
    t.ok(next > Math.max(...exported.objects.map((o) => o.oid)), 'no kept oid is handed out again');
  });
}
