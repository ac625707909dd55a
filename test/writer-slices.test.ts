/**
 * Long batches in slices (src/store/writer.ts, sqlite/reader.ts) and WAL
 * checkpoints on their own thread (sqlite/checkpoints.ts), on the store
 * itself: what code running while a batch is open (between two slices, or
 * between two statements of one job) reads, writes and caches.
 */
import t from 'tap';
import { openDb } from '../src/store/sqlite/db.js';
import { sqliteBackend, type SqliteBackend } from '../src/store/sqlite/backend.js';
import { Store, SYSTEM } from '../src/store/store.js';
import { SLICE_MS, Writer, type WriteTx } from '../src/store/writer.js';
import { fileStore, testSchema as schema } from './helpers/writer-store.js';
const ITEMS = 3000;

/** Runs `fn` in the next turns of the event loop until `done` resolves; returns what it returned each time. */
async function meanwhile<T>(done: Promise<unknown>, fn: () => Promise<T>): Promise<T[]> {
  const seen: T[] = [];
  let over = false;
  void done.finally(() => (over = true)).catch(() => {});
  while (!over) {
    await new Promise((r) => setImmediate(r));
    if (!over) seen.push(await fn());
  }
  return seen;
}

/** Turns of the event loop until the writer's transaction is open (bounded: a checkpoint may run first). */
async function untilOpen(store: Store): Promise<boolean> {
  const until = Date.now() + 20_000;
  while (Date.now() < until && !store.inTransaction()) await new Promise((r) => setImmediate(r));
  return store.inTransaction();
}

const labelled = async (store: Store, label: string) => (await store.find(SYSTEM, 'TxItem', { criteria: [{ ns: '', name: 'label', op: '=', value: label }] })).length;

/** ITEMS TxItem objects labelled `label`, in one transaction; their oids. */
function createItems(store: Store, writer: Writer, label?: string): Promise<number[]> {
  return writer.submit(async (w) => {
    const out: number[] = [];
    for (let i = 0; i < ITEMS; i++) out.push(await store.at(w).create(SYSTEM, 'TxItem', { seq: String(i), ...(label ? { label } : {}) }));
    return out;
  });
}

/** A long job: every object labelled `label`, with a pause point between two (a COMMIT's queued commands). */
const relabel = (store: Store, oids: readonly number[], label: string) => async (w: WriteTx) => {
  for (const oid of oids) {
    await store.at(w).set(SYSTEM, oid, '', { label });
    await w.yieldPoint();
  }
};

t.test('a long job pauses; reads meanwhile see the state before it, and nothing is cached from them', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await createItems(store, writer, 'old');
  const first = oids[0]!;
  t.equal((await store.get(SYSTEM, first)).values.label, 'old', 'read (and remembered) before the COMMIT');

  const commit = writer.submit(async (w) => {
    await relabel(store, oids, 'new')(w);
    return 'done';
  });
  const seen = await meanwhile(commit, async () => ({ label: (await store.get(SYSTEM, first)).values.label, news: await labelled(store, 'new'), inTx: store.inTransaction() }));
  t.equal(await commit, 'done');
  t.ok(seen.length > 0, `served ${seen.length} turns of the event loop while it ran (slices of ${SLICE_MS} ms)`);
  t.ok(writer.slicedBatches >= 1, 'the batch paused');
  t.ok(seen.every((s) => s.label === 'old' && s.news === 0), 'every read until it resolved saw the whole old state');
  t.ok(seen.filter((s) => s.inTx).length >= writer.slicedBatches, 'reads ran while the transaction was open (no cache is filled then)');
  t.equal((await store.get(SYSTEM, first)).values.label, 'new', 'after the commit, the new value (nothing stale kept)');
  t.equal(await labelled(store, 'new'), ITEMS, 'the whole of it');
});

for (const where of ['file', 'memory'] as const) {
  t.test(`${where} database: a read outside the handle, between two statements of a job, never sees its uncommitted writes`, async (t) => {
    const { store, writer } = where === 'file' ? fileStore(t) : memoryStore();
    const oid = await writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', { label: 'committed' }));
    // What each outside read answered, and whether the batch had committed when it answered.
    const outside: { seen: string; afterCommit: boolean }[] = [];
    let readsDone!: Promise<unknown>;
    const job = writer.submit(async (w) => {
      await store.at(w).set(SYSTEM, oid, '', { label: 'uncommitted' });
      const commits = writer.commits;
      const told = (seen: string) => outside.push({ seen, afterCommit: writer.commits > commits });
      // Another request reads now: its promise chain runs between this job's statements.
      readsDone = Promise.all([
        store.get(SYSTEM, oid).then((v) => told(v.values.label)),
        labelled(store, 'uncommitted').then((n) => told(n === 0 ? 'committed' : 'uncommitted')),
        store.rawValue(oid, '', 'label').then((v) => told(v ?? '')),
      ]);
      for (let i = 0; i < 10; i++) await store.at(w).rawValue(oid, '', 'label');
      t.equal(await store.at(w).rawValue(oid, '', 'label'), 'uncommitted', 'the job reads its own write through its handle');
      return 'done';
    });
    t.equal(await job, 'done');
    await readsDone;
    t.equal(outside.length, 3);
    t.ok(outside.every((o) => o.seen === 'committed' || o.afterCommit), `no outside read saw the write before its commit: ${JSON.stringify(outside)}`);
    // A file database answers from its reader at once; a memory one holds the read until the commit.
    if (where === 'file') t.ok(outside.every((o) => o.seen === 'committed' && !o.afterCommit), 'file: answered at once, from the reader');
    else t.ok(outside.every((o) => o.seen === 'uncommitted' && o.afterCommit), 'memory: answered once the batch committed');
    t.equal((await store.get(SYSTEM, oid)).values.label, 'uncommitted', 'after the commit, the new value');
  });
}

function memoryStore() {
  const db = openDb(':memory:');
  return { store: new Store(sqliteBackend(db), schema), writer: new Writer(sqliteBackend(db)) };
}

t.test('a search with a pattern while a batch is open runs on a search thread, over what is committed', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await createItems(store, writer, 'old');
  // Unanchored: a literal prefix would read only its range of the index, few enough candidates to run inline.
  const search = () => store.findPage(SYSTEM, 'TxItem', { criteria: [{ ns: '', name: 'label', op: '~', value: 'ne' }] }, { limit: 10 * ITEMS, maxScan: 10 * ITEMS });
  const commit = writer.submit(relabel(store, oids, 'new'));
  t.ok(await untilOpen(store), 'the batch is open');
  // A thread answers in a later turn of the event loop; a search on the loop would answer before any turn.
  const found = search();
  const turns = await meanwhile(found, async () => true);
  t.ok(turns.length > 0, `the event loop turned ${turns.length} times while the search ran`);
  const n = (await found).oids.length;
  t.ok(n === 0 || n === ITEMS, `none or all of the batch's writes is found (the thread reads what is committed when it runs), never part: ${n}`);
  await commit;
  t.equal((await search()).oids.length, ITEMS, 'after the commit, all of them');
});

t.test('a long job that throws leaves nothing, and the batch around it commits', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await createItems(store, writer, 'old');
  const before = writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', { label: 'beside' }));
  const doomed = writer.submit(async (w) => {
    await relabel(store, oids, 'doomed')(w);
    throw new Error('the last write failed');
  });
  const after = writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', { label: 'beside' }));
  const seen = await meanwhile(doomed, () => labelled(store, 'doomed'));
  await t.rejects(doomed, /the last write failed/);
  t.ok(seen.length > 0 && seen.every((n) => n === 0), 'readers never saw a write of it');
  t.equal(await labelled(store, 'doomed'), 0, 'all of it rolled back');
  t.ok((await before) > 0 && (await after) > 0, 'the writes beside it in the batch committed');
  t.equal(await labelled(store, 'beside'), 2);
});

t.test('writes submitted while a batch pauses run after it, in order', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await createItems(store, writer);
  const order: string[] = [];
  const commit = writer.submit(relabel(store, oids, 'commit')).then(() => order.push('commit'));
  t.ok(await untilOpen(store), 'open');
  const later = [1, 2, 3].map((n) => writer.submit((w) => store.at(w).set(SYSTEM, oids[0]!, '', { label: `later ${n}` })).then(() => order.push(`later ${n}`)));
  await Promise.all([commit, ...later]);
  t.strictSame(order, ['commit', 'later 1', 'later 2', 'later 3']);
  t.equal((await store.get(SYSTEM, oids[0]!)).values.label, 'later 3', 'the last one submitted landed last');
});

t.test('nothing writes outside the writer while its transaction is open', async (t) => {
  const { store, writer, backend } = fileStore(t);
  const oids = await createItems(store, writer);
  let handle: WriteTx | undefined;
  let paused!: () => void;
  const isPaused = new Promise<void>((resolve) => (paused = resolve));
  const commit = writer.submit(async (w) => {
    handle = w;
    for (const oid of oids) {
      await store.at(w).set(SYSTEM, oid, '', { label: 'x' });
      if (writer.paused === false && oid === oids[0]) setImmediate(paused);
      await w.yieldPoint();
    }
  });
  await isPaused;
  t.ok(store.inTransaction(), 'open');
  t.notOk('set' in store, 'the shared Store has no write at all');
  t.throws(() => backend.objects.putSetting('sneaked', '1'), /readonly/, 'a write through the port outside the handle meets the read-only connection');
  if (writer.paused) {
    t.throws(() => handle!.afterCommit(() => {}), /paused/, 'while paused, the handle refuses effects');
    await t.rejects(handle!.savepoint(async () => 1), /paused/, 'and savepoints');
  }
  await commit;
  t.throws(() => handle!.afterCommit(() => {}), /the transaction has ended/, 'once the batch is over, the handle refuses');
  t.equal((await store.get(SYSTEM, oids[0]!)).values.label, 'x');
});

t.test('a memory database has no reader: a long job runs in one go', async (t) => {
  const { store, writer } = memoryStore();
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  const n = await writer.submit(async (w) => {
    for (let i = 0; i < ITEMS; i++) {
      await store.at(w).create(SYSTEM, 'TxItem', {});
      await w.yieldPoint();
    }
    return ITEMS;
  });
  clearInterval(tick);
  t.equal(n, ITEMS);
  t.equal(writer.slicedBatches, 0, 'never paused');
});

t.test('checkpoints run on their own thread, never in COMMIT', async (t) => {
  const { backend, store, writer } = fileStore(t);
  const db = (backend as SqliteBackend).db;
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, "SQLite's own checkpoint in COMMIT is off");
  await writer.submit(async (w) => {
    for (let i = 0; i < ITEMS; i++) await store.at(w).create(SYSTEM, 'TxItem', { label: 'checkpointed' });
  });
  const checkpoints = (backend as SqliteBackend).checkpoints!;
  // Bounded: on a busy machine the thread may take seconds to load (under the test runner, it compiles TypeScript).
  for (let i = 0; i < 600 && checkpoints.runs === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(checkpoints.runs >= 1, 'the commit started a checkpoint on the thread');
  t.ok(checkpoints.lastCopied > 0, `it copied ${checkpoints.lastCopied} WAL frames`);
  // The next write runs after it and starts the WAL over: a checkpoint then has (almost) nothing left to copy.
  await writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', {}));
  const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  t.ok(log < 50, `the WAL was restarted (${log} frames in it)`);
});

t.test("if the checkpoint thread dies, SQLite's own checkpoints come back", async (t) => {
  const { backend, store, writer } = fileStore(t);
  const db = (backend as SqliteBackend).db;
  const errors: unknown[] = [];
  const failing = new Writer(backend, (err) => errors.push(err));
  await failing.submit((w) => store.at(w).create(SYSTEM, 'TxItem', {}));
  const thread = (backend as unknown as { checkpoints: { worker: { terminate(): Promise<number> } } }).checkpoints.worker;
  await thread.terminate();
  for (let i = 0; i < 100 && db.pragma('wal_autocheckpoint', { simple: true }) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'autocheckpoint is on again');
  t.match(String(errors[0]), /checkpoint thread exited/, 'and the failure was reported');
  t.ok((await writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', {}))) > 0, 'writes go on');
});

t.test('a savepoint holding hundreds of thousands of effects and staged steps hands them all to the commit', async (t) => {
  // An import is one job: its savepoint holds a few effects per object written.
  const { writer } = fileStore(t);
  const many = 300_000;
  let effects = 0;
  let steps = 0;
  await writer.submit(async (w) => {
    await w.savepoint(async () => {
      for (let i = 0; i < many; i++) {
        w.afterCommit(() => effects++);
        w.stage(() => {
          steps++;
        });
      }
    });
  });
  t.equal(steps, many, 'every staged step ran before the commit');
  t.equal(effects, many, 'every effect ran after it');
});
